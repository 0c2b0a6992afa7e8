/**
 * A window of a run summarised on its own: counts, rates, goodput and the latency percentiles
 * people read first. Time slices (`--slice`) are kept as such summaries, without histograms, so
 * that a long run with short slices stays small.
 *
 * @module
 */
import type { StatsSnapshot } from "./aggregate.ts";
import type { MetricSummary } from "./histogram.ts";
import { perSecond } from "./metrics.ts";
import { type Goodput, goodputOf } from "./slo.ts";

/** The metrics a window summary keeps. */
export const WINDOW_METRICS = ["ttft", "itl", "tpot", "total_latency"] as const;

/** One of {@link WINDOW_METRICS}. */
export type WindowMetric = typeof WINDOW_METRICS[number];

/** One window of a run, summarised. */
export interface WindowSummary {
  /** Requests that completed in the window: `ok`, `failed`, `total`. */
  requests: { ok: number; failed: number; total: number };
  /** Rates over the window's length. */
  throughput: { requestsPerSec: number; outputTokensPerSec: number };
  /** Goodput under `--slo`; absent without one. */
  goodput?: Goodput;
  /** TTFT, ITL, TPOT and E2E (`total_latency`) in ms; metrics without samples are absent. */
  metrics: Partial<Record<WindowMetric, MetricSummary>>;
}

/** The summary of a window whose stats are `snapshot`, `durationMs` long. */
export function summariseWindow(snapshot: StatsSnapshot, durationMs: number): WindowSummary {
  const metrics: WindowSummary["metrics"] = {};
  for (const name of WINDOW_METRICS) {
    const summary = snapshot.metrics[name];
    if (summary) metrics[name] = summary;
  }
  return {
    requests: { ok: snapshot.ok, failed: snapshot.failed, total: snapshot.ok + snapshot.failed },
    throughput: {
      requestsPerSec: perSecond(snapshot.ok, durationMs),
      outputTokensPerSec: perSecond(snapshot.tokens.output, durationMs),
    },
    ...(snapshot.slo ? { goodput: goodputOf(snapshot.slo, durationMs) } : {}),
    metrics,
  };
}
