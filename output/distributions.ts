/**
 * Latency distributions for the dashboard and the HTML report: each latency metric's value at a
 * fixed list of percentiles, read from the run's HDR histograms, so the page draws percentile
 * curves (the HDR "latency by percentile" plot) without decoding histograms itself.
 *
 * @example
 * ```ts
 * const curves = latencyDistributions(results);
 * console.log(curves.percentiles.at(-1), curves.metrics.ttft?.at(-1)); // 99.99, TTFT p99.99 in ms
 * ```
 *
 * @module
 */
import { valuesAtPercentiles } from "../stats/histogram.ts";
import { displayScale, type MetricName } from "../stats/metrics.ts";
import type { Results } from "./results.ts";

/** The metrics whose distributions the page draws. */
export const DISTRIBUTION_METRICS = [
  "ttft",
  "itl",
  "total_latency",
] as const satisfies readonly MetricName[];

/**
 * Percentiles each curve is read at: every 10 up to 90, every 1 up to 99, every 0.1 up to 99.9,
 * then 99.95 and 99.99. Dense in the tail, where the story of a latency distribution is.
 */
export const DISTRIBUTION_PERCENTILES: readonly number[] = [
  ...Array.from({ length: 10 }, (_, i) => i * 10),
  ...Array.from({ length: 9 }, (_, i) => 91 + i),
  ...Array.from({ length: 9 }, (_, i) => Math.round((99.1 + i / 10) * 10) / 10),
  99.95,
  99.99,
];

/** Latency curves: each metric's values (display units) at `percentiles`, index for index. */
export interface LatencyDistributions {
  /** The percentiles, ascending: {@link DISTRIBUTION_PERCENTILES}. */
  percentiles: readonly number[];
  /** Per metric with samples, its value at each percentile, in the metric's unit (ms). */
  metrics: Partial<Record<(typeof DISTRIBUTION_METRICS)[number], number[]>>;
}

/** The run's latency curves, from the histograms in its results. */
export function latencyDistributions(results: Results): LatencyDistributions {
  const metrics: LatencyDistributions["metrics"] = {};
  for (const name of DISTRIBUTION_METRICS) {
    const encoded = results.histograms[name];
    const summary = results.metrics[name];
    if (encoded === undefined || summary === undefined || summary.count === 0) continue;
    const scale = displayScale(name);
    metrics[name] = valuesAtPercentiles(encoded, DISTRIBUTION_PERCENTILES, scale, {
      min: Math.round(summary.min * scale),
      max: Math.round(summary.max * scale),
    });
  }
  return { percentiles: DISTRIBUTION_PERCENTILES, metrics };
}
