/**
 * Pure arithmetic on scrapes: one scrape read through a {@link ServerDialect} table into the
 * common vocabulary, the window's increase of counters and histograms across scrapes (a counter
 * that went down means the server restarted: the increase restarts from zero and the reset is
 * counted), per-scrape points, and the TTFT breakdown at the end.
 *
 * @module
 */
import type { Exposition, Sample } from "./prometheus_text.ts";
import {
  type CounterTerm,
  type GaugeTerm,
  type HistogramSource,
  type HistogramTerm,
  LISTED_SERIES,
  SECONDS_PER,
  type ServerDialect,
} from "./dialects.ts";

/** A histogram's cumulative buckets (upper bounds in seconds), sum (seconds) and count. */
export interface HistogramReading {
  /** Cumulative counts at or below each bound, ascending; empty for a sum-and-count source. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  /** Sum of the observations, in seconds. */
  readonly sum: number;
  /** Number of observations. */
  readonly count: number;
}

/** One scrape in the common vocabulary; terms the server does not publish are absent. */
export interface Reading {
  /** When the scrape answered, absolute epoch ms. */
  readonly at: number;
  readonly gauges: Partial<Record<GaugeTerm, number>>;
  readonly counters: Partial<Record<CounterTerm, number>>;
  readonly histograms: Partial<Record<HistogramTerm, HistogramReading>>;
  /** For a server llmload does not know: the listed series it has, summed over labels. */
  readonly raw?: Readonly<Record<string, number>>;
}

/** Reads a parsed scrape through `dialect`, or keeps the listed series raw without one. */
export function readScrape(
  exposition: Exposition,
  at: number,
  dialect: ServerDialect | undefined,
): Reading {
  const byName = groupByName(exposition.samples);
  if (dialect === undefined) {
    const raw: Record<string, number> = {};
    for (const name of LISTED_SERIES) {
      const samples = byName.get(name);
      if (samples !== undefined) raw[name] = total(samples);
    }
    return { at, gauges: {}, counters: {}, histograms: {}, raw };
  }
  const gauges: Partial<Record<GaugeTerm, number>> = {};
  for (const [term, source] of entries(dialect.gauges)) {
    const samples = byName.get(source.gauge);
    if (samples !== undefined) gauges[term] = total(samples);
  }
  const counters: Partial<Record<CounterTerm, number>> = {};
  for (const [term, source] of entries(dialect.counters)) {
    const name = "counter" in source ? source.counter : `${source.histogramSum}_sum`;
    const samples = byName.get(name);
    if (samples !== undefined) counters[term] = total(samples);
  }
  const histograms: Partial<Record<HistogramTerm, HistogramReading>> = {};
  for (const [term, source] of entries(dialect.histograms)) {
    const reading = readHistogram(byName, source);
    if (reading !== undefined) histograms[term] = reading;
  }
  return { at, gauges, counters, histograms };
}

function readHistogram(
  byName: ReadonlyMap<string, Sample[]>,
  source: HistogramSource,
): HistogramReading | undefined {
  const scale = SECONDS_PER[source.unit];
  if (!("histogram" in source)) {
    const sum = byName.get(source.sum);
    const count = byName.get(source.count);
    if (sum === undefined || count === undefined) return undefined;
    return { buckets: [], sum: total(sum) * scale, count: total(count) };
  }
  const wanted = (sample: Sample) =>
    Object.entries(source.labels ?? {}).every(([label, value]) => sample.labels[label] === value);
  const count = byName.get(`${source.histogram}_count`)?.filter(wanted);
  if (count === undefined || count.length === 0) return undefined;
  const sum = byName.get(`${source.histogram}_sum`)?.filter(wanted) ?? [];
  const bounds = new Map<number, number>();
  for (const bucket of byName.get(`${source.histogram}_bucket`)?.filter(wanted) ?? []) {
    const le = Number(bucket.labels.le === "+Inf" ? Infinity : bucket.labels.le);
    if (Number.isNaN(le)) continue;
    bounds.set(le, (bounds.get(le) ?? 0) + bucket.value);
  }
  const buckets = [...bounds].sort(([a], [b]) => a - b).map(([le, n]) => ({
    le: le * scale,
    count: n,
  }));
  return { buckets, sum: total(sum) * scale, count: total(count) };
}

