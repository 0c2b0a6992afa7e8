/**
 * The factory that picks a transport: `node:http` by default (far cheaper per received chunk in
 * Deno 2.9), `fetch` on request.
 *
 * @module
 */
import type { Transport, TransportKind } from "./types.ts";
import { createNodeTransport } from "./node.ts";
import { createFetchTransport } from "./fetch.ts";

/** Creates the transport named by `--transport`. */
export function createTransport(kind: TransportKind): Transport {
  return kind === "fetch" ? createFetchTransport() : createNodeTransport();
}
