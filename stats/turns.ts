/**
 * Per-turn stats of multi-turn sessions: one {@link Recorder} per turn index, beside the shard's
 * main one, so turn 1 and turn 5 of the sessions get their own TTFT, ITL and token counts (the
 * KV-reuse story). The turn is known per request, so the per-event path is unchanged: a turn's
 * request is recorded twice, once in the run's totals and once in its turn's.
 *
 * @module
 */
import type { RequestFailure, RequestRecord } from "../request/types.ts";
import { Recorder } from "./recorder.ts";
import type { SampleDelta } from "./types.ts";

/** Records requests by their turn index (1 is a session's first turn). */
export class TurnRecorder {
  /** Recorders by turn index; index 0 is unused. */
  readonly #byTurn: Recorder[] = [];

  /** Records one successful request of turn `turn`. */
  recordRequest(turn: number, record: RequestRecord): void {
    this.#of(turn).recordRequest(record);
  }

  /** Counts one failed request of turn `turn`. */
  recordFailure(turn: number, failure: RequestFailure): void {
    this.#of(turn).recordFailure(failure);
  }

  /**
   * Each turn's delta since the last call, keyed by turn index; `undefined` when no turn saw a
   * request.
   */
  takeDeltas(): Record<string, SampleDelta> | undefined {
    let deltas: Record<string, SampleDelta> | undefined;
    this.#byTurn.forEach((recorder, turn) => {
      const delta = recorder.takeDelta();
      const failed = Object.keys(delta.failures).length > 0;
      if (delta.ok > 0 || failed) (deltas ??= {})[String(turn)] = delta;
    });
    return deltas;
  }

  #of(turn: number): Recorder {
    return this.#byTurn[turn] ??= new Recorder();
  }
}
