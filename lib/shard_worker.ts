/**
 * Web Worker entry of a load shard: wires `postMessage` to {@link startShard}.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { startShard } from "./shard.ts";
import type { Shard, ToShard } from "./shard.ts";

let shard: Shard | undefined;

self.onmessage = (event: MessageEvent<ToShard>) => {
  const message = event.data;
  if (message.type === "start") {
    shard = startShard(message.init, (out) => self.postMessage(out));
  } else if (message.type === "reset") shard?.reset(message.epoch);
  else if (message.type === "stop") shard?.stop(message.graceMs);
  else if (message.type === "load") shard?.setLoad(message.load);
};

self.postMessage({ type: "ready" });
