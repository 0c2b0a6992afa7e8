/**
 * Absolute time and precise waiting. A `setTimeout` in Deno 2.9 fires about 1 ms late, often
 * several; hopping through a `MessageChannel` for the last stretch (what this module did before)
 * cost ~0.5-1 ms of CPU a wake, measured by tests/bench/wake.ts. So one clock thread
 * (`clock_worker.ts`, started by the coordinator) blocks in `Atomics.wait` until the earliest
 * deadline of any shard and bumps that shard's tick cell; each shard's {@link Clock} awaits its
 * cell with `Atomics.waitAsync`, one wake of its event loop per deadline. The thread is started
 * on the main thread because a Worker started from a shard Worker takes 0.5-1 s to boot here.
 *
 * @module
 */

/** Absolute time in milliseconds, comparable across Workers and processes on one machine. */
export function absoluteNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Int32 cells before the ticks: a change counter the clock thread waits on, a quit flag. */
const CONTROL_CELLS = 2;

/** Bytes a slot takes: a tick cell (with room to spare), its deadline and its passed deadline. */
const SLOT_BYTES = 24;

/**
 * The views of a clock buffer: control cells, then per slot a tick cell, the deadline its
 * clock asks for (written by the clock only) and the latest deadline the clock thread found
 * passed (written by the thread only).
 */
export function clockViews(buffer: SharedArrayBuffer): {
  control: Int32Array;
  ticks: Int32Array;
  deadlines: Float64Array;
  passed: Float64Array;
} {
  const slots = buffer.byteLength / SLOT_BYTES - 1;
  const floats = 8 + 8 * slots;
  return {
    control: new Int32Array(buffer, 0, CONTROL_CELLS),
    ticks: new Int32Array(buffer, 4 * CONTROL_CELLS, slots),
    deadlines: new Float64Array(buffer, floats, slots),
    passed: new Float64Array(buffer, floats + 8 * slots, slots),
  };
}

/** The clock thread: one slot per shard, each slot driven by one {@link Clock}. */
export interface ClockThread {
  /** The buffer to hand to {@linkcode createClock}, with a slot index, on any thread. */
  readonly buffer: SharedArrayBuffer;
  /** Ends the thread (it keeps the process alive until then). Idempotent. */
  close(): void;
}

/**
 * Starts the clock thread with `slots` slots and resolves once it runs, so the first deadline
 * does not wait for its start-up.
 *
 * @example
 * ```ts
 * const thread = await startClockThread(1);
 * const clock = createClock(thread.buffer, 0);
 * await clock.sleepUntil(absoluteNow() + 5);
 * clock.close();
 * thread.close();
 * ```
 */
export async function startClockThread(slots: number): Promise<ClockThread> {
  // One slot's worth of room for the control cells, so the byte length gives the slots back.
  const buffer = new SharedArrayBuffer(SLOT_BYTES * (slots + 1));
  const { control, deadlines, passed } = clockViews(buffer);
  deadlines.fill(Infinity);
  passed.fill(-Infinity);
  const worker = new Worker(new URL("./clock_worker.ts", import.meta.url), { type: "module" });
  const started = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`Clock worker failed to start: ${event.message}`));
    };
  });
  worker.postMessage(buffer);
  await started;
  let closed = false;
  return {
    buffer,
    close() {
      if (closed) return;
      closed = true;
      // Terminating does not interrupt Atomics.wait; the flag and a notify end the loop.
      Atomics.store(control, 1, 1);
      Atomics.add(control, 0, 1);
      Atomics.notify(control, 0);
    },
  };
}

/** Precise waits on one thread, through one slot of a {@link ClockThread}. */
export interface Clock {
  /**
   * Resolves at the absolute time `deadline` (never before it, typically within 0.2 ms), or
   * early when `signal` aborts or the clock closes. A deadline in the past resolves at once.
   */
  sleepUntil(deadline: number, signal?: AbortSignal): Promise<void>;
  /** Resolves every pending wait and stops listening to the slot. Idempotent. */
  close(): void;
}

interface Sleeper {
  readonly deadline: number;
  readonly wake: () => void;
}

/**
 * A clock on slot `slot` of a clock thread's `buffer`; only one clock may use a slot.
 */
export function createClock(buffer: SharedArrayBuffer, slot: number): Clock {
  const { control, ticks, deadlines, passed: found } = clockViews(buffer);
  if (!Number.isInteger(slot) || slot < 0 || slot >= ticks.length) {
    throw new RangeError(`Clock slot must be in [0, ${ticks.length}), got ${slot}`);
  }
  // Latest deadline first, so the due ones pop off the end.
  const sleepers: Sleeper[] = [];
  // The deadline the thread was last asked for, until it ticks.
  let asked = Infinity;
  // The latest deadline the thread found passed: due by its clock even if this thread's reads a
  // few microseconds less, and never asked again (the thread ticks each deadline once).
  let passed = -Infinity;
  let listening = false;
  let closed = false;

  function ask(deadline: number) {
    // The tick count is read before the deadline is written: a tick that lands in between
    // then settles the wait at once instead of being missed.
    const seen = Atomics.load(ticks, slot);
    asked = deadline;
    deadlines[slot] = deadline;
    Atomics.add(control, 0, 1);
    Atomics.notify(control, 0);
    if (listening) return;
    listening = true;
    const waiting = Atomics.waitAsync(ticks, slot, seen);
    if (waiting.async) waiting.value.then(onTick);
    else queueMicrotask(onTick);
  }

  function onTick() {
    listening = false;
    if (closed) return;
    passed = Math.max(passed, found[slot]);
    asked = Infinity;
    const due = Math.max(absoluteNow(), passed);
    while (sleepers.length > 0 && sleepers[sleepers.length - 1].deadline <= due) {
      sleepers.pop()!.wake();
    }
    if (sleepers.length > 0) ask(sleepers[sleepers.length - 1].deadline);
  }

  /** Where a deadline goes so the array stays sorted latest first. */
  function slotOf(deadline: number): number {
    let low = 0;
    let high = sleepers.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sleepers[middle].deadline > deadline) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  return {
    sleepUntil(deadline, signal) {
      if (closed || signal?.aborted || deadline <= Math.max(absoluteNow(), passed)) {
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const sleeper: Sleeper = {
          deadline,
          wake() {
            signal?.removeEventListener("abort", abort);
            resolve();
          },
        };
        function abort() {
          const index = sleepers.indexOf(sleeper);
          if (index >= 0) sleepers.splice(index, 1);
          resolve();
        }
        signal?.addEventListener("abort", abort, { once: true });
        const index = slotOf(deadline);
        sleepers.splice(index, 0, sleeper);
        if (index === sleepers.length - 1 && deadline < asked) ask(deadline);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      deadlines[slot] = Infinity;
      // Settles a pending waitAsync, which nothing might wake any more.
      Atomics.add(ticks, slot, 1);
      Atomics.notify(ticks, slot);
      sleepers.splice(0).forEach((sleeper) => sleeper.wake());
    },
  };
}
