import assert from "node:assert/strict";
import { createClientMonitor } from "../lib/client_monitor.ts";
import { startShard } from "../lib/shard.ts";
import type { FromShard } from "../lib/shard.ts";
import { absoluteNow } from "../lib/clock.ts";
import { withMock } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";

function fakeClocks() {
  let cpuMicros = 0;
  let now = 0;
  return {
    cpuClock: () => ({ user: cpuMicros, system: 0 }),
    now: () => now,
    advance(wallMs: number, cpuMs: number) {
      now += wallMs;
      cpuMicros += cpuMs * 1000;
    },
  };
}

Deno.test("CPU share is process CPU over wall time over the cores in use", () => {
  const clocks = fakeClocks();
  const monitor = createClientMonitor(2, clocks);
  clocks.advance(1000, 2000);
  assert.equal(monitor.sample().saturated, false, "start-up second never counts");
  clocks.advance(1000, 1000);
  assert.deepEqual(monitor.sample(), { cpu: 0.5, loopLagMs: 0, saturated: false });
  clocks.advance(1000, 1700);
  assert.equal(monitor.sample().saturated, true);
  assert.match(monitor.saturationWarning()!, /client is saturated \(CPU 85% of 2 cores/);
  assert.deepEqual(monitor.summary(), {
    peakCpu: 1,
    peakLoopLagMs: 0,
    saturatedSamples: 1,
    samples: 3,
  });
});

Deno.test("event-loop lag over 5 ms marks the client saturated for that sample only", () => {
  const clocks = fakeClocks();
  const monitor = createClientMonitor(1, clocks);
  clocks.advance(1000, 100);
  monitor.sample();
  monitor.noteLag(2);
  monitor.noteLag(12);
  clocks.advance(1000, 100);
  assert.deepEqual(monitor.sample(), { cpu: 0.1, loopLagMs: 12, saturated: true });
  clocks.advance(1000, 100);
  assert.equal(monitor.sample().saturated, false);
  assert.equal(monitor.saturationWarning(), undefined);
});

Deno.test("a starved shard reports its event-loop lag and the monitor calls it saturated", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const config = runConfig(["-H", mock.url, "-m", "mock-model", "-u", "1", "-o", "2"]);
    const messages: FromShard[] = [];
    const shard = startShard({
      config: { ...config, model: "mock-model", provider: "openai" },
      prompt: "hi",
      shardIndex: 0,
      shardCount: 1,
      startAt: absoluteNow(),
      seed: 1,
    }, (message) => messages.push(message));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The test-only starvation: a busy loop holds the shard's thread across a delta tick.
    const until = performance.now() + 400;
    while (performance.now() < until) { /* busy */ }
    await new Promise((resolve) => setTimeout(resolve, 300));
    shard.stop(1000);
    await shard.finished;
    const monitor = createClientMonitor(1);
    monitor.sample(); // the start-up second
    for (const message of messages) {
      if (message.type === "delta") monitor.noteLag(message.status.loopLagMs);
    }
    const load = monitor.sample();
    assert.ok(load.loopLagMs > 100, `lag ${load.loopLagMs}`);
    assert.equal(load.saturated, true);
  });
});
