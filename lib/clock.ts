/**
 * Absolute time and precise waiting. Timers in Deno wake ~2 ms late at best, so a wait sleeps
 * on `setTimeout` until shortly before the deadline, then hops through a `MessageChannel`
 * (~5 µs a hop, still yielding to I/O) for the last stretch.
 *
 * @module
 */

/** Milliseconds of the wait that are covered by channel hops instead of a timer. */
const HOP_WINDOW_MS = 2.5;

/** Absolute time in milliseconds, comparable across Workers and processes on one machine. */
export function absoluteNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Hops through a fresh channel until `deadline`; closing it afterwards lets the process exit. */
function hopUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port1.onmessage = () => {
      if (absoluteNow() < deadline && !signal?.aborted) return port2.postMessage(0);
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(0);
  });
}

function timer(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const id = setTimeout(done, ms);
    function done() {
      clearTimeout(id);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Resolves at the absolute time `deadline` (within tens of microseconds), or early when
 * `signal` aborts. A deadline in the past resolves at once.
 */
export async function sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  let remaining = deadline - absoluteNow();
  if (remaining > HOP_WINDOW_MS) {
    await timer(remaining - HOP_WINDOW_MS, signal);
    remaining = deadline - absoluteNow();
  }
  if (remaining > 0 && !signal?.aborted) await hopUntil(deadline, signal);
}
