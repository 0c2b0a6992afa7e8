/**
 * The lockstep grid of the mock (`--lockstep`): a continuous-batching server (vLLM, SGLang, TGI)
 * emits the next token of every running request in the same decode step, so its clients receive
 * synchronized bursts. Here one timer drives every stream: at each step it writes one token of
 * every running stream, with one write per stream. A stream's first token goes out at the first
 * step at or after its due time (arrival + TTFT), then one per step.
 *
 * The step after a tick lasts `itlMs + perStreamUs µs × running`, where `running` counts the
 * streams still generating after that tick (their first token sent, their last not yet): a
 * loaded server's decode step grows with its batch. While nothing runs, steps are `itlMs` long
 * and no timer is set; the grid stays where it was, so step numbers and times remain on it.
 *
 * @module
 */

/** Where a stream's token fell on the grid. */
export interface GridWrite {
  /** When the tick wrote it (absolute ms): the same for every stream of one step. */
  readonly at: number;
  /** The step's number, counted from the grid's start (step 0). */
  readonly step: number;
  /** When the step was due on the grid (absolute ms); `at` is never before it. */
  readonly stepAt: number;
}

/** One stream on the grid: what it writes, and what to tell about it. */
export interface GridStreamPlan {
  /** Written as soon as the stream starts, or `null`. */
  readonly head: Uint8Array | null;
  /** Paced writes (tokens), at least 1. */
  readonly writes: number;
  /** The bytes of write `k`: prebuilt, so a tick only looks them up. */
  write(k: number): Uint8Array;
  /** Absolute ms before which the first token must not go out. */
  readonly due: number;
  /** Called after each token write. */
  onWrite(write: GridWrite): void;
  /** Called once the body has ended after its last write. */
  onDone(at: number): void;
  /** Called when the client cancels or the grid aborts the stream. */
  onAbort(): void;
}

/** A grid that streams are added to. */
export interface StepGrid {
  /** The body of a new stream on the grid; it starts waiting for its due time at once. */
  stream(plan: GridStreamPlan): ReadableStream<Uint8Array>;
  /** Aborts every stream (waiting or running) and stops the timer. */
  abort(): void;
}

interface GridStream {
  readonly plan: GridStreamPlan;
  controller: ReadableStreamDefaultController<Uint8Array>;
  next: number;
  ended: boolean;
}

/**
 * Starts a grid at `origin` (step 0). `now` gives absolute ms.
 *
 * @example
 * ```ts
 * const grid = createStepGrid({ itlMs: 20, perStreamUs: 0, origin: Date.now(), now: Date.now });
 * ```
 */
export function createStepGrid(options: {
  itlMs: number;
  perStreamUs: number;
  origin: number;
  now: () => number;
}): StepGrid {
  const { itlMs, now } = options;
  const perStreamMs = options.perStreamUs / 1000;
  /** The latest step that ticked (or the origin), its number and grid time. */
  let step = 0;
  let stepAt = options.origin;
  /** The next tick, when the timer is set. */
  let nextStep = 0;
  let nextAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Streams in arrival order; their due times only grow, since TTFT is the same for all.
  let waiting: GridStream[] = [];
  let head = 0;
  let running: GridStream[] = [];
  // Every stream not yet ended, for `abort()`.
  const all = new Set<GridStream>();

  function arm(): void {
    timer = setTimeout(tick, Math.max(0, Math.ceil(nextAt - now())));
  }

  /** Sets the next tick on the first idle step (`itlMs` apart) at or after `due`. */
  function planIdle(due: number): void {
    const steps = Math.max(1, Math.ceil((due - stepAt) / itlMs));
    nextStep = step + steps;
    nextAt = stepAt + steps * itlMs;
    // The division can round a step onto the wrong side of `due`.
    if (nextAt < due) {
      nextStep++;
      nextAt += itlMs;
    }
    arm();
  }

  function admit(): void {
    while (head < waiting.length && waiting[head].plan.due <= stepAt) {
      const stream = waiting[head++];
      if (!stream.ended) running.push(stream);
    }
    if (head > 1024 && head * 2 > waiting.length) {
      waiting = waiting.slice(head);
      head = 0;
    }
  }

  function tick(): void {
    const at = now();
    if (at < nextAt) {
      arm();
      return;
    }
    timer = undefined;
    step = nextStep;
    stepAt = nextAt;
    admit();
    const write: GridWrite = { at, step, stepAt };
    let kept = 0;
    for (let i = 0; i < running.length; i++) {
      const stream = running[i];
      if (stream.ended) continue;
      const k = stream.next++;
      stream.controller.enqueue(stream.plan.write(k));
      // The client may cancel from inside the enqueue (Deno.serve writes synchronously).
      if (stream.ended) continue;
      stream.plan.onWrite(write);
      if (stream.next < stream.plan.writes) running[kept++] = stream;
      else {
        stream.ended = true;
        all.delete(stream);
        stream.controller.close();
        stream.plan.onDone(now());
      }
    }
    running.length = kept;
    if (kept > 0) {
      nextStep = step + 1;
      nextAt = stepAt + itlMs + perStreamMs * kept;
      arm();
    } else {
      while (head < waiting.length && waiting[head].ended) head++;
      if (head < waiting.length) planIdle(waiting[head].plan.due);
    }
  }

  function add(stream: GridStream): void {
    waiting.push(stream);
    // No timer means nothing runs or waits: the grid is idle.
    if (timer === undefined) planIdle(stream.plan.due);
  }

  return {
    stream(plan) {
      let stream: GridStream;
      return new ReadableStream<Uint8Array>({
        start(controller) {
          stream = { plan, controller, next: 0, ended: false };
          if (plan.head !== null) controller.enqueue(plan.head);
          all.add(stream);
          add(stream);
        },
        cancel() {
          if (stream.ended) return;
          stream.ended = true;
          all.delete(stream);
          plan.onAbort();
        },
      });
    },
    abort() {
      clearTimeout(timer);
      timer = undefined;
      for (const stream of all) {
        if (stream.ended) continue;
        stream.ended = true;
        stream.plan.onAbort();
        try {
          stream.controller.error(new Error("The mock server closed the stream"));
        } catch {
          // Already closed or cancelled by the client: nothing to abort.
        }
      }
      all.clear();
      waiting = [];
      head = 0;
      running = [];
    },
  };
}
