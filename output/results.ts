/**
 * The results of a run as one versioned, self-contained object: what was run, what was measured,
 * and the histograms themselves so runs can be merged later. Written as JSON by
 * `writeResultsJson`, served live at `/api/results`.
 *
 * @module
 */

import denoConfig from "../deno.json" with { type: "json" };
import type { Aggregate } from "../stats/aggregate.ts";
import type { MetricSummary } from "../stats/histogram.ts";
import {
  METRIC_NAMES,
  METRIC_UNITS,
  type MetricName,
  type MetricUnit,
  perSecond,
} from "../stats/metrics.ts";
import type { FailureStats, StatsDelta, TokenStats } from "../stats/types.ts";
import type { StatsSnapshot } from "../stats/aggregate.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { redactConfig, type Redacted } from "../common/secrets.ts";
import type { ClientSummary } from "../run/client_monitor.ts";
import type { PushTally } from "./postgres/queue.ts";
import type { FailureKind } from "../request/types.ts";
import type { RunConfig } from "../options/types.ts";
import type { WorkloadFacts } from "../load/pool_builder.ts";
import { type Goodput, goodputOf, type Slo } from "../stats/slo.ts";
import { checkThresholds, type ThresholdVerdict } from "../stats/thresholds.ts";
import type { Stage } from "../options/goal_parsers.ts";
import type { SliceSummary } from "../run/slices.ts";
import type { StageOutcome } from "../run/types.ts";
import type { ServerMetricsReport } from "../server_metrics/scraper.ts";
import { type ServerMetricsResults, summarizeServerMetrics } from "../server_metrics/summary.ts";

/** Version of the `Results` layout; bumped on any incompatible change. */
export const RESULTS_SCHEMA_VERSION = 1;

/** One metric's summary together with its unit. */
export interface MetricResult extends MetricSummary {
  /** `ms`, `ms/token`, `ms/char` or `tokens`; every number of this metric is in it. */
  unit: MetricUnit;
}

