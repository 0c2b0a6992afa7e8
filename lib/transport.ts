/**
 * The factory that picks a transport: `node:http` by default (far cheaper per received chunk in
 * Deno 2.9), `fetch` on request.
 *
 * @module
 */
import type { Transport, TransportKind } from "../transport/types.ts";
import { createNodeTransport } from "./transport_node.ts";
import { createFetchTransport } from "./transport_fetch.ts";

/** Creates the transport named by `--transport`. */
export function createTransport(kind: TransportKind): Transport {
  return kind === "fetch" ? createFetchTransport() : createNodeTransport();
}
