/**
 * The mock's capacity (`--slots N`): at most N requests generate at once, as a server with N
 * batch slots (llama.cpp's `--parallel`, vLLM's `--max-num-seqs`) runs them; the rest wait in a
 * first-in, first-out queue and start, in arrival order, as slots free up. With a fixed time per
 * request T, the mock then serves at most N / T requests per second, so a sweep against it has
 * a maximum computable by hand. Pure: no clock, no I/O; a waiter is a promise that resolves
 * when it gets a slot.
 *
 * @example
 * ```ts
 * const slots = createSlots(1);
 * await slots.acquire(); // true at once: a slot was free
 * const next = slots.acquire(); // waits: the only slot is taken
 * slots.release(); // hands the slot to `next`, which resolves true
 * ```
 *
 * @module
 */

/** A fixed number of generation slots with a FIFO queue of waiters. */
export interface Slots {
  /**
   * Takes a slot: resolves `true` at once when one is free, else once every earlier waiter got
   * one and a slot is released; `false` when the slots are closed first.
   */
  acquire(): Promise<boolean>;
  /** Gives a taken slot back; the oldest waiter, if any, gets it. */
  release(): void;
  /** Requests holding a slot now. */
  running(): number;
  /** Requests waiting for a slot now. */
  queued(): number;
  /** Resolves every waiter `false` and refuses later ones: the server is closing. */
  close(): void;
}

/**
 * `count` slots, none taken.
 *
 * @throws {RangeError} when `count` is not a whole number of at least 1
 */
export function createSlots(count: number): Slots {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`Cannot create ${count} slots: expected a whole number of at least 1`);
  }
  const waiters: ((granted: boolean) => void)[] = [];
  // Index of the oldest waiter: shifting an array per request would cost O(queue).
  let head = 0;
  let taken = 0;
  let closed = false;
  return {
    acquire() {
      if (closed) return Promise.resolve(false);
      if (taken < count && head === waiters.length) {
        taken++;
        return Promise.resolve(true);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    release() {
      if (taken === 0) throw new RangeError("Cannot release a slot: none is taken");
      if (head < waiters.length) {
        // The slot passes straight to the oldest waiter: `taken` stays the same.
        const next = waiters[head++];
        if (head === waiters.length) {
          waiters.length = 0;
          head = 0;
        }
        next(true);
        return;
      }
      taken--;
    },
    running: () => taken,
    queued: () => waiters.length - head,
    close() {
      closed = true;
      for (let i = head; i < waiters.length; i++) waiters[i](false);
      waiters.length = 0;
      head = 0;
    },
  };
}