/** Everything a run produced. Version 1. */
export interface Results {
  /** Layout version, `1`. */
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  /** The program that measured. */
  tool: {
    /** Always `llmload`. */
    name: string;
    /** Its version. */
    version: string;
  };
  /** Provider dialect used (given or guessed). */
  provider: string;
  /** Model the requests named. */
  model: string;
  /** The run configuration, without the API key and without credential headers. */
  config: Redacted<RunConfig>;
  /** Start of the measured window (after warm-up), ISO 8601. */
  startedAt: string;
  /** End of the measured window, ISO 8601. */
  endedAt: string;
  /** Length of the measured window in milliseconds; every rate is computed over it. */
  durationMs: number;
  /** `true` when these are live results of a run still going, or of a run cut short. */
  partial: boolean;
  /** Request counts. */
  requests: {
    /** Requests that completed successfully. */
    ok: number;
    /** Requests that failed, any kind. */
    failed: number;
    /** `ok + failed`. */
    total: number;
  };
  /** Rates over `durationMs`. */
  throughput: {
    /** Successful requests per second. */
    requestsPerSec: number;
    /** Generated tokens per second, successful requests only. */
    outputTokensPerSec: number;
    /** Prompt plus generated tokens per second, successful requests only. */
    totalTokensPerSec: number;
    /** `--mode embeddings` and `rerank`: prompt tokens per second, successful requests only. */
    promptTokensPerSec?: number;
    /** `--mode embeddings`: inputs embedded per second, successful requests only. */
    inputsPerSec?: number;
    /** `--mode rerank`: documents ranked per second, successful requests only. */
    documentsPerSec?: number;
  };
  /**
   * Per-metric summaries (count, mean, min, max, p50, p90, p95, p99, p999), keyed by metric name
   * (`ttft`, `ttfvt`, `total_latency`, `tpot`, `itl`, `latency_per_token`,
   * `overall_latency_per_token`, `latency_per_char`, `send_lag`, `ttft_intended`,
   * `total_latency_intended`, `ttft_cache_hit`, `ttft_cache_miss`, `num_tokens`,
   * `prompt_tokens`). Metrics without samples are absent.
   */
  metrics: Partial<Record<MetricName, MetricResult>>;
  /** Failures by kind (`http_4xx`, `http_5xx`, ...); kinds without failures are absent. */
  failures: Partial<Record<FailureKind, FailureStats>>;
  /** Token and character totals, where counts came from, and `max_tokens` mismatches. */
  tokens: TokenStats;
  /** Sends delayed because the in-flight cap (`-u` in QPS mode) was reached. */
  capped: number;
  /**
   * The client's own load: `verdict` (`ok`, `cpu-bound` or `delayed` by other processes), peak
   * CPU share of the cores its shards use, worst event-loop lag, and how many of the ~1 s
   * samples were CPU-bound or delayed. Either means timings include delay not the server's.
   */
  client?: ClientSummary;
  /**
   * Requests still in flight when the stop cut them off (after `--stop-grace` or a second
   * Ctrl+C), with the shortest and longest time they had waited; absent when there were none.
   * They are neither `ok` nor `failed`.
   */
  cutOff?: CutOff;
  /**
   * The live push to PostgreSQL (`--pg`): rows `written`, rows `lost` (dropped from the full
   * buffer or not written by the end), `failedWrites` retried, and the `lastError`; absent
   * without `--pg`.
   */
  pg?: PushTally;
  /**
   * What the prompts were: `source` (`dataset`, `generated`, `text`), distinct `prompts`,
   * `promptTokens` (`min`, `p50`, `p90`, `max`), the drawn `promptTokensDistribution`, and per
   * dataset file its `path`, `format`, `weight`, rows `read`, `kept` and `dropped` by reason.
   * Absent for results not measured live.
   */
  workload?: WorkloadFacts;
  /**
   * Multi-turn sessions (`--turns`, `--dataset-sessions`): per turn index, in order, its
   * `requests`, `tokens`, `metrics` and `histograms` as the top level has them for the whole
   * run. Absent without sessions.
   */
  turns?: TurnResult[];
  /**
   * With `--slo`: the `slo` bounds, the requests `judged` (ok and failed) and `met` (every bound),
   * goodput as `requestsPerSec` and `outputTokensPerSec` of the good requests, and `attainment`
   * (`all`, and per bound by metric) as shares from 0 to 1. Absent without `--slo`.
   */
  goodput?: GoodputResult;
  /**
   * With `--threshold`: `passed` (every threshold held), `abortedBy` (the one that stopped the
   * run with `--abort-on-threshold`) and `checks`, each `{threshold, value, pass}` with the value
   * in the threshold's unit (`null` when nothing was measured).
   */
  thresholds?: ThresholdResults;
  /**
   * With `--stages`: each stage that began, in order: the `stage` (`durationMs`, `users` or
   * `qps`), `startedAt`/`endedAt` (ISO 8601), `durationMs`, and its `requests`, `throughput`,
   * `goodput`, `metrics` and `histograms` as the top level has them. A request counts in the
   * stage it completed in.
   */
  stages?: StageResult[];
  /**
   * With `--slice`: each slice of the measured window, in order: `startMs` (after the window's
   * start), `durationMs`, `requests`, `throughput` (`requestsPerSec`, `outputTokensPerSec`),
   * `goodput` and `metrics` (`ttft`, `itl`, `tpot`, `total_latency` summaries).
   */
  slices?: SliceSummary[];
  /**
   * The shards of a distributed run (`--shard`) these results hold: `count` processes in the run,
   * the `indices` here (one for a shard's own file, several after `llmload merge`) and the
   * `startAt` they shared (ISO 8601). Absent for a run of one process.
   */
  shards?: ShardsInfo;
  /**
   * The server's own metrics (`--server-metrics`): `url`, `dialect`, `scrapes`,
   * `failedScrapes`, `resets` (server restarts seen), the `window`'s counter and histogram
   * increases, the TTFT `breakdown` and the per-scrape `series`. Absent when not scraped.
   */
  serverMetrics?: ServerMetricsResults;
  /** Things the user should know about this run, one sentence each. */
  warnings: string[];
  /**
   * HDR histograms per metric, `hdr-histogram-js` `encodeIntoCompressedBase64` (3 significant
   * digits). Time metrics are recorded in integer microseconds, count metrics in tokens.
   */
  histograms: Partial<Record<MetricName, string>>;
}