/** Increases over a window of scrapes, restarted where a counter went down. */
export interface WindowIncrease {
  readonly counters: Partial<Record<CounterTerm, number>>;
  readonly histograms: Partial<Record<HistogramTerm, HistogramReading>>;
  /** Scrapes at which a counter went down (a server restart), absolute epoch ms. */
  readonly resets: readonly number[];
}

/**
 * Adds up the increase of every counter and histogram from `readings[0]` to the last one. A
 * value below the one before it means the server restarted: that step's increase is the new
 * value itself (counted from zero), and the scrape is listed in `resets`. A series missing from
 * the scrape before counts from zero too: servers create a labelled series at its first use.
 */
export function windowIncrease(readings: readonly Reading[]): WindowIncrease {
  const counters: Partial<Record<CounterTerm, number>> = {};
  const histograms: Partial<Record<HistogramTerm, HistogramReading>> = {};
  const resets = new Set<number>();
  for (let i = 1; i < readings.length; i++) {
    const before = readings[i - 1];
    const after = readings[i];
    for (const [term, value] of entries(after.counters)) {
      const previous = before.counters[term] ?? 0;
      if (value < previous) resets.add(after.at);
      counters[term] = (counters[term] ?? 0) + (value < previous ? value : value - previous);
    }
    for (const [term, value] of entries(after.histograms)) {
      const previous = before.histograms[term];
      const restarted = previous !== undefined && value.count < previous.count;
      if (restarted) resets.add(after.at);
      const step = previous === undefined || restarted ? value : minus(value, previous);
      const sofar = histograms[term];
      histograms[term] = sofar === undefined ? step : plus(sofar, step);
    }
  }
  return { counters, histograms, resets: [...resets] };
}

/** One point of the server series, on the client's time axis (absolute epoch ms). */
export interface ServerPoint {
  /** When the scrape answered. */
  readonly t: number;
  /** Gauges as read, and the rates and ratios of counters since the previous scrape. */
  readonly values: Readonly<Partial<Record<GaugeTerm | "preemptions", number>>>;
}

/**
 * The point of `after`: its gauges, and where counters give them, generated tokens per second,
 * prefix-cache hit rate and spec-decode acceptance over the step from `before` (a counter's
 * rate takes precedence over the server's own gauge of it), and the step's preemptions.
 */
export function pointOf(before: Reading | undefined, after: Reading): ServerPoint {
  const values: Partial<Record<GaugeTerm | "preemptions", number>> = { ...after.gauges };
  if (before !== undefined) {
    const step = windowIncrease([before, after]).counters;
    const seconds = (after.at - before.at) / 1000;
    if (step.generated_tokens !== undefined && seconds > 0) {
      values.generated_tokens_per_s = step.generated_tokens / seconds;
    }
    const hitRate = ratio(step.prefix_cache_hits, step.prefix_cache_queries);
    if (hitRate !== undefined) values.prefix_cache_hit_rate = hitRate;
    const acceptance = ratio(step.spec_decode_accepted_tokens, step.spec_decode_draft_tokens);
    if (acceptance !== undefined) values.spec_decode_acceptance = acceptance;
    if (step.preemptions !== undefined) values.preemptions = step.preemptions;
  }
  return { t: after.at, values };
}

/**
 * The `q` quantile (0 to 1) of a histogram, in seconds, as Prometheus' `histogram_quantile`
 * estimates it: linear within the bucket that holds it, from 0 for the first bucket; the
 * highest finite bound when it falls in `+Inf`. `undefined` without observations or buckets.
 */
