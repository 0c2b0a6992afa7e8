/**
 * Coordinator side of the stats: an `Aggregate` merges the `StatsDelta`s of any number of shards
 * (or whole runs) exactly and summarises them in display units.
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
import { bucketCounts, type MetricSummary, summarise } from "./histogram.ts";
import { displayScale, METRIC_NAMES, type MetricName } from "./metrics.ts";
import { Tally } from "./_tally.ts";
import type { FailureStats, StatsDelta, TokenStats } from "./types.ts";

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
}

/**
 * Merges deltas exactly and summarises them. Merging the deltas of several recorders gives the
 * same snapshot, to the last percentile, as one recorder that saw every request.
 */
export class Aggregate {
  #tally = new Tally();

  /** Adds one delta. */
  merge(delta: StatsDelta): void {
    this.#tally.merge(delta);
  }

  /** Forgets everything, e.g. at the end of the warm-up. */
  reset(): void {
    this.#tally.reset();
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
    };
  }

  /** One metric summarised in display units, or `undefined` while it has no samples. */
  metric(name: MetricName): MetricSummary | undefined {
    const acc = this.#tally.metrics.get(name);
    return acc && acc.count > 0 ? summarise(acc, displayScale(name)) : undefined;
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
    const acc = this.#tally.metrics.get(name);
    if (!acc || acc.count === 0) return undefined;
    return { slots: bucketCounts(acc, bounds), count: acc.count, sum: acc.sum };
  }

  /** Summarises every metric in display units, plus the counters. Returns fresh objects. */
  snapshot(): StatsSnapshot {
    const metrics: Partial<Record<MetricName, MetricSummary>> = {};
    for (const name of METRIC_NAMES) {
      const summary = this.metric(name);
      if (summary) metrics[name] = summary;
    }
    const tally = this.#tally;
    return {
      metrics,
      ok: tally.ok,
      failed: tally.failed(),
      failures: tally.copyFailures(),
      tokens: tally.copyTokens(),
      capped: tally.capped,
    };
  }

  /**
   * Everything held, as one delta: the histograms in their portable form, for the results file
   * or to merge this aggregate into another.
   */
  toDelta(): StatsDelta {
    return this.#tally.toDelta();
  }
}