/** The goodput of a window, with the SLO it was judged against. */
export interface GoodputResult extends Goodput {
  /** The bounds, in ms, as `--slo` gave them. */
  slo: Slo;
}

/** The verdicts of `--threshold`. */
export interface ThresholdResults {
  /** Whether every threshold held (and none stopped the run). */
  passed: boolean;
  /** The threshold that stopped the run early, and its value; absent when none did. */
  abortedBy?: string;
  /** Each threshold checked on the whole measured window, in order. */
  checks: ThresholdVerdict[];
}

/** One stage of `--stages`, as the results' `stages` section holds it. */
export interface StageResult {
  /** The stage as given. */
  stage: Stage;
  /** When it began, ISO 8601. */
  startedAt: string;
  /** When it ended, ISO 8601. */
  endedAt: string;
  /** Its length in ms; its rates are over it. */
  durationMs: number;
  /** Its requests: `ok`, `failed`, `total`. */
  requests: Results["requests"];
  /** Its rates. */
  throughput: Results["throughput"];
  /** Its goodput under `--slo`; absent without one. */
  goodput?: GoodputResult;
  /** Per-metric summaries, as the top-level `metrics`. */
  metrics: Partial<Record<MetricName, MetricResult>>;
  /** HDR histograms per metric, as the top-level `histograms`. */
  histograms: Partial<Record<MetricName, string>>;
}

/** What `buildResults` needs beyond the measurements. */
export interface RunInfo {
  /** Provider dialect used. */
  provider: string;
  /** Model the requests named. */
  model: string;
  /** The run configuration; redacted before it goes into the results. */
  config: RunConfig;
  /** Start of the measured window: a `Date` or epoch milliseconds. */
  startedAt: Date | number;
  /** End of the measured window: a `Date` or epoch milliseconds. */
  endedAt: Date | number;
  /** Length of the measured window in milliseconds. */
  durationMs: number;
  /** Live or cut-short results; default `false`. */
  partial?: boolean;
  /** How hard the client itself worked; absent for results not measured live. */
  client?: ClientSummary;
  /** Warnings to carry; default none. */
  warnings?: readonly string[];
  /** Requests cut off by the stop; absent when there were none. */
  cutOff?: CutOff;
  /** What the prompts were; absent when not known. */
  workload?: WorkloadFacts;
  /** The `--stages` stages that began; absent without stages. */
  stages?: readonly StageOutcome[];
  /** The `--slice` slices; absent without slices. */
  slices?: readonly SliceSummary[];
  /** The threshold that stopped the run early; absent when none did. */
  thresholdAbort?: string;
  /** What became of the rows pushed to PostgreSQL; absent without `--pg`. */
  pg?: PushTally;
  /** What scraping the server's metrics found; absent when not scraped. */
  serverMetrics?: ServerMetricsReport;
  /** The shards held; default the one `config.shard` names (absent without `--shard`). */
  shards?: ShardsInfo;
}

/** Which shards of a distributed run results hold (see `Results.shards`). */
export interface ShardsInfo {
  /** Processes the run was split over (`N` of `--shard I/N`). */
  count: number;
  /** The shard indices these results hold, in order. */
  indices: number[];
  /** The `--start-at` every shard shared, ISO 8601. */
  startAt: string;
}

