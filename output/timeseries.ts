/**
 * Per-second points of a run, for the dashboard's charts, `/api/timeseries` and the HTML report,
 * in bounded memory however long the run. The last `recent` points keep their one-second
 * resolution; older points are folded into coarser ones whose span doubles whenever the older
 * part fills up, so a run of a day holds about as many points as a run of half an hour.
 *
 * @example
 * ```ts
 * const series = new TimeSeries();
 * const addView = feedSeries(series);
 * addView(view); // from the coordinator's live hook
 * console.log(series.points().at(-1)?.requestsPerSec);
 * ```
 *
 * @module
 */
import type { LiveView } from "../run/types.ts";
import type { Output } from "./types.ts";

/** What happened during one stretch of a run (one second, or several once folded). */
export interface TimePoint {
  /** Start of the stretch, absolute epoch milliseconds. */
  t: number;
  /** Length of the stretch in milliseconds. */
  durationMs: number;
  /** Requests that completed successfully in the stretch. */
  requests: number;
  /** Requests that failed in the stretch. */
  failures: number;
  /** Output tokens of the successful requests of the stretch. */
  outputTokens: number;
  /** `requests` per second. */
  requestsPerSec: number;
  /** `failures` per second. */
  failuresPerSec: number;
  /** `outputTokens` per second. */
  outputTokensPerSec: number;
  /** Requests in flight at the end of the stretch (time-weighted mean once folded). */
  inFlight: number;
  /** Users, or the in-flight cap in QPS mode, at the end of the stretch. */
  users: number;
  /** QPS target at the end of the stretch; `null` outside QPS mode. */
  targetQps: number | null;
  /** TTFT median in ms; `null` without samples. */
  ttftP50: number | null;
  /** TTFT 99th percentile in ms; `null` without samples. */
  ttftP99: number | null;
  /** Inter-token latency median in ms; `null` without samples. */
  itlP50: number | null;
  /** Inter-token latency 99th percentile in ms; `null` without samples. */
  itlP99: number | null;
  /** Total latency median in ms; `null` without samples. */
  latencyP50: number | null;
  /** Total latency 99th percentile in ms; `null` without samples. */
  latencyP99: number | null;
}

/** Sizes of a {@link TimeSeries}. */
export interface TimeSeriesOptions {
  /** Newest points kept at full resolution. Default 600 (ten minutes of seconds). */
  recent?: number;
  /** Older, folded points kept before their span doubles. Default 600. */
  older?: number;
  /** Span of an older point when folding starts, in ms. Default 10,000. */
  olderSpanMs?: number;
}

/** Points shorter than this (the last, partial second of a run) join the point before them. */
const MIN_POINT_MS = 250;

/**
 * Turns one live view into the point for the stretch since the previous view.
 * `previousNow` is the previous view's `now`, or the start of load for the first view.
 */
export function pointFromView(view: LiveView, previousNow: number): TimePoint {
  const counts = view.interval.counts();
  const durationMs = Math.max(0, view.now - previousNow);
  const perSecond = (amount: number) => durationMs > 0 ? amount / (durationMs / 1000) : 0;
  const ttft = view.interval.metric("ttft");
  const itl = view.interval.metric("itl");
  const latency = view.interval.metric("total_latency");
  return {
    t: previousNow,
    durationMs,
    requests: counts.ok,
    failures: counts.failed,
    outputTokens: counts.outputTokens,
    requestsPerSec: perSecond(counts.ok),
    failuresPerSec: perSecond(counts.failed),
    outputTokensPerSec: perSecond(counts.outputTokens),
    inFlight: view.inFlight,
    users: view.load.users,
    targetQps: view.load.qps ?? null,
    ttftP50: ttft?.p50 ?? null,
    ttftP99: ttft?.p99 ?? null,
    itlP50: itl?.p50 ?? null,
    itlP99: itl?.p99 ?? null,
    latencyP50: latency?.p50 ?? null,
    latencyP99: latency?.p99 ?? null,
  };
}

/**
 * Returns a function that turns each live view into a point of `series`, remembering when the
 * previous view was taken. The series covers the measured window only: when stats reset after
 * warm-up, the warm-up points are dropped and the next point starts at the reset, so the points
 * always add up to the run's results.
 */
export function feedSeries(series: TimeSeries): (view: LiveView) => void {
  let previousNow: number | undefined;
  let windowStart: number | undefined;
  return function addView(view: LiveView) {
    if (windowStart !== undefined && view.windowStart !== windowStart) {
      series.clear();
      previousNow = view.windowStart;
    }
    windowStart = view.windowStart;
    series.add(pointFromView(view, previousNow ?? view.windowStart));
    previousNow = view.now;
  };
}

/**
 * Folds consecutive points into one that spans them all. Counts add up and rates are taken over
 * the whole span. Percentiles cannot be merged exactly without the histograms, so a folded
 * median is the mean of the medians weighted by requests, and a folded p99 is the largest p99:
 * the tail is never hidden by folding.
 */
