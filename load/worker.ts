/**
 * Web Worker entry of a load shard: wires `postMessage` to {@link startShard}.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { maskError, secretsOf } from "../common/secrets.ts";
import { startShard } from "./shard.ts";
import type { Shard, ToShard } from "./shard.ts";
import { loadTokenizer } from "./tokenizer.ts";

let shard: Shard | undefined;
let secrets: readonly string[] = [];
let shardIndex = 0;

// An error that escapes every handler would print its stack, which can quote a request (its
// headers, the API key): report it masked instead, and let the coordinator fail the run.
function reportEscaped(event: Event, error: unknown) {
  event.preventDefault();
  self.postMessage({
    type: "error",
    shardIndex,
    message: maskError(error, secrets, { stack: true }),
  });
}
self.addEventListener("error", (event) => reportEscaped(event, event.error));
self.addEventListener("unhandledrejection", (event) => reportEscaped(event, event.reason));

self.onmessage = (event: MessageEvent<ToShard>) => {
  const message = event.data;
  // A trace's prompts are built from the tokenizer from the first send on: load it (once per
  // thread) before the run's clock starts, so that the first sends are not late by the load.
  if (message.type === "prepare") {
    loadTokenizer(message.tokenizer).finally(() => self.postMessage({ type: "prepared" }));
  } else if (message.type === "start") {
    secrets = secretsOf(message.init.config);
    shardIndex = message.init.slot ?? message.init.shardIndex;
    shard = startShard(message.init, (out) => self.postMessage(out));
  } else if (message.type === "reset") shard?.reset(message.epoch);
  else if (message.type === "stop") shard?.stop(message.graceMs);
  else if (message.type === "load") shard?.setLoad(message.load);
};

self.postMessage({ type: "ready" });