/** One turn index of multi-turn sessions, as the results' `turns` section holds it. */
export interface TurnResult {
  /** Turn index, 1 for a session's first request. */
  turn: number;
  /** Requests of this turn: `ok`, `failed`, and `total` (`ok + failed`). */
  requests: { ok: number; failed: number; total: number };
  /** Output and prompt tokens summed over its successful requests. */
  tokens: { output: number; prompt: number };
  /** Per-metric summaries, as the top-level `metrics` (metrics without samples are absent). */
  metrics: Partial<Record<MetricName, MetricResult>>;
  /** HDR histograms per metric, encoded as the top-level `histograms`. */
  histograms: Partial<Record<MetricName, string>>;
}

/** Requests cut off by the stop: how many, and how long they had waited (ms). */
export interface CutOff {
  /** Requests cut off. */
  requests: number;
  /** Shortest wait, from send to cut-off, in ms. */
  minWaitMs: number;
  /** Longest wait, from send to cut-off, in ms. */
  maxWaitMs: number;
}

/** Builds the results object from an aggregate and what the run knows about itself. */
export function buildResults(aggregate: Aggregate, info: RunInfo): Results {
  const snapshot = aggregate.snapshot();
  const delta = aggregate.toDelta();
  const { metrics, histograms } = metricResults(snapshot, delta);
  const turns = turnResults(snapshot, delta);
  const { tokens } = snapshot;
  const slo = info.config.slo;
  const goodput = slo && snapshot.slo
    ? { slo, ...goodputOf(snapshot.slo, info.durationMs) }
    : undefined;
  const thresholds = info.config.thresholds && thresholdResults(info, snapshot);
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: "llmload", version: denoConfig.version },
    provider: info.provider,
    model: info.model,
    config: redactConfig(info.config),
    startedAt: new Date(info.startedAt).toISOString(),
    endedAt: new Date(info.endedAt).toISOString(),
    durationMs: info.durationMs,
    partial: info.partial ?? false,
    requests: {
      ok: snapshot.ok,
      failed: snapshot.failed,
      total: snapshot.ok + snapshot.failed,
    },
    throughput: {
      ...throughputOf(snapshot, info.durationMs),
      ...textRates(info.config.mode, snapshot.tokens, info.durationMs),
    },
    metrics,
    failures: snapshot.failures,
    tokens,
    capped: snapshot.capped,
    ...(info.client ? { client: info.client } : {}),
    ...(info.cutOff ? { cutOff: { ...info.cutOff } } : {}),
    ...(info.pg ? { pg: { ...info.pg } } : {}),
    ...(info.workload ? { workload: info.workload } : {}),
    ...(turns ? { turns } : {}),
    ...(goodput ? { goodput } : {}),
    ...(thresholds ? { thresholds } : {}),
    ...(info.stages ? { stages: info.stages.map((stage) => stageResult(stage, slo)) } : {}),
    ...(info.slices ? { slices: [...info.slices] } : {}),
    ...shardsOf(info),
    ...(info.serverMetrics
      ? {
        serverMetrics: summarizeServerMetrics(
          info.serverMetrics,
          metrics.ttft && { p50Ms: metrics.ttft.p50, meanMs: metrics.ttft.mean },
        ),
      }
      : {}),
    warnings: [...(info.warnings ?? [])],
    histograms,
  };
}

function throughputOf(snapshot: StatsSnapshot, durationMs: number): Results["throughput"] {
  const { tokens } = snapshot;
  return {
    requestsPerSec: perSecond(snapshot.ok, durationMs),
    outputTokensPerSec: perSecond(tokens.output, durationMs),
    totalTokensPerSec: perSecond(tokens.output + tokens.prompt, durationMs),
  };
}