export function histogramQuantile(histogram: HistogramReading, q: number): number | undefined {
  const { buckets } = histogram;
  const count = buckets.at(-1)?.count ?? 0;
  if (count <= 0) return undefined;
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket === 0
        ? bucket.le
        : lowerBound + (bucket.le - lowerBound) * (rank - lowerCount) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** One term of the breakdown, in ms: its p50 (where the server has buckets) and its mean. */
export interface BreakdownTerm {
  /** The p50 by the buckets, as `histogram_quantile` estimates it; the mean without buckets. */
  readonly ms: number;
  /** `p50`, or `mean` for a server that publishes only a sum and a count. */
  readonly statistic: "p50" | "mean";
  /** The exact mean, from the histogram's sum and count. */
  readonly meanMs: number;
}

/**
 * "client TTFT p50 = server queue + server prefill + the rest", in ms; the same with means,
 * which are exact where percentiles are only as fine as the server's buckets.
 */
export interface TtftBreakdown {
  /** The client's TTFT p50 over the measured window. */
  readonly clientTtftMs: number;
  /** The server's queue time, absent when it publishes none. */
  readonly queue?: BreakdownTerm;
  /** The server's prefill time, absent when it publishes none. */
  readonly prefill?: BreakdownTerm;
  /** The server's own TTFT, absent when it publishes none. */
  readonly serverTtft?: BreakdownTerm;
  /** Client TTFT less queue and prefill: network, the client, and what the server does not split out. */
  readonly restMs: number;
  /** The client's TTFT mean, and the rest by means: client mean less queue and prefill means. */
  readonly means: { readonly clientTtftMs: number; readonly restMs: number };
}

/** The breakdown of the client's TTFT by the server's histograms' increase over the window. */
export function ttftBreakdown(
  client: { readonly p50Ms: number; readonly meanMs: number },
  histograms: WindowIncrease["histograms"],
): TtftBreakdown {
  const queue = termOf(histograms.queue);
  const prefill = termOf(histograms.prefill);
  const serverTtft = termOf(histograms.ttft);
  const restMs = client.p50Ms - (queue?.ms ?? 0) - (prefill?.ms ?? 0);
  const restMeanMs = client.meanMs - (queue?.meanMs ?? 0) - (prefill?.meanMs ?? 0);
  return {
    clientTtftMs: client.p50Ms,
    ...(queue ? { queue } : {}),
    ...(prefill ? { prefill } : {}),
    ...(serverTtft ? { serverTtft } : {}),
    restMs,
    means: { clientTtftMs: client.meanMs, restMs: restMeanMs },
  };
}

function termOf(histogram: HistogramReading | undefined): BreakdownTerm | undefined {
  if (histogram === undefined || histogram.count <= 0) return undefined;
  const meanMs = histogram.sum / histogram.count * 1000;
  const p50 = histogramQuantile(histogram, 0.5);
  return p50 === undefined
    ? { ms: meanMs, statistic: "mean", meanMs }
    : { ms: p50 * 1000, statistic: "p50", meanMs };
}

function ratio(part: number | undefined, whole: number | undefined): number | undefined {
  return part === undefined || whole === undefined || whole <= 0 ? undefined : part / whole;
}

function minus(a: HistogramReading, b: HistogramReading): HistogramReading {
  return combine(a, b, -1);
}

function plus(a: HistogramReading, b: HistogramReading): HistogramReading {
  return combine(a, b, 1);
}

function combine(a: HistogramReading, b: HistogramReading, sign: 1 | -1): HistogramReading {
  const other = new Map(b.buckets.map(({ le, count }) => [le, count]));
  return {
    buckets: a.buckets.map(({ le, count }) => ({ le, count: count + sign * (other.get(le) ?? 0) })),
    sum: a.sum + sign * b.sum,
    count: a.count + sign * b.count,
  };
}

function groupByName(samples: readonly Sample[]): Map<string, Sample[]> {
  const byName = new Map<string, Sample[]>();
  for (const sample of samples) {
    const list = byName.get(sample.name);
    if (list === undefined) byName.set(sample.name, [sample]);
    else list.push(sample);
  }
  return byName;
}

function total(samples: readonly Sample[]): number {
  return samples.reduce((sum, sample) => sum + sample.value, 0);
}

function entries<K extends string, V>(record: Readonly<Partial<Record<K, V>>>): [K, V][] {
  return Object.entries(record) as [K, V][];
}

/** `a` then `b`: two increases one after the other, as one. */
export function addIncreases(a: WindowIncrease, b: WindowIncrease): WindowIncrease {
  const counters = { ...a.counters };
  for (const [term, value] of entries(b.counters)) counters[term] = (counters[term] ?? 0) + value;
  const histograms = { ...a.histograms };
  for (const [term, value] of entries(b.histograms)) {
    const sofar = histograms[term];
    histograms[term] = sofar === undefined ? value : plus(sofar, value);
  }
  return { counters, histograms, resets: [...a.resets, ...b.resets] };
}

/** No increase yet: the start of a window. */
export const NO_INCREASE: WindowIncrease = { counters: {}, histograms: {}, resets: [] };
