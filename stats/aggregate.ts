/**
 * Coordinator side of the stats: an `Aggregate` records the raw `SampleDelta`s of any number of
 * shards into its HDR histograms, merges encoded `StatsDelta`s (whole runs) exactly, and
 * summarises them in display units. The histogram work happens here, off the shards' threads.
 *
 * @example
 * ```ts
 * const aggregate = new Aggregate();
 * aggregate.merge(recorder.takeDelta());
 * console.log(aggregate.snapshot().metrics.ttft?.p99);
 * ```
 *
 * @module
 */

import type { FailureKind } from "../request/types.ts";
import {
  type Accumulator,
  addEncoded,
  bucketCounts,
  createAccumulator,
  encodeAccumulator,
  type MetricDelta,
  type MetricSummary,
  recordedValues,
  recordValue,
  resetAccumulator,
  summarise,
} from "./histogram.ts";
import { displayScale, METRIC_NAMES, type MetricName } from "./metrics.ts";
import { Tally } from "./_tally.ts";
import type { FailureStats, SampleDelta, StatsDelta, TokenStats } from "./types.ts";
import type { SloCounts } from "./slo.ts";

/** What an `Aggregate` holds, summarised. */
export interface StatsSnapshot {
  /** Metrics with at least one sample. */
  metrics: Partial<Record<MetricName, MetricSummary>>;
  /** Successful requests. */
  ok: number;
  /** Failed requests, all kinds. */
  failed: number;
  /** Failures by kind; kinds without failures are absent. */
  failures: Partial<Record<FailureKind, FailureStats>>;
  /** Token and character totals. */
  tokens: TokenStats;
  /** Sends delayed because the in-flight cap was reached. */
  capped: number;
  /** Requests judged against `--slo`; absent without one. */
  slo?: SloCounts;
  /**
   * Multi-turn sessions: each turn index (`"1"`, `"2"`, ...) that saw requests, summarised the
   * same way; absent without sessions.
   */
  turns?: Record<string, StatsSnapshot>;
}

/** Running counters of an {@link Aggregate}. */
export interface AggregateCounts {
  /** Successful requests. */
  readonly ok: number;
  /** Failed requests, all kinds. */
  readonly failed: number;
  /** Output tokens summed over successful requests. */
  readonly outputTokens: number;
  /** Prompt tokens summed over successful requests. */
  readonly promptTokens: number;
  /** Sends delayed because the in-flight cap was reached. */
  readonly capped: number;
  /** Embedding inputs or rerank documents sent by successful requests. */
  readonly inputs: number;
  /** Successful requests whose server reported at least one cached prompt token. */
  readonly cacheHits: number;
  /** Prompt tokens the servers reported as served from their prompt cache. */
  readonly cachedPromptTokens: number;
  /** Requests closed on purpose after their first token (`--cancel-rate`), counted in `ok`. */
  readonly cancelled: number;
}

/**
 * Merges deltas exactly and summarises them. Merging the deltas of several recorders gives the
 * same snapshot, to the last percentile, as one recorder that saw every request.
 */
export class Aggregate {
  /** Accumulators by metric; one may be empty after a reset. */
  readonly #metrics = new Map<MetricName, Accumulator>();
  #tally = new Tally();
  /** Per-turn aggregates of multi-turn sessions, by turn index; empty without sessions. */
  readonly #turns = new Map<number, Aggregate>();

