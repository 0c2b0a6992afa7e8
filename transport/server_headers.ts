/**
 * The response headers that tie a request to the server's own records: its request id
 * (`x-request-id`) and Fireworks' server-side timings (`fireworks-server-processing-time`,
 * `fireworks-server-time-to-first-token` and the rest of `fireworks-server-*`). Every
 * transport passes its headers through here, so they all report the same facts.
 *
 * @module
 */
import type { ResponseHead } from "./types.ts";

const TIMING_PREFIX = "fireworks-server-";

/** The server facts among `headers` (names in any case; a repeated value is joined by ", "). */
export function serverFacts(
  headers: Iterable<readonly [string, string | readonly string[] | undefined]>,
): Pick<ResponseHead, "requestId" | "serverTiming"> {
  let requestId: string | undefined;
  let serverTiming: Record<string, string> | undefined;
  for (const [rawName, rawValue] of headers) {
    if (rawValue === undefined) continue;
    const name = rawName.toLowerCase();
    const value = typeof rawValue === "string" ? rawValue : rawValue.join(", ");
    if (name === "x-request-id") requestId = value;
    else if (name.startsWith(TIMING_PREFIX)) (serverTiming ??= {})[name] = value;
  }
  return {
    ...(requestId === undefined ? {} : { requestId }),
    ...(serverTiming === undefined ? {} : { serverTiming }),
  };
}
