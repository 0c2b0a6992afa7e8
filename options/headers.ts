/**
 * The headers every request to the target carries, built in one place: the JSON content type,
 * the `--header` values and, for `--api-key`, the `Authorization: Bearer` header (the key goes
 * nowhere else).
 *
 * @module
 */
import type { RunConfig } from "./types.ts";

/**
 * Headers sent with every request (load, probe, discovery, tokenize calls).
 *
 * @example
 * ```ts
 * requestHeaders(config).authorization; // "Bearer sk-…" when --api-key is set
 * ```
 */
export function requestHeaders(
  config: Pick<RunConfig, "headers" | "apiKey">,
): Record<string, string> {
  return {
    "content-type": "application/json",
    ...config.headers,
    ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
  };
}
