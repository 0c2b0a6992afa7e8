import assert from "node:assert/strict";
import { classifyClient, clientWarning, createClientMonitor } from "../run/client_monitor.ts";
import { startShard } from "../load/shard.ts";
import type { FromShard } from "../load/shard.ts";
import { absoluteNow } from "../load/clock.ts";
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
  assert.deepEqual(monitor.sample(), { cpu: 0.5, loopLagMs: 0, saturated: false, delayed: false });
  clocks.advance(1000, 1700);
  assert.equal(monitor.sample().saturated, true);
  assert.match(monitor.saturationWarning()!, /client is saturated \(CPU 85% of 2 cores/);
  assert.deepEqual(monitor.summary(), {
    verdict: "cpu-bound",
    peakCpu: 1,
    peakLoopLagMs: 0,
    saturatedSamples: 1,
    delayedSamples: 0,
    peakDelayMs: 0,
    samples: 3,
  });
  assert.match(clientWarning(monitor.summary())!, /use more --workers or a bigger machine$/);
});

Deno.test("lag with the client's own CPU low is other processes' delay, not saturation", () => {
  const clocks = fakeClocks();
  const monitor = createClientMonitor(1, clocks);
  clocks.advance(1000, 100);
  monitor.sample();
  monitor.noteLag(2);
  monitor.noteLag(12);
  clocks.advance(1000, 60); // 6% CPU, as measured while the server shared the cores
  assert.deepEqual(monitor.sample(), { cpu: 0.06, loopLagMs: 12, saturated: false, delayed: true });
  assert.equal(
    monitor.saturationWarning(),
    "other processes on this machine delay llmload by up to 12.0 ms (its own CPU 6% of 1 core): " +
      "timings may be up to 12.0 ms late; more --workers will not help, free cores would",
  );
  clocks.advance(1000, 100);
  assert.deepEqual(monitor.sample(), { cpu: 0.1, loopLagMs: 0, saturated: false, delayed: false });
  assert.equal(monitor.saturationWarning(), undefined);
  const summary = monitor.summary();
  assert.deepEqual(
    [summary.verdict, summary.saturatedSamples, summary.delayedSamples, summary.peakDelayMs],
    ["delayed", 0, 1, 12],
  );
  assert.match(
    clientWarning(summary)!,
    /^other processes on this machine delayed llmload by up to 12\.0 ms in 1 of 3 one-second samples \(its own CPU peaked at 10%\): timings may be up to 12\.0 ms late; more --workers will not help/,
  );
});

Deno.test("the client's state: CPU-bound above 80% or lagging while busy, delayed when idle", () => {
  assert.equal(classifyClient(0.93, 0), "cpu-bound");
  assert.equal(classifyClient(0.93, 40), "cpu-bound");
  assert.equal(classifyClient(0.6, 12), "cpu-bound");
  assert.equal(classifyClient(0.09, 12), "delayed");
  assert.equal(classifyClient(0.03, 5), "ok");
  assert.equal(classifyClient(0.7, 3), "ok");
});

Deno.test("a starved shard reports its event-loop lag and the monitor flags it", async () => {
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
    // The monitor saw the lag but not the busy loop's CPU (it started after): to it, something
    // else held the thread.
    assert.equal(load.saturated || load.delayed, true);
  });
});

Deno.test("a client that other processes hold back is reported as delayed, not saturated", async () => {
  await withMock({ ttftMs: 20, itlMs: 10 }, async (mock) => {
    const dir = await Deno.makeTempDir({ prefix: "llmload-delayed-" });
    try {
      const json = `${dir}/results.json`;
      const main = new URL("../main.ts", import.meta.url).pathname;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "-H", mock.url, "-u", "2", "-o", "4", "-t", "6s", "--json", json],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      let exited = false;
      output.finally(() => exited = true);
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      // What a busy machine does to llmload, made exact: the whole process is paused (no CPU
      // used) for 60 ms every 300 ms, once start-up is over.
      await sleep(2500);
      for (let i = 0; i < 12 && !exited; i++) {
        child.kill("SIGSTOP");
        await sleep(60);
        child.kill("SIGCONT");
        await sleep(240);
      }
      const { code, stderr } = await output;
      const log = new TextDecoder().decode(stderr);
      assert.equal(code, 0, log);
      const client = JSON.parse(await Deno.readTextFile(json)).client;
      assert.equal(client.verdict, "delayed", JSON.stringify(client));
      assert.ok(client.delayedSamples > 0 && client.peakDelayMs >= 30, JSON.stringify(client));
      assert.match(log, /other processes on this machine delay(ed)? llmload by up to/);
      assert.doesNotMatch(log, /client (is|was) saturated/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