/** The verdict of every `--threshold` on the whole window. */
function thresholdResults(info: RunInfo, snapshot: StatsSnapshot): ThresholdResults {
  const checks = checkThresholds(info.config.thresholds!, {
    snapshot,
    durationMs: info.durationMs,
  });
  return {
    passed: info.thresholdAbort === undefined && checks.every((check) => check.pass),
    ...(info.thresholdAbort ? { abortedBy: info.thresholdAbort } : {}),
    checks,
  };
}

/** One stage's section of the results. */
function stageResult(outcome: StageOutcome, slo: Slo | undefined): StageResult {
  const snapshot = outcome.aggregate.snapshot();
  const durationMs = outcome.endedAt - outcome.startedAt;
  return {
    stage: outcome.stage,
    startedAt: new Date(outcome.startedAt).toISOString(),
    endedAt: new Date(outcome.endedAt).toISOString(),
    durationMs,
    requests: { ok: snapshot.ok, failed: snapshot.failed, total: snapshot.ok + snapshot.failed },
    throughput: throughputOf(snapshot, durationMs),
    ...(slo && snapshot.slo ? { goodput: { slo, ...goodputOf(snapshot.slo, durationMs) } } : {}),
    ...metricResults(snapshot, outcome.aggregate.toDelta()),
  };
}

/** The rates of the modes that send texts instead of generating: prompt tokens and texts/s. */
function textRates(
  mode: RunConfig["mode"] | undefined,
  tokens: TokenStats,
  durationMs: number,
): Partial<Results["throughput"]> {
  if (mode === undefined || mode === "generate") return {};
  const texts = perSecond(tokens.inputs, durationMs);
  return {
    promptTokensPerSec: perSecond(tokens.prompt, durationMs),
    ...(mode === "embeddings" ? { inputsPerSec: texts } : { documentsPerSec: texts }),
  };
}

/** The `shards` section: the given one, else the shard of `--shard`; none without either. */
function shardsOf(info: RunInfo): { shards?: ShardsInfo } {
  if (info.shards !== undefined) return { shards: info.shards };
  const { shard, startAt } = info.config;
  if (shard === undefined || startAt === undefined) return {};
  return {
    shards: {
      count: shard.count,
      indices: [shard.index],
      startAt: new Date(startAt).toISOString(),
    },
  };
}

/** Each metric's summary with its unit, and its encoded histogram. */
function metricResults(snapshot: StatsSnapshot, delta: StatsDelta): {
  metrics: Partial<Record<MetricName, MetricResult>>;
  histograms: Partial<Record<MetricName, string>>;
} {
  const metrics: Partial<Record<MetricName, MetricResult>> = {};
  const histograms: Partial<Record<MetricName, string>> = {};
  for (const name of METRIC_NAMES) {
    const summary = snapshot.metrics[name];
    if (summary) metrics[name] = { unit: METRIC_UNITS[name], ...summary };
    const part = delta.metrics[name];
    if (part) histograms[name] = part.histogram;
  }
  return { metrics, histograms };
}

/** The `turns` section of multi-turn sessions, in turn order; `undefined` without sessions. */
function turnResults(snapshot: StatsSnapshot, delta: StatsDelta): TurnResult[] | undefined {
  if (snapshot.turns === undefined) return undefined;
  return Object.entries(snapshot.turns).map(([turn, stats]) => ({
    turn: Number(turn),
    requests: { ok: stats.ok, failed: stats.failed, total: stats.ok + stats.failed },
    tokens: { output: stats.tokens.output, prompt: stats.tokens.prompt },
    // The snapshot and the delta list the same turns: both were taken in this one call.
    ...metricResults(stats, delta.turns![turn]),
  }));
}

/**
 * Writes results as pretty JSON. The text goes to a temporary file next to `path` that is then
 * renamed over it, so a failed write never leaves a truncated or half-written results file.
 */
export async function writeResultsJson(path: string, results: Results): Promise<void> {
  // Serialise first: a throw here must happen before any file is touched.
  const bytes = new TextEncoder().encode(JSON.stringify(results, null, 2) + "\n");
  await writeFileAtomic(path, bytes, "results");
}