  /**
   * Adds one delta: a shard's raw samples ({@link SampleDelta}), recorded into the histograms
   * here, or an encoded one (another aggregate's {@link Aggregate.toDelta}), added exactly.
   */
  merge(delta: SampleDelta | StatsDelta): void {
    for (const name of METRIC_NAMES) {
      const part = delta.metrics[name];
      if (part === undefined) continue;
      if (part instanceof Float64Array) {
        if (part.length === 0) continue;
        const acc = this.#accumulator(name);
        for (let i = 0; i < part.length; i++) recordValue(acc, part[i]);
      } else if (part.count > 0) addEncoded(this.#accumulator(name), part);
    }
    this.#tally.merge(delta);
    if (delta.turns === undefined) return;
    for (const [turn, part] of Object.entries(delta.turns)) {
      let aggregate = this.#turns.get(Number(turn));
      if (aggregate === undefined) this.#turns.set(Number(turn), aggregate = new Aggregate());
      aggregate.merge(part);
    }
  }

  /** Forgets everything, e.g. at the end of the warm-up. */
  reset(): void {
    // Histograms are reused: a reset keeps their buckets rather than feeding them to the GC.
    for (const acc of this.#metrics.values()) resetAccumulator(acc);
    this.#tally.reset();
    for (const aggregate of this.#turns.values()) aggregate.reset();
  }

  /** The running counters, cheap enough to read on every tick. */
  counts(): AggregateCounts {
    const tally = this.#tally;
    return {
      ok: tally.ok,
      failed: tally.failed(),
      outputTokens: tally.tokens.output,
      promptTokens: tally.tokens.prompt,
      capped: tally.capped,
      inputs: tally.tokens.inputs,
      cacheHits: tally.tokens.promptCache.hits,
      cachedPromptTokens: tally.tokens.promptCache.cachedTokens,
      cancelled: tally.tokens.cancelled,
    };
  }

  /** One metric summarised in display units, or `undefined` while it has no samples. */
  metric(name: MetricName): MetricSummary | undefined {
    const acc = this.#metrics.get(name);
    return acc && acc.count > 0 ? summarise(acc, displayScale(name)) : undefined;
  }

  /** A copy of the SLO counts; `undefined` without an SLO. */
  sloCounts(): SloCounts | undefined {
    return this.#tally.copySlo();
  }

  /** A copy of the failures by kind; kinds without failures are absent. */
  failures(): Partial<Record<FailureKind, FailureStats>> {
    return this.#tally.copyFailures();
  }

  /**
   * The samples of `name` per bucket of `bounds` (recording units: µs or count), with their
   * exact count and sum, read from the live histogram without encoding it; `undefined` while
   * the metric has no samples. See {@link bucketCounts} for the slots.
   */
  buckets(
    name: MetricName,
    bounds: readonly number[],
  ): { slots: number[]; count: number; sum: number } | undefined {
    const acc = this.#metrics.get(name);
    if (!acc || acc.count === 0) return undefined;
    return { slots: bucketCounts(acc, bounds), count: acc.count, sum: acc.sum };
  }

  /**
   * Every distinct value of `name` in display units with its number of samples, ascending (see
   * {@link recordedValues}); empty while the metric has no samples.
   */
  values(name: MetricName): { value: number; count: number }[] {
    const acc = this.#metrics.get(name);
    return acc && acc.count > 0 ? recordedValues(acc, displayScale(name)) : [];
  }

  /** Summarises every metric in display units, plus the counters. Returns fresh objects. */
  snapshot(): StatsSnapshot {
    const metrics: Partial<Record<MetricName, MetricSummary>> = {};
    for (const name of METRIC_NAMES) {
      const summary = this.metric(name);
      if (summary) metrics[name] = summary;
    }
    const tally = this.#tally;
    const turns = this.#eachTurn((aggregate) => aggregate.snapshot());
    return {
      metrics,
      ok: tally.ok,
      failed: tally.failed(),
      failures: tally.copyFailures(),
      tokens: tally.copyTokens(),
      capped: tally.capped,
      ...(tally.slo ? { slo: this.sloCounts() } : {}),
      ...(turns ? { turns } : {}),
    };
  }

  /**
   * Everything held, as one delta: the histograms in their portable form, for the results file
   * or to merge this aggregate into another.
   */
  toDelta(): StatsDelta {
    const metrics: Partial<Record<MetricName, MetricDelta>> = {};
    for (const name of METRIC_NAMES) {
      const acc = this.#metrics.get(name);
      if (acc && acc.count > 0) metrics[name] = encodeAccumulator(acc);
    }
    const turns = this.#eachTurn((aggregate) => aggregate.toDelta());
    return { metrics, ...this.#tally.copy(), ...(turns ? { turns } : {}) };
  }

  /** `view` of each turn that saw requests, by turn index in order; `undefined` for none. */
  #eachTurn<T>(view: (aggregate: Aggregate) => T): Record<string, T> | undefined {
    let turns: Record<string, T> | undefined;
    for (const turn of [...this.#turns.keys()].sort((a, b) => a - b)) {
      const aggregate = this.#turns.get(turn)!;
      const { ok, failed } = aggregate.counts();
      if (ok + failed > 0) (turns ??= {})[String(turn)] = view(aggregate);
    }
    return turns;
  }

  /** The accumulator of `name`, created on first use. */
  #accumulator(name: MetricName): Accumulator {
    let acc = this.#metrics.get(name);
    if (!acc) {
      acc = createAccumulator();
      this.#metrics.set(name, acc);
    }
    return acc;
  }
}
