/**
 * Credentials and how they are kept out of every output: which headers carry them, what the
 * secret strings of a request are, and masking them in text quoted from a server.
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
    const token = /^\s*[A-Za-z-]+\s+(\S.*?)\s*$/.exec(value)?.[1];
    if (token) found.add(token);
  }
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * `text` with every secret replaced by `***`. Unless `cut` is false, a start of a secret (four
 * characters or more) at the very end is removed too: text quoted from a server is cut at a
 * limit, and the cut may fall inside an echoed key.
 *
 * @example
 * ```ts
 * maskSecrets("Incorrect API key provided: sk-1234", ["sk-1234"]); // "...provided: ***"
 * maskSecrets("got {\"key\":\"sk-12", ["sk-1234"]); // 'got {"key":"'
 * ```
 */
export function maskSecrets(
  text: string,
  secrets: readonly string[],
  options: { readonly cut?: boolean } = {},
): string {
  let clean = text;
  for (const secret of secrets) {
    if (clean.includes(secret)) clean = clean.replaceAll(secret, "***");
  }
  if (options.cut === false) return clean;
  for (const secret of secrets) {
    for (let length = Math.min(secret.length - 1, clean.length); length >= 4; length--) {
      if (clean.endsWith(secret.slice(0, length))) {
        clean = clean.slice(0, -length);
        break;
      }
    }
  }
  return clean;
}
