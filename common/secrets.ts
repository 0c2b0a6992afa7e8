/**
 * Credentials and how they are kept out of every output: which headers carry them, what the
 * secret strings of a request are, masking them in text quoted from a server, and masking the
 * password of a host URL wherever the URL is shown.
 *
 * @module
 */

/** Headers whose values are credentials, lower-cased. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "cookie",
]);

/**
 * The credentials in `headers`: each credential header's value and, for `Bearer X` (or another
 * scheme), the token `X` alone; longest first, so a value is masked whole before its token.
 *
 * @example
 * ```ts
 * credentialsIn({ authorization: "Bearer sk-1234" }); // ["Bearer sk-1234", "sk-1234"]
 * ```
 */
export function credentialsIn(headers: Readonly<Record<string, string>>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase()) || value.trim() === "") continue;
    found.add(value);
    const [, scheme, token] = /^\s*([A-Za-z-]+)\s+(\S.*?)\s*$/.exec(value) ?? [];
    if (!token) continue;
    found.add(token);
    // A server may quote Basic credentials decoded: the password is the secret in `user:password`.
    const pair = scheme.toLowerCase() === "basic" ? decodeBase64(token) : undefined;
    const password = pair?.includes(":") ? pair.slice(pair.indexOf(":") + 1) : "";
    if (password) found.add(password);
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * The credentials in a host URL's userinfo: the password, decoded, and the token of the Basic
 * `Authorization` header that fetch sends for it (base64 of `user:password`). Empty for a URL
 * without a password or no URL at all.
 *
 * @example
 * ```ts
 * urlCredentials("http://bob:pw@host:8000"); // ["pw", "Ym9iOnB3"]
 * ```
 */
export function urlCredentials(host: string): string[] {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    return [];
  }
  if (!url.password) return [];
  const password = safeDecode(url.password);
  return [password, encodeBase64(`${safeDecode(url.username)}:${password}`)];
}

/**
 * `text` with the password of every URL in it (`scheme://user:password@`) replaced by `***`,
 * the rest kept as typed. For every place a host URL is printed or written.
 *
 * @example
 * ```ts
 * maskUrl("http://bob:hunter2@127.0.0.1:8000/v1/models"); // "http://bob:***@127.0.0.1:8000/v1/models"
 * ```
 */
export function maskUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#]+@/gi, "$1***@");
}

/**
 * `text` with every secret replaced by `***`, in each form a server may echo it: as given, in
 * any letter case, URL-encoded (`encodeURIComponent`), and in base64 and base64url (padded or
 * not). Unless `cut` is false, a start of a secret (four characters or more, any case) at the
 * very end is removed too: text quoted from a server is cut at a limit, and the cut may fall
 * inside an echoed key. Runs on messages, not on streamed chunks.
 *
 * @example
 * ```ts
 * maskSecrets("Incorrect API key provided: SK-1234", ["sk-1234"]); // "...provided: ***"
 * maskSecrets("got {\"key\":\"sk-12", ["sk-1234"]); // 'got {"key":"'
 * ```
 */
export function maskSecrets(
  text: string,
  secrets: readonly string[],
  options: { readonly cut?: boolean } = {},
): string {
  const pattern = patternOf(secrets);
  let clean = pattern === undefined ? text : text.replace(pattern, "***");
  if (options.cut === false) return clean;
  const lower = clean.toLowerCase();
  for (const secret of secrets) {
    const secretLower = secret.toLowerCase();
    for (let length = Math.min(secret.length - 1, clean.length); length >= 4; length--) {
      if (lower.endsWith(secretLower.slice(0, length))) {
        clean = clean.slice(0, -length);
        break;
      }
    }
  }
  return clean;
}

// Callers keep one secrets array per run or request context, so each pattern is built once.
const patterns = new WeakMap<readonly string[], RegExp | undefined>();

/** One case-insensitive pattern for every form of every secret, longest first. */
function patternOf(secrets: readonly string[]): RegExp | undefined {
  if (patterns.has(secrets)) return patterns.get(secrets);
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    const padded = encodeBase64(secret);
    const base64Forms = [padded, padded.replace(/=+$/, ""), toBase64url(padded)];
    for (const form of [secret, encodeURIComponent(secret), ...base64Forms]) {
      forms.add(form);
    }
    // A secret that is base64 itself (a Basic token) may be echoed in its base64url form.
    forms.add(toBase64url(secret));
  }
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  const pattern = sorted.length === 0
    ? undefined
    : new RegExp(sorted.map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "gi");
  patterns.set(secrets, pattern);
  return pattern;
}

function encodeBase64(text: string): string {
  return btoa(
    Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join(""),
  );
}

function toBase64url(base64: string): string {
  return base64.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
}

function decodeBase64(text: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
