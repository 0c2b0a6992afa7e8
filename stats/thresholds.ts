/**
 * Pass/fail thresholds on what a run measured, k6 style (`ttft.p99<800ms`, `fail_ratio<0.01`,
 * `goodput>=0.95`): which figures a threshold can name, how each is measured from a
 * `StatsSnapshot`, and the verdict. Pure: the coordinator checks them live (with
 * `--abort-on-threshold`), the results carry the final verdicts, the CLI turns a failure into
 * exit code 3.
 *
 * @example
 * ```ts
 * const verdicts = checkThresholds(thresholds, { snapshot: aggregate.snapshot(), durationMs });
 * if (verdicts.some((verdict) => !verdict.pass)) Deno.exit(3);
 * ```
 *
 * @module
 */
import type { StatsSnapshot } from "./aggregate.ts";
import type { MetricSummary } from "./histogram.ts";
import { METRIC_NAMES, type MetricName, perSecond } from "./metrics.ts";
import { attainmentOf, SLO_METRICS, type SloMetric } from "./slo.ts";

/** The statistics a threshold on a metric can read. */
export const THRESHOLD_STATS = ["mean", "min", "max", "p50", "p90", "p95", "p99", "p999"] as const;

/** One of {@link THRESHOLD_STATS}. */
export type ThresholdStat = typeof THRESHOLD_STATS[number];

/** Figures of the whole run a threshold can name alone (no `.stat`). */
export const RUN_FIGURES = [
  "fail_ratio",
  "requests_per_s",
  "output_tokens_per_s",
  "goodput",
  "goodput_requests_per_s",
  "goodput_tokens_per_s",
] as const;

/** One of {@link RUN_FIGURES}. */
export type RunFigure = typeof RUN_FIGURES[number];

/** `e2e` names `total_latency` in thresholds, as in `--slo`. */
const METRIC_ALIASES: Readonly<Record<string, MetricName>> = { e2e: "total_latency" };

/** How a threshold compares the measured value with its limit. */
export type ThresholdOperator = "<" | "<=" | ">" | ">=";

/** What a threshold measures. */
export type ThresholdFigure =
  | { readonly kind: "metric"; readonly metric: MetricName; readonly stat: ThresholdStat }
  | { readonly kind: "run"; readonly figure: RunFigure }
  | { readonly kind: "attainment"; readonly metric: SloMetric };

/** One parsed threshold. */
export interface Threshold {
  /** The expression as given, e.g. `ttft.p99<800ms`. */
  readonly text: string;
  /** What it measures. */
  readonly figure: ThresholdFigure;
  /** How the measured value must compare with `limit`. */
  readonly operator: ThresholdOperator;
  /** The limit, in the figure's unit (ms for time metrics, a share from 0 to 1 for ratios). */
  readonly limit: number;
}

/** A threshold checked: what was measured and whether it held. */
export interface ThresholdVerdict {
  /** The expression as given. */
  readonly threshold: string;
  /** The measured value in the limit's unit; `null` when nothing was measured (a failure). */
  readonly value: number | null;
  /** Whether the measured value met the limit. */
  readonly pass: boolean;
}

/** What thresholds are measured on: the window's stats and its length. */
export interface ThresholdInput {
  /** The measured window, summarised. */
  readonly snapshot: StatsSnapshot;
  /** Its length in ms, for the rates. */
  readonly durationMs: number;
}

/** Every name a threshold accepts, for error messages: `ttft.p99`, `fail_ratio`, .... */
export function thresholdNames(): string {
  const metrics = [...METRIC_NAMES, ...Object.keys(METRIC_ALIASES)].join("|");
  return `<${metrics}>.<${THRESHOLD_STATS.join("|")}>, ${RUN_FIGURES.join(", ")}, ` +
    `attainment.<${SLO_METRICS.join("|")}>`;
}

/** The figure `name` names (`ttft.p99`, `goodput`, `attainment.ttft`), or `undefined`. */
export function thresholdFigure(name: string): ThresholdFigure | undefined {
  if ((RUN_FIGURES as readonly string[]).includes(name)) {
    return { kind: "run", figure: name as RunFigure };
  }
  const [head, tail, ...rest] = name.split(".");
  if (tail === undefined || rest.length > 0) return undefined;
  if (head === "attainment") {
    return (SLO_METRICS as readonly string[]).includes(tail)
      ? { kind: "attainment", metric: tail as SloMetric }
      : undefined;
  }
  const metric = METRIC_ALIASES[head] ??
    ((METRIC_NAMES as readonly string[]).includes(head) ? head as MetricName : undefined);
  if (metric === undefined || !(THRESHOLD_STATS as readonly string[]).includes(tail)) {
    return undefined;
  }
  return { kind: "metric", metric, stat: tail as ThresholdStat };
}

/** Whether `figure` reads SLO counts (and so needs `--slo`). */
export function needsSlo(figure: ThresholdFigure): boolean {
  return figure.kind === "attainment" ||
    (figure.kind === "run" && figure.figure.startsWith("goodput"));
}

/** The value `figure` has in `input`, in its unit; `undefined` while it has none. */
export function measureFigure(figure: ThresholdFigure, input: ThresholdInput): number | undefined {
  const { snapshot, durationMs } = input;
  if (figure.kind === "metric") {
    const summary: MetricSummary | undefined = snapshot.metrics[figure.metric];
    return summary?.[figure.stat];
  }
  const slo = snapshot.slo;
  if (figure.kind === "attainment") {
    return slo && slo.judged > 0 ? attainmentOf(slo).bounds[figure.metric] : undefined;
  }
  const total = snapshot.ok + snapshot.failed;
  switch (figure.figure) {
    case "fail_ratio":
      return total > 0 ? snapshot.failed / total : undefined;
    case "requests_per_s":
      return perSecond(snapshot.ok, durationMs);
    case "output_tokens_per_s":
      return perSecond(snapshot.tokens.output, durationMs);
    case "goodput":
      return slo && slo.judged > 0 ? attainmentOf(slo).all : undefined;
    case "goodput_requests_per_s":
      return slo && perSecond(slo.met, durationMs);
    case "goodput_tokens_per_s":
      return slo && perSecond(slo.metOutputTokens, durationMs);
  }
}

/** Whether `value` compares with `limit` as `operator` says. */
function holds(value: number, operator: ThresholdOperator, limit: number): boolean {
  switch (operator) {
    case "<":
      return value < limit;
    case "<=":
      return value <= limit;
    case ">":
      return value > limit;
    case ">=":
      return value >= limit;
  }
}

/**
 * Each threshold's verdict on `input`, in order. A figure with nothing measured fails at the end
 * of a run; `live` checks skip it instead (the run may yet measure it).
 */
export function checkThresholds(
  thresholds: readonly Threshold[],
  input: ThresholdInput,
  options: { readonly live?: boolean } = {},
): ThresholdVerdict[] {
  const verdicts: ThresholdVerdict[] = [];
  for (const threshold of thresholds) {
    const value = measureFigure(threshold.figure, input);
    if (value === undefined && options.live) continue;
    verdicts.push({
      threshold: threshold.text,
      value: value ?? null,
      pass: value !== undefined && holds(value, threshold.operator, threshold.limit),
    });
  }
  return verdicts;
}
