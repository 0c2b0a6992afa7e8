/**
 * Shard side of the stats: a `Recorder` turns each `RequestRecord` and `RequestFailure` into
 * HDR histograms and counters and hands them over as a compact `StatsDelta`.
 *
 * @example
 * ```ts
 * const recorder = new Recorder();
 * recorder.recordRequest(record);
 * postMessage({ type: "delta", delta: recorder.takeDelta() });
 * ```
 *
 * @module
 */

import type { RequestFailure, RequestRecord } from "../request/types.ts";
import { recordValue } from "./histogram.ts";
import { forEachSample, MAX_EXAMPLES } from "./metrics.ts";
import { Tally } from "./_tally.ts";
import type { StatsDelta } from "./types.ts";

/**
 * Records requests and failures, and hands over what it saw as a `StatsDelta`.
 * Not thread-safe by design: one per Worker.
 */
export class Recorder {
  #tally = new Tally();

  /** Records the metrics and counters of one successful request. */
  recordRequest(rec: RequestRecord): void {
    const tally = this.#tally;
    forEachSample(rec, (name, value) => recordValue(tally.accumulator(name), value));
    tally.ok++;
    const tokens = tally.tokens;
    tokens.output += rec.outputTokens;
    tokens.prompt += rec.promptTokens ?? 0;
    tokens.chars += rec.chars;
    tokens.sources[rec.tokenSource]++;
    const expected = rec.expectedOutputTokens ?? rec.maxTokens;
    if (rec.outputTokens !== expected) {
      tokens.mismatches.count++;
      if (tokens.mismatches.examples.length < MAX_EXAMPLES) {
        tokens.mismatches.examples.push({ asked: expected, got: rec.outputTokens });
      }
    }
    if (rec.empty) tokens.empty++;
    if (rec.truncated) tokens.truncated++;
    if (rec.cachedPromptTokens !== undefined) {
      tokens.promptCache.requests++;
      tokens.promptCache.cachedTokens += rec.cachedPromptTokens;
      tokens.promptCache.promptTokens += rec.promptTokens ?? rec.cachedPromptTokens;
    }
    const { serverPromptTokens: server, localPromptTokens: local } = rec;
    if (server !== undefined && local !== undefined && server !== local) {
      tokens.promptMismatches.count++;
      if (tokens.promptMismatches.examples.length < MAX_EXAMPLES) {
        tokens.promptMismatches.examples.push({ server, local });
      }
    }
  }

  /** Counts one failed request under its kind and status, keeping its message if new. */
  recordFailure(failure: RequestFailure): void {
    const statuses: Record<string, number> = {};
    if (failure.status !== undefined) statuses[String(failure.status)] = 1;
    this.#tally.addFailure(failure.kind, { count: 1, statuses, messages: [failure.message] });
  }

  /** Notes `n` sends delayed because the in-flight cap was reached. */
  noteCapped(n = 1): void {
    this.#tally.capped += n;
  }

  /** Returns everything recorded since the last call and starts afresh. */
  takeDelta(): StatsDelta {
    return this.#tally.take();
  }
}
