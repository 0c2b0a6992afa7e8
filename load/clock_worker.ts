/**
 * Web Worker entry of the clock thread ({@link startClockThread} in `clock.ts`): a thread that
 * may block, so it sleeps in `Atomics.wait` (a futex: no spinning, woken within tens of
 * microseconds) until the earliest deadline any shard wrote, then bumps that shard's tick cell,
 * which the shard awaits with `Atomics.waitAsync`. It runs no timers.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { absoluteNow, clockViews } from "./clock.ts";

self.onmessage = (event: MessageEvent<SharedArrayBuffer>) => {
  // A slot's clock writes its deadline and this thread never writes it back, so no write of the
  // clock's is lost; this thread writes only the deadline it found passed, before the tick.
  const { control, ticks, deadlines, passed } = clockViews(event.data);
  let seen = Atomics.load(control, 0);
  self.postMessage("ready");
  while (Atomics.load(control, 1) === 0) {
    let earliest = Infinity;
    const now = absoluteNow();
    for (let slot = 0; slot < deadlines.length; slot++) {
      const deadline = deadlines[slot];
      if (deadline > now) earliest = Math.min(earliest, deadline);
      else if (deadline !== passed[slot]) {
        passed[slot] = deadline;
        Atomics.add(ticks, slot, 1);
        Atomics.notify(ticks, slot);
      }
    }
    // A new deadline or the quit flag bumps control[0] and wakes this wait.
    const remaining = earliest - absoluteNow();
    if (remaining > 0) {
      Atomics.wait(control, 0, seen, Number.isFinite(remaining) ? remaining : undefined);
    }
    seen = Atomics.load(control, 0);
  }
  self.close();
};
