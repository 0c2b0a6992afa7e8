import assert from "node:assert/strict";
import { createSlots } from "../mock/slots.ts";
import { resolveMockOptions } from "../mock/options.ts";
import { UsageError } from "../common/errors.ts";
import { completionRecords, withMock } from "./_harness.ts";
import type { MockServer } from "../mock/server.ts";

Deno.test("slots are taken at once while free, then handed out first come, first served", async () => {
  const slots = createSlots(2);
  assert.equal(await slots.acquire(), true);
  assert.equal(await slots.acquire(), true);
  const order: string[] = [];
  const third = slots.acquire().then((granted) => order.push(`third ${granted}`));
  const fourth = slots.acquire().then((granted) => order.push(`fourth ${granted}`));
  assert.deepEqual([slots.running(), slots.queued()], [2, 2]);
  slots.release();
  await third;
  assert.deepEqual([slots.running(), slots.queued(), order], [2, 1, ["third true"]]);
  slots.release();
  await fourth;
  assert.deepEqual(order, ["third true", "fourth true"]);
  slots.release();
  slots.release();
  assert.deepEqual([slots.running(), slots.queued()], [0, 0]);
  assert.throws(() => slots.release(), RangeError);
});

Deno.test("a newcomer never jumps the queue, and closing turns every waiter away", async () => {
  const slots = createSlots(1);
  await slots.acquire();
  const waiting = slots.acquire();
  slots.release();
  // The freed slot went to the waiter, so a new request has to wait behind it.
  let late: boolean | undefined;
  const newcomer = slots.acquire().then((granted) => late = granted);
  assert.equal(await waiting, true);
  assert.deepEqual([slots.running(), slots.queued(), late], [1, 1, undefined]);
  slots.close();
  assert.equal(await newcomer, false);
  assert.equal(await slots.acquire(), false);
  assert.throws(() => createSlots(0), RangeError);
  assert.throws(() => createSlots(1.5), RangeError);
});

Deno.test("llmload mock takes --slots, a whole number of at least 1", () => {
  assert.equal(resolveMockOptions({ slots: "4" }).slots, 4);
  assert.equal(resolveMockOptions({}).slots, undefined);
  assert.throws(
    () => resolveMockOptions({ slots: "0" }),
    (error) =>
      error instanceof UsageError &&
      error.message === "Invalid --slots '0': expected a whole number of at least 1",
  );
});

/** Posts a streamed completion of `tokens` tokens and reads it to the end. */
async function complete(mock: MockServer, tokens: number): Promise<void> {
  const response = await fetch(`${mock.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "hi", max_tokens: tokens, stream: true }),
  });
  await response.text();
}

Deno.test("the mock with --slots runs at most that many requests at once and queues the rest in order", async () => {
  // 2 slots, each request 20 + 4 x 10 = 60 ms: six at once run as three waves.
  await withMock({ ttftMs: 20, itlMs: 10, slots: 2 }, async (mock) => {
    await Promise.all(Array.from({ length: 6 }, () => complete(mock, 5)));
    const records = completionRecords(mock.records()).sort((a, b) => a.seq - b.seq);
    assert.equal(records.length, 6);
    // Never more than 2 generating: count the requests whose slot span covers each start.
    const spans = records.map((record) => ({
      from: record.receivedAt + record.queuedMs!,
      to: record.doneAt!,
    }));
    for (const span of spans) {
      const overlapping = spans.filter((other) => other.from <= span.from && span.from < other.to);
      assert.ok(overlapping.length <= 2, `${overlapping.length} generating at once`);
    }
    const waves = records.map((record) => Math.round(record.queuedMs! / 60)).sort();
    assert.deepEqual(waves, [0, 0, 1, 1, 2, 2]);
    for (const record of records) {
      // The wait comes before the first token: TTFT from the slot is still the configured 20 ms.
      const start = record.receivedAt + record.queuedMs!;
      assert.ok(record.firstTokenAt! - start >= 20, `first token ${record.firstTokenAt! - start}`);
      assert.ok(record.firstTokenAt! - start < 45, `first token ${record.firstTokenAt! - start}`);
    }
  });
});

Deno.test("the mock without --slots records no queue time", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    await complete(mock, 2);
    assert.equal(completionRecords(mock.records())[0].queuedMs, undefined);
  });
});

Deno.test("the mock's /metrics counts requests waiting for a slot as waiting, and their wait as queue time", async () => {
  // 1 slot, each request 30 + 9 x 10 = 120 ms: of three at once one runs and two wait.
  await withMock({ ttftMs: 30, itlMs: 10, slots: 1 }, async (mock) => {
    const all = Promise.all(Array.from({ length: 3 }, () => complete(mock, 10)));
    await new Promise((wake) => setTimeout(wake, 60));
    const during = await (await fetch(`${mock.url}/metrics`)).text();
    assert.match(during, /^vllm:num_requests_running\{[^}]*\} 1$/m);
    assert.match(during, /^vllm:num_requests_waiting\{[^}]*\} 2$/m);
    await all;
    const after = await (await fetch(`${mock.url}/metrics`)).text();
    assert.match(after, /^vllm:num_requests_waiting\{[^}]*\} 0$/m);
    // The queue histogram's sum is the records' waits for a slot, to the millisecond.
    const waited = completionRecords(mock.records()).reduce((sum, r) => sum + r.queuedMs!, 0);
    const sum = Number(after.match(/^vllm:request_queue_time_seconds_sum\{[^}]*\} (\S+)$/m)![1]);
    assert.ok(Math.abs(sum * 1000 - waited) < 3, `queue sum ${sum * 1000} ms, waits ${waited} ms`);
  });
});
