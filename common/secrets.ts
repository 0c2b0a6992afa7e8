/**
 * Credentials and how they are kept out of every output, in one place: which headers carry
 * them, what the secrets of a run are ({@link secretsOf}), masking them in text quoted from a
 * server or in an error, scrubbing them from a value tree, the config as written out without
 * them ({@link redactConfig}), and masking the password of a host URL wherever it is shown.
 *
 * @module
 */

/**
 * What a run's secrets come from: the structural part of a run config (or of a request
 * context, whose headers already hold the `Authorization` the key becomes).
 */
export interface SecretSource {
  /** Target base URL; a password in it is a secret. */
  readonly host: string;
  /** Headers sent with every request. */
  readonly headers: Readonly<Record<string, string>>;
  /** The API key (`-k`). */
  readonly apiKey?: string;
  /** The bearer token of the control routes (`--serve-token`). */
  readonly serveToken?: string;
  /** The PostgreSQL URL results are pushed to (`--pg`); a password in it is a secret. */
  readonly pg?: string;
}

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
 * Whether the header `name: value` is a secret as a whole: a credential header, or any header
 * whose value holds the API key. {@link redactConfig} drops these, {@link secretsOf} masks them.
 */
function isSecretHeader(name: string, value: string, apiKey: string | undefined): boolean {
  return CREDENTIAL_HEADERS.has(name.toLowerCase()) || (!!apiKey && value.includes(apiKey));
}

// Callers hold one config or request context per run or shard, so each list is built once (and
// so one array, which `patternOf` caches its pattern by).
const secretsCache = new WeakMap<SecretSource, readonly string[]>();

/**
 * The secrets of a run, longest first: the API key, the serve token, the credentials in the
 * headers ({@link credentialsIn}), the whole value of any header that holds the key, and the
 * password in the host URL with its Basic token ({@link urlCredentials}); each also in its
 * JSON-escaped form when that differs, since a client's error may quote a header value escaped.
 * The one definition of what no output may show.
 *
 * @example
 * ```ts
 * secretsOf({ host: "http://127.0.0.1:8000", headers: {}, apiKey: "sk-1234", serveToken: "t0ken" });
 * // ["sk-1234", "t0ken"]
 * ```
 */
export function secretsOf(source: SecretSource): readonly string[] {
  const cached = secretsCache.get(source);
  if (cached !== undefined) return cached;
  const found = new Set([
    ...credentialsIn(source.headers),
    ...urlCredentials(source.host),
    ...(source.pg ? urlCredentials(source.pg) : []),
  ]);
  for (const [name, value] of Object.entries(source.headers)) {
    if (isSecretHeader(name, value, source.apiKey)) found.add(value);
  }
  if (source.apiKey) found.add(source.apiKey);
  if (source.serveToken) found.add(source.serveToken);
  for (const secret of [...found]) found.add(JSON.stringify(secret).slice(1, -1));
  // Blank text is no secret: masking it would mask every space.
  const secrets = [...found].filter((secret) => secret.trim() !== "")
    .sort((a, b) => b.length - a.length);
  secretsCache.set(source, secrets);
  return secrets;
}

/** A config as written out: without the API key and the serve token. */
export type Redacted<C extends SecretSource> = Omit<C, "apiKey" | "serveToken">;

/**
 * A copy of `config` fit to write out: without `apiKey` and `serveToken`, without credential
 * headers and headers whose value holds the key, and with a password in the host URL and in the
 * `--pg` URL masked.
 *
 * @example
 * ```ts
 * redactConfig({ host: "http://bob:pw@h", headers: { "x-api-key": "k", accept: "text/plain" }, apiKey: "k" });
 * // { host: "http://bob:***@h", headers: { accept: "text/plain" } }
 * ```
 */
export function redactConfig<C extends SecretSource>(config: C): Redacted<C> {
  const { apiKey, serveToken: _serveToken, ...rest } = config;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers)) {
    if (!isSecretHeader(name, value, apiKey)) headers[name] = value;
  }
  const pg = config.pg === undefined ? {} : { pg: maskUrl(config.pg) };
  return { ...rest, host: maskUrl(config.host), headers, ...pg } as Redacted<C>;
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

/**
 * An error's text (with `stack`, its stack trace) with every secret masked, for a message that
 * leaves a shard or a worker. Nothing is cut: an error's text is not a server's quote.
 *
 * @example
 * ```ts
 * maskError(new Error("bad key sk-1234"), ["sk-1234"]); // "Error: bad key ***"
 * ```
 */
export function maskError(
  error: unknown,
  secrets: readonly string[],
  options: { readonly stack?: boolean } = {},
): string {
  const stack = options.stack && error instanceof Error ? error.stack : undefined;
  return maskSecrets(stack ?? String(error), secrets, { cut: false });
}

/**
 * A copy of `value` with every secret masked ({@link maskSecrets}, nothing cut) in every string
 * inside it, object keys included. The values under a key named in `keep` are left alone: the
 * results' `histograms` are base64 data, where a short key could occur by chance.
 *
 * @example
 * ```ts
 * scrubSecrets({ warnings: ["key sk-1 rejected"] }, ["sk-1"]); // { warnings: ["key *** rejected"] }
 * ```
 */
export function scrubSecrets<T>(
  value: T,
  secrets: readonly string[],
  options: { readonly keep?: readonly string[] } = {},
): T {
  if (secrets.length === 0) return value;
  const keep = new Set(options.keep);
  function walk(node: unknown): unknown {
    if (typeof node === "string") return maskSecrets(node, secrets, { cut: false });
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === "object") {
      const copy: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(node)) {
        copy[walk(name) as string] = keep.has(name) ? child : walk(child);
      }
      return copy;
    }
    return node;
  }
  return walk(value) as T;
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
