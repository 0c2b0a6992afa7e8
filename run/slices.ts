/**
 * Time slices of the measured window (`--slice 10s`): the deltas that arrive during each slice
 * are merged into one aggregate, summarised when the slice closes and then reused, so memory
 * stays one aggregate however long the run. A request counts in the slice its shard's delta
 * arrived in: within the 250 ms a shard batches its deltas.
 *
 * @module
 */
import { Aggregate } from "../stats/aggregate.ts";
import type { SampleDelta } from "../stats/types.ts";
import { summariseWindow, type WindowSummary } from "../stats/window.ts";

/** One closed slice: where it lies in the measured window and what it measured. */
export interface SliceSummary extends WindowSummary {
  /** Start, in ms after the measured window began. */
  startMs: number;
  /** Length in ms (the last slice may be shorter). */
  durationMs: number;
}

/** Cuts the measured window into slices of `sliceMs` and summarises each. */
export class Slicer {
  readonly #sliceMs: number;
  readonly #current = new Aggregate();
  #windowStart: number;
  #sliceStart: number;
  #closed: SliceSummary[] = [];

  /** Slices of `sliceMs`, the first beginning at absolute ms `windowStart`. */
  constructor(sliceMs: number, windowStart: number) {
    this.#sliceMs = sliceMs;
    this.#windowStart = this.#sliceStart = windowStart;
  }

  /** Adds a delta that arrived at absolute ms `now`, closing the slices that ended before. */
  merge(delta: SampleDelta, now: number): void {
    this.#advance(now);
    this.#current.merge(delta);
  }

  /** Forgets every slice and starts afresh at absolute ms `windowStart` (after the warm-up). */
  restart(windowStart: number): void {
    this.#current.reset();
    this.#closed = [];
    this.#windowStart = this.#sliceStart = windowStart;
  }

  /** The slices up to absolute ms `end`, the last one cut short there if it was still open. */
  finish(end: number): SliceSummary[] {
    this.#advance(end);
    if (end > this.#sliceStart) this.#close(end);
    return this.#closed;
  }

  #advance(now: number): void {
    while (now >= this.#sliceStart + this.#sliceMs) this.#close(this.#sliceStart + this.#sliceMs);
  }

  #close(end: number) {
    const durationMs = end - this.#sliceStart;
    this.#closed.push({
      startMs: this.#sliceStart - this.#windowStart,
      durationMs,
      ...summariseWindow(this.#current.snapshot(), durationMs),
    });
    this.#current.reset();
    this.#sliceStart = end;
  }
}