export function foldPoints(points: readonly TimePoint[]): TimePoint {
  if (points.length === 0) throw new Error("Cannot fold an empty list of points");
  const first = points[0];
  const last = points[points.length - 1];
  const durationMs = points.reduce((sum, point) => sum + point.durationMs, 0);
  const total = (pick: (point: TimePoint) => number) =>
    points.reduce((sum, point) => sum + pick(point), 0);
  const requests = total((point) => point.requests);
  const failures = total((point) => point.failures);
  const outputTokens = total((point) => point.outputTokens);
  const perSecond = (amount: number) => durationMs > 0 ? amount / (durationMs / 1000) : 0;
  const inFlight = durationMs > 0
    ? total((point) => point.inFlight * point.durationMs) / durationMs
    : last.inFlight;
  return {
    t: first.t,
    durationMs,
    requests,
    failures,
    outputTokens,
    requestsPerSec: perSecond(requests),
    failuresPerSec: perSecond(failures),
    outputTokensPerSec: perSecond(outputTokens),
    inFlight,
    users: last.users,
    targetQps: last.targetQps,
    ttftP50: weightedMedian(points, (point) => point.ttftP50),
    ttftP99: largest(points, (point) => point.ttftP99),
    itlP50: weightedMedian(points, (point) => point.itlP50),
    itlP99: largest(points, (point) => point.itlP99),
    latencyP50: weightedMedian(points, (point) => point.latencyP50),
    latencyP99: largest(points, (point) => point.latencyP99),
  };
}

function weightedMedian(
  points: readonly TimePoint[],
  pick: (point: TimePoint) => number | null,
): number | null {
  let sum = 0;
  let weight = 0;
  for (const point of points) {
    const value = pick(point);
    if (value === null) continue;
    // Percentiles come from completed requests, so requests > 0 here; the floor is a guard.
    const w = Math.max(1, point.requests);
    sum += value * w;
    weight += w;
  }
  return weight > 0 ? sum / weight : null;
}

function largest(
  points: readonly TimePoint[],
  pick: (point: TimePoint) => number | null,
): number | null {
  let max: number | null = null;
  for (const point of points) {
    const value = pick(point);
    if (value !== null && (max === null || value > max)) max = value;
  }
  return max;
}

/**
 * The points of one run, oldest first, in bounded memory: at most `recent + older + 1` points
 * are held, whatever the length of the run.
 */
export class TimeSeries {
  readonly #recentLimit: number;
  readonly #olderLimit: number;
  #recent: TimePoint[] = [];
  #older: TimePoint[] = [];
  // Recent points evicted but not yet enough to fill one older point.
  #pending: TimePoint[] = [];
  #olderSpanMs: number;
  readonly #initialOlderSpanMs: number;

  /** Creates an empty series. */
  constructor(options: TimeSeriesOptions = {}) {
    this.#recentLimit = Math.max(1, options.recent ?? 600);
    this.#olderLimit = Math.max(2, options.older ?? 600);
    this.#olderSpanMs = Math.max(1, options.olderSpanMs ?? 10_000);
    this.#initialOlderSpanMs = this.#olderSpanMs;
  }

  /** Appends the newest point; a very short one (a run's last partial second) joins the previous. */
  add(point: TimePoint): void {
    const previous = this.#recent.at(-1);
    if (point.durationMs < MIN_POINT_MS && previous) {
      this.#recent[this.#recent.length - 1] = foldPoints([previous, point]);
      return;
    }
    this.#recent.push(point);
    if (this.#recent.length > this.#recentLimit) this.#age(this.#recent.shift()!);
  }

  /** Drops every point (the run's stats were reset); sizes start over as when new. */
  clear(): void {
    this.#recent = [];
    this.#older = [];
    this.#pending = [];
    this.#olderSpanMs = this.#initialOlderSpanMs;
  }

  /** Every point, oldest first: folded older points, then the recent one-second points. */
  points(): TimePoint[] {
    const pending = this.#pending.length > 0 ? [foldPoints(this.#pending)] : [];
    return [...this.#older, ...pending, ...this.#recent];
  }

  /** Span of the older, folded points in ms (they are at most this long). */
  get olderSpanMs(): number {
    return this.#olderSpanMs;
  }

  /** Number of points held. */
  get size(): number {
    return this.#older.length + (this.#pending.length > 0 ? 1 : 0) + this.#recent.length;
  }

  #age(point: TimePoint) {
    this.#pending.push(point);
    const span = this.#pending.reduce((sum, p) => sum + p.durationMs, 0);
    if (span < this.#olderSpanMs) return;
    this.#older.push(foldPoints(this.#pending));
    this.#pending = [];
    if (this.#older.length < this.#olderLimit) return;
    // Full: halve the count by folding neighbours, and make future older points twice as long.
    const folded: TimePoint[] = [];
    for (let i = 0; i < this.#older.length; i += 2) {
      folded.push(foldPoints(this.#older.slice(i, i + 2)));
    }
    this.#older = folded;
    this.#olderSpanMs *= 2;
  }
}

/** Feeds every live view into `series` (see {@link feedSeries}); for the HTML report's points. */
export function timeseriesOutput(series: TimeSeries): Output {
  return { name: "time series", observe: feedSeries(series) };
}
