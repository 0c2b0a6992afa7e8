/**
 * The factory that picks a transport: `node:http` by default (far cheaper per received chunk in
 * Deno 2.9 than `fetch`), `fetch` on request, or the purpose-built HTTP/1.1 client (`http1`),
 * cheaper still; {@link fetchFallbackReason} says when that one cannot serve a target.
 *
 * @module
 */
import type { Transport, TransportKind } from "./types.ts";
import { createNodeTransport } from "./node.ts";
import { createFetchTransport } from "./fetch.ts";
import { createHttp1Transport, type Http1Options } from "./http1.ts";

export { fetchFallbackReason } from "./proxy.ts";
export type { Http1Options } from "./http1.ts";

/** Creates the transport named by `--transport`; `options` are the http1 client's TLS settings. */
export function createTransport(kind: TransportKind, options: Http1Options = {}): Transport {
  if (kind === "http1") return createHttp1Transport(options);
  return kind === "fetch" ? createFetchTransport() : createNodeTransport();
}
