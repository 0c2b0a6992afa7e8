/**
 * Shard side of the stats: a `Recorder` turns each `RequestRecord` and `RequestFailure` into
 * raw samples (one preallocated buffer per metric) and counters, and hands them over as a
 * `SampleDelta`. Nothing here touches a histogram: the coordinator's `Aggregate` does, so the
 * shard's thread, which reads the streams, never stops for HDR recording or encoding.
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
import { forEachSample, MAX_EXAMPLES, METRIC_NAMES, type MetricName } from "./metrics.ts";
import { SampleBuffer } from "./sample_buffer.ts";
import { Tally } from "./_tally.ts";
import type { SampleDelta } from "./types.ts";
import { addJudgement, emptySloCounts, judgeRequest, type Slo } from "./slo.ts";

/**
 * Records requests and failures, and hands over what it saw as a `SampleDelta`.
 * Not thread-safe by design: one per Worker.
 */
export class Recorder {
  /** One buffer per metric, kept for the recorder's life so that recording allocates nothing. */
  readonly #samples = new Map<MetricName, SampleBuffer>(
    METRIC_NAMES.map((name) => [name, new SampleBuffer()]),
  );
  #tally = new Tally();
  /** Made once: a closure per request would be garbage per request. */
  readonly #push = (name: MetricName, value: number) => this.#samples.get(name)!.push(value);
  readonly #slo?: Slo;

  /** A recorder; with `slo`, each request is also judged against it (see `stats/slo.ts`). */
  constructor(slo?: Slo) {
    if (slo === undefined) return;
    this.#slo = slo;
    this.#tally.slo = emptySloCounts(slo.map((bound) => bound.metric));
  }

  /** Records the metrics and counters of one successful request. */
  recordRequest(rec: RequestRecord): void {
    const tally = this.#tally;
    forEachSample(rec, this.#push);
    tally.ok++;
    const slo = this.#slo;
    if (slo !== undefined) {
      const mask = judgeRequest(rec, slo);
      addJudgement(tally.slo!, { slo, mask, outputTokens: rec.outputTokens });
    }
    const tokens = tally.tokens;
    if (rec.cancelled) {
      tokens.cancelled++;
      return;
    }
    tokens.reasoning += rec.reasoningTokens ?? 0;
    tokens.output += rec.outputTokens;
    tokens.prompt += rec.promptTokens ?? 0;
    tokens.chars += rec.chars;
    if (rec.inputs !== undefined) {
      // Embeddings and rerank: texts sent, and no output tokens to count or compare.
      tokens.inputs += rec.inputs;
    } else tokens.sources[rec.tokenSource]++;
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
      if (rec.cachedPromptTokens > 0) tokens.promptCache.hits++;
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
    // A failed request is judged and misses every bound.
    if (this.#tally.slo !== undefined) this.#tally.slo.judged++;
  }

  /** Notes `n` sends delayed because the in-flight cap was reached. */
  noteCapped(n = 1): void {
    this.#tally.capped += n;
  }

  /**
   * Returns everything recorded since the last call and starts afresh. Costs one copy of the
   * samples recorded (no histogram work), so the shard's thread stalls for microseconds.
   */
  takeDelta(): SampleDelta {
    const metrics: SampleDelta["metrics"] = {};
    for (const [name, buffer] of this.#samples) {
      if (buffer.length > 0) metrics[name] = buffer.take();
    }
    return { metrics, ...this.#tally.take() };
  }
}
