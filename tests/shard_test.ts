/**
 * `startShard` in-process against the project's mock: the deltas a shard posts add up to what
 * the mock served, shards split `--max-requests` exactly, a reset starts a new epoch after
 * posting the old one, and a stop lets in-flight requests finish within the grace or cuts them
 * off (counted as cancelled, not as failures). How users are split among shards is
 * `shards_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type FromShard, type Shard, startShard } from "../load/shard.ts";
import { absoluteNow } from "../load/clock.ts";
import type { MockServer } from "../mock/server.ts";
import type { SampleDelta } from "../stats/types.ts";
import { runConfig } from "./_fixtures.ts";
import { withMock } from "./_harness.ts";

type Delta = Extract<FromShard, { type: "delta" }>;

/** A shard of `shardCount` running `args` against `mock`, with every message it posts. */
function shardOn(
  mock: MockServer,
  args: string[],
  options: { shardIndex?: number; shardCount?: number } = {},
): { shard: Shard; messages: FromShard[] } {
  const config = runConfig(["-H", mock.url, "-m", "mock-model", "--warmup", "0", ...args]);
  const messages: FromShard[] = [];
  const shard = startShard({
    config: { ...config, model: "mock-model", provider: "openai" },
    prompt: "hello there",
    shardIndex: options.shardIndex ?? 0,
    shardCount: options.shardCount ?? 1,
    startAt: absoluteNow(),
    seed: 7,
  }, (message) => messages.push(message));
  return { shard, messages };
}

function deltasOf(messages: readonly FromShard[]): Delta[] {
  return messages.filter((message): message is Delta => message.type === "delta");
}

/** Requests the mock received, model listings left out. */
function servedBy(mock: MockServer) {
  return mock.records().filter((record) => !record.path.endsWith("/models"));
}

function sum(deltas: readonly Delta[], pick: (delta: SampleDelta) => number): number {
  return deltas.reduce((total, entry) => total + pick(entry.delta), 0);
}

/** Polls `condition` every 20 ms for at most 20 s; the test fails if it never holds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 20) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`Timed out waiting for ${what}`);
}

Deno.test("a shard's deltas add up to what the mock served, and it ends with a delta then done", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const { shard, messages } = shardOn(mock, ["-u", "2", "-o", "8", "--max-requests", "10"]);
    await until(() => servedBy(mock).filter((record) => record.doneAt).length === 10, "10");
    shard.stop(5_000);
    await shard.finished;
    const deltas = deltasOf(messages);
    const served = servedBy(mock);
    assert.equal(served.length, 10, "--max-requests bounds what is sent");
    assert.equal(sum(deltas, (delta) => delta.ok), 10);
    assert.equal(
      sum(deltas, (delta) => delta.tokens.output),
      served.reduce((total, record) => total + record.tokensSent, 0),
      "output tokens are the mock's",
    );
    assert.equal(sum(deltas, (delta) => delta.metrics.ttft?.length ?? 0), 10);
    assert.equal(sum(deltas, (delta) => Object.keys(delta.failures).length), 0);
    assert.ok(deltas.every((entry) => entry.shardIndex === 0 && entry.epoch === 0));
    assert.deepEqual(messages.slice(-2).map((message) => message.type), ["delta", "done"]);
    assert.equal(deltas.at(-1)?.status.inFlight, 0);
  });
});

Deno.test("shards split --max-requests exactly: together they send that many", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const shards = [0, 1].map((shardIndex) =>
      shardOn(mock, ["-u", "3", "-o", "4", "--max-requests", "7"], { shardIndex, shardCount: 2 })
    );
    await until(() => servedBy(mock).filter((record) => record.doneAt).length === 7, "7");
    shards.forEach(({ shard }) => shard.stop(5_000));
    await Promise.all(shards.map(({ shard }) => shard.finished));
    const ok = shards.map(({ messages }) => sum(deltasOf(messages), (delta) => delta.ok));
    assert.deepEqual(ok, [4, 3], "shard 0 takes the odd one");
    assert.equal(servedBy(mock).length, 7);
    shards.forEach(({ messages }, shardIndex) =>
      assert.ok(deltasOf(messages).every((entry) => entry.shardIndex === shardIndex))
    );
  });
});

Deno.test("a reset posts the old epoch's delta first; every request lands in exactly one epoch", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const { shard, messages } = shardOn(mock, ["-u", "1", "-o", "4", "--max-requests", "12"]);
    await until(() => sum(deltasOf(messages), (delta) => delta.ok) >= 1, "a first delta");
    const before = messages.length;
    shard.reset(1);
    const posted = messages.slice(before);
    assert.equal(posted.length, 1, "the reset posts one delta at once");
    assert.equal((posted[0] as Delta).epoch, 0, "that delta closes the old epoch");
    await until(() => servedBy(mock).filter((record) => record.doneAt).length === 12, "12");
    shard.stop(5_000);
    await shard.finished;
    const deltas = deltasOf(messages);
    const resetAt = deltas.indexOf(posted[0] as Delta);
    assert.ok(deltas.slice(0, resetAt + 1).every((entry) => entry.epoch === 0));
    assert.ok(deltas.slice(resetAt + 1).every((entry) => entry.epoch === 1));
    const first = sum(deltas.slice(0, resetAt + 1), (delta) => delta.ok);
    const second = sum(deltas.slice(resetAt + 1), (delta) => delta.ok);
    assert.ok(first >= 1, `epoch 0 counted ${first}`);
    assert.equal(first + second, 12);
  });
});

Deno.test("a stop lets in-flight requests finish within the grace period", async () => {
  await withMock({ ttftMs: 300, itlMs: 1 }, async (mock) => {
    const { shard, messages } = shardOn(mock, ["-u", "2", "-o", "2"]);
    await until(() => servedBy(mock).length === 2, "two requests in flight");
    shard.stop(10_000);
    await shard.finished;
    const deltas = deltasOf(messages);
    assert.equal(sum(deltas, (delta) => delta.ok), 2, "both in-flight requests were measured");
    assert.equal(servedBy(mock).length, 2, "nothing was sent after the stop");
    assert.equal(deltas.at(-1)?.status.cancelled, 0);
  });
});

Deno.test("a stop after the grace cuts in-flight requests off: cancelled, not failed", async () => {
  await withMock({ ttftMs: 60_000, itlMs: 1 }, async (mock) => {
    const { shard, messages } = shardOn(mock, ["-u", "2", "-o", "2", "--timeout", "120s"]);
    await until(() => servedBy(mock).length === 2, "two requests in flight");
    shard.stop(0);
    await shard.finished;
    const deltas = deltasOf(messages);
    const last = deltas.at(-1)!;
    assert.equal(sum(deltas, (delta) => delta.ok), 0);
    assert.equal(sum(deltas, (delta) => Object.keys(delta.failures).length), 0, "no failures");
    assert.equal(last.status.cancelled, 2);
    assert.equal(last.status.inFlight, 0);
    assert.ok(last.status.cutOffWaitMs !== undefined && last.status.cutOffWaitMs.min >= 0);
    assert.equal(messages.at(-1)?.type, "done");
  });
});
