import assert from "node:assert/strict";
import { absoluteNow, createClock, startClockThread } from "../load/clock.ts";
import type { Clock } from "../load/clock.ts";

/** Runs `body` with a clock on a clock thread of its own, and always closes both. */
async function withClock(body: (clock: Clock) => Promise<void>): Promise<void> {
  const thread = await startClockThread(1);
  const clock = createClock(thread.buffer, 0);
  try {
    await body(clock);
  } finally {
    clock.close();
    thread.close();
  }
}

Deno.test("sleepUntil never wakes before its deadline", async () => {
  await withClock(async (clock) => {
    for (const ahead of [0.3, 1, 4, 12]) {
      const deadline = absoluteNow() + ahead;
      await clock.sleepUntil(deadline);
      assert.ok(absoluteNow() >= deadline, `woke early for a ${ahead} ms wait`);
    }
  });
});

Deno.test("sleepUntil resolves at once for a past deadline and early on abort", async () => {
  await withClock(async (clock) => {
    await clock.sleepUntil(absoluteNow() - 1000);
    const controller = new AbortController();
    const deadline = absoluteNow() + 60_000;
    const sleeping = clock.sleepUntil(deadline, controller.signal);
    controller.abort();
    await sleeping;
    assert.ok(absoluteNow() < deadline);
  });
});

Deno.test("waits started out of order each end at their deadline, in deadline order", async () => {
  await withClock(async (clock) => {
    const start = absoluteNow();
    const aheads = [9, 2, 6, 2, 0.5, 4];
    const woke: Array<{ ahead: number; at: number }> = [];
    await Promise.all(aheads.map(async (ahead) => {
      await clock.sleepUntil(start + ahead);
      woke.push({ ahead, at: absoluteNow() });
    }));
    for (const { ahead, at } of woke) assert.ok(at >= start + ahead, `woke early for ${ahead}`);
    assert.deepEqual(woke.map(({ ahead }) => ahead), [...aheads].sort((a, b) => a - b));
  });
});

Deno.test("an aborted wait leaves the others to their deadlines", async () => {
  await withClock(async (clock) => {
    const controller = new AbortController();
    const early = clock.sleepUntil(absoluteNow() + 2, controller.signal);
    const deadline = absoluteNow() + 8;
    const later = clock.sleepUntil(deadline);
    controller.abort();
    await early;
    await later;
    assert.ok(absoluteNow() >= deadline);
  });
});

Deno.test("back-to-back short waits, beside other sleepers, never miss a tick", async () => {
  await withClock(async (clock) => {
    const start = absoluteNow();
    // A missed tick would leave a wait pending for ever; the race turns that into a failure.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("stuck"), 10_000);
    });
    const waits = (async () => {
      const others = Array.from({ length: 50 }, (_, i) => clock.sleepUntil(start + i * 7));
      for (let k = 0; k < 2000; k++) {
        const deadline = start + k * 0.6;
        await clock.sleepUntil(deadline);
        assert.ok(absoluteNow() >= deadline, `woke early at wait ${k}`);
      }
      await Promise.all(others);
      return "done";
    })();
    const outcome = await Promise.race([waits, stuck]);
    clearTimeout(timer);
    assert.equal(outcome, "done");
  });
});

Deno.test("clocks on the slots of one thread each wake at their own deadlines", async () => {
  const thread = await startClockThread(3);
  const clocks = [0, 1, 2].map((slot) => createClock(thread.buffer, slot));
  try {
    const start = absoluteNow();
    const woke = await Promise.all(clocks.map(async (clock, slot) => {
      for (let k = 1; k <= 5; k++) await clock.sleepUntil(start + k * (slot + 1));
      return absoluteNow() - start;
    }));
    woke.forEach((elapsed, slot) => assert.ok(elapsed >= 5 * (slot + 1), `slot ${slot}`));
    assert.throws(() => createClock(thread.buffer, 3), /Clock slot must be in \[0, 3\), got 3/);
  } finally {
    clocks.forEach((clock) => clock.close());
    thread.close();
  }
});

Deno.test("closing resolves pending waits, and closing the thread lets the process exit", async () => {
  const script = `import { absoluteNow, createClock, startClockThread } from ${
    JSON.stringify(new URL("../load/clock.ts", import.meta.url).href)
  };
const thread = await startClockThread(1);
const clock = createClock(thread.buffer, 0);
const waiting = clock.sleepUntil(absoluteNow() + 60_000);
await clock.sleepUntil(absoluteNow() + 5);
clock.close();
await waiting;
thread.close();
console.log("closed");`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(new TextDecoder().decode(output.stderr), "");
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "closed");
  assert.equal(output.code, 0);
});
