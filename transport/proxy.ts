/**
 * When the HTTP/1.1 client cannot serve a target: it talks straight to the origin, so a proxy the
 * environment names for that URL (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, upper or lower case,
 * minus `NO_PROXY`) needs the `fetch` transport, which goes through it.
 *
 * @module
 */

/** Environment variables by name, as `Deno.env.toObject()` gives them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * A one-line reason why the http1 client cannot serve `url` under `env` (a proxy applies to it),
 * or `undefined` when it can. The reason names the variable, never its value (a proxy URL may
 * hold a password).
 *
 * @example
 * ```ts
 * fetchFallbackReason({ HTTPS_PROXY: "http://proxy:3128" }, "https://api.example.com/v1");
 * // "HTTPS_PROXY applies to api.example.com, and the http1 client does not go through proxies"
 * fetchFallbackReason({ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: ".example.com" }, "https://api.example.com");
 * // undefined
 * ```
 */
export function fetchFallbackReason(env: Environment, url: string): string | undefined {
  const target = new URL(url);
  const scheme = target.protocol === "https:" ? "https" : "http";
  const variable = [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, "all_proxy", "ALL_PROXY"]
    .find((name) => (env[name] ?? "") !== "");
  if (variable === undefined) return undefined;
  if (bypassed(env.no_proxy ?? env.NO_PROXY ?? "", target)) return undefined;
  return `${variable} applies to ${target.hostname}, and the http1 client does not go through proxies`;
}

/** Whether a `NO_PROXY` list (`*`, host names and domain suffixes, IPs, optional `:port`) covers `url`. */
function bypassed(list: string, url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return list.split(/[\s,]+/).filter((entry) => entry !== "").some((entry) => {
    if (entry === "*") return true;
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry.toLowerCase());
    if (match === null) return false;
    if (match[2] !== undefined && match[2] !== port) return false;
    const name = match[1].replace(/^\[(.*)\]$/, "$1").replace(/^\*?\./, "");
    return host === name || host.endsWith(`.${name}`);
  });
}
