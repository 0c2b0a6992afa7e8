import assert from "node:assert/strict";
import { absoluteNow, sleepUntil } from "../load/clock.ts";

Deno.test("sleepUntil never wakes before its deadline", async () => {
  for (const ahead of [0.3, 1, 4, 12]) {
    const deadline = absoluteNow() + ahead;
    await sleepUntil(deadline);
    assert.ok(absoluteNow() >= deadline, `woke early for a ${ahead} ms wait`);
  }
});

Deno.test("sleepUntil resolves at once for a past deadline and early on abort", async () => {
  await sleepUntil(absoluteNow() - 1000);
  const controller = new AbortController();
  const deadline = absoluteNow() + 60_000;
  const sleeping = sleepUntil(deadline, controller.signal);
  controller.abort();
  await sleeping;
  assert.ok(absoluteNow() < deadline);
});
