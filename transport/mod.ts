/**
 * The factory that picks a transport: the purpose-built HTTP/1.1 client (`http1`, the default and
 * the cheapest per received event), `node:http`, or `fetch`; {@link fetchFallbackReason} says
 * when http1 cannot serve a target.
 *
 * @module
 */
import type { TlsOptions, Transport, TransportKind } from "./types.ts";
import { createNodeTransport } from "./node.ts";
import { createFetchTransport } from "./fetch.ts";
import { createHttp1Transport } from "./http1.ts";

export { fetchFallbackReason } from "./proxy.ts";
export { createTlsFetch, type Fetch, type TlsFetch } from "./tls_fetch.ts";

/**
 * Creates the transport named by `--transport` with the run's TLS settings. Only `node` can skip
 * certificate verification; asking another for it is a programming error.
 */
export function createTransport(kind: TransportKind, tls: TlsOptions = {}): Transport {
  if (tls.insecure && kind !== "node") {
    throw new RangeError(`The ${kind} transport cannot skip certificate verification`);
  }
  if (kind === "http1") return createHttp1Transport({ caCerts: tls.caCerts });
  if (kind === "fetch") return createFetchTransport(tls.caCerts);
  return createNodeTransport(tls);
}
