/**
 * Service-level objectives judged per request, as DistServe defines goodput: a request is good
 * when it succeeded and met every bound of the SLO; goodput is the rate of good requests (and of
 * their output tokens), attainment the share of requests that met a bound (or all of them).
 * Judged in the shard's `Recorder`, where each request's own timings are, so the counts are exact
 * and add up across shards, stages and slices.
 *
 * Each bound reads one figure of the request:
 * - `ttft`: its time to first token;
 * - `tpot`: (E2E − TTFT) / (output tokens − 1), as the `tpot` metric (`requestTpot`);
 * - `itl`: its **largest** inter-token gap (every gap within the bound, as a streaming reader
 *   feels it);
 * - `e2e`: its total latency.
 * A reply without decode gaps (one chunk of text) meets `tpot` and `itl`; a reply without a first
 * token time (no text at all) misses `ttft`. A failed request misses every bound.
 *
 * @example
 * ```ts
 * const slo = [{ metric: "ttft", limitMs: 500 }, { metric: "e2e", limitMs: 20_000 }];
 * const counts = emptySloCounts(slo.map((bound) => bound.metric));
 * const mask = judgeRequest(record, slo);
 * addJudgement(counts, { slo, mask, outputTokens: record.outputTokens });
 * ```
 *
 * @module
 */
import type { RequestRecord } from "../request/types.ts";
import { perSecond, requestTpot } from "./metrics.ts";

/** The request figures an SLO bound can read, in display order. */
export const SLO_METRICS = ["ttft", "tpot", "itl", "e2e"] as const;

/** One of {@link SLO_METRICS}. */
export type SloMetric = typeof SLO_METRICS[number];

/** One bound: the request's figure must be at most `limitMs`. */
export interface SloBound {
  /** The figure bounded. */
  readonly metric: SloMetric;
  /** The largest value that meets the bound, in milliseconds. */
  readonly limitMs: number;
}

/** An SLO: bounds on distinct metrics, in the order given. */
export type Slo = readonly SloBound[];

/** How many requests met an SLO, exactly; adds up across recorders. */
export interface SloCounts {
  /** Requests judged: every success and every failure. */
  judged: number;
  /** Requests that met every bound (the good ones). */
  met: number;
  /** Output tokens of the good requests. */
  metOutputTokens: number;
  /** Requests that met each bound, by metric. */
  bounds: Partial<Record<SloMetric, number>>;
}

/** Counts with nothing judged yet, one zero per bounded metric of `metrics`. */
export function emptySloCounts(metrics: readonly SloMetric[]): SloCounts {
  const bounds: SloCounts["bounds"] = {};
  for (const metric of metrics) bounds[metric] = 0;
  return { judged: 0, met: 0, metOutputTokens: 0, bounds };
}

/** The metrics `counts` has a bound on. */
export function sloMetricsOf(counts: SloCounts): SloMetric[] {
  return Object.keys(counts.bounds) as SloMetric[];
}

/** The figure of `rec` that a bound on `metric` reads, in ms; `undefined` when it has none. */
export function sloFigure(rec: RequestRecord, metric: SloMetric): number | undefined {
  switch (metric) {
    case "ttft":
      return rec.ttft;
    case "tpot":
      return requestTpot(rec);
    case "itl":
      return rec.itl.length === 0 ? undefined : Math.max(...rec.itl);
    case "e2e":
      return rec.totalLatency;
  }
}

/**
 * Which bounds of `slo` the successful request `rec` met, as a bit mask: bit `i` is set when
 * `slo[i]` was met. Pure, allocation-free apart from `itl`'s maximum.
 */
export function judgeRequest(rec: RequestRecord, slo: Slo): number {
  let met = 0;
  for (let i = 0; i < slo.length; i++) {
    const { metric, limitMs } = slo[i];
    const figure = sloFigure(rec, metric);
    // No gaps means no decode time to be slow; no first token means no ttft to meet.
    const within = figure === undefined ? metric === "tpot" || metric === "itl" : figure <= limitMs;
    if (within) met |= 1 << i;
  }
  return met;
}

/**
 * Adds one successful request to `counts`: `mask` is what {@link judgeRequest} said of it
 * against `slo`, `outputTokens` its generated tokens.
 */
export function addJudgement(
  counts: SloCounts,
  judged: { readonly slo: Slo; readonly mask: number; readonly outputTokens: number },
): void {
  const { slo } = judged;
  counts.judged++;
  for (let i = 0; i < slo.length; i++) {
    if (judged.mask & (1 << i)) counts.bounds[slo[i].metric]! += 1;
  }
  if (judged.mask === (1 << slo.length) - 1) {
    counts.met++;
    counts.metOutputTokens += judged.outputTokens;
  }
}

/** Adds `part` to `into`, exactly. */
export function addSloCounts(into: SloCounts, part: SloCounts): void {
  into.judged += part.judged;
  into.met += part.met;
  into.metOutputTokens += part.metOutputTokens;
  for (const [metric, met] of Object.entries(part.bounds) as [SloMetric, number][]) {
    into.bounds[metric] = (into.bounds[metric] ?? 0) + met;
  }
}

/** Attainment of SLO counts: overall and per bound, each a share from 0 to 1 (0 when none). */
export interface Attainment {
  /** Share of the judged requests that met every bound. */
  all: number;
  /** Share that met each bound, by metric. */
  bounds: Partial<Record<SloMetric, number>>;
}

/** The attainment of `counts`. */
export function attainmentOf(counts: SloCounts): Attainment {
  const share = (met: number) => counts.judged > 0 ? met / counts.judged : 0;
  const bounds: Attainment["bounds"] = {};
  for (const [metric, met] of Object.entries(counts.bounds) as [SloMetric, number][]) {
    bounds[metric] = share(met);
  }
  return { all: share(counts.met), bounds };
}

/** Goodput of a window, as the results show it. */
export interface Goodput {
  /** Requests judged: every success and failure of the window. */
  judged: number;
  /** Requests that met every bound. */
  met: number;
  /** Good requests per second. */
  requestsPerSec: number;
  /** Output tokens of good requests per second. */
  outputTokensPerSec: number;
  /** Shares of the judged requests that met every bound (`all`) and each bound. */
  attainment: Attainment;
}

/** The goodput of `counts` over a window of `durationMs`. */
export function goodputOf(counts: SloCounts, durationMs: number): Goodput {
  return {
    judged: counts.judged,
    met: counts.met,
    requestsPerSec: perSecond(counts.met, durationMs),
    outputTokensPerSec: perSecond(counts.metOutputTokens, durationMs),
    attainment: attainmentOf(counts),
  };
}
