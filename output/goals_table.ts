/**
 * The console's goal sections, from the results' `goodput`, `stages` and `thresholds`: goodput
 * and attainment under `--slo`, one row per `--stages` stage, and the pass/fail table of
 * `--threshold`. Pure; `formatMetricTable` places them before the throughput lines.
 *
 * @module
 */
import { formatDuration } from "../options/duration.ts";
import { describeStage } from "../run/stages.ts";
import type { MetricName } from "../stats/metrics.ts";
import { SLO_METRICS } from "../stats/slo.ts";
import type { GoodputResult, Results, StageResult } from "./results.ts";

/** Columns of the per-stage table after its load: the metric and the statistic shown. */
const STAGE_COLUMNS: readonly [string, MetricName, "p50" | "p99"][] = [
  ["ttft p50", "ttft", "p50"],
  ["ttft p99", "ttft", "p99"],
  ["itl p99", "itl", "p99"],
  ["e2e p50", "total_latency", "p50"],
  ["e2e p99", "total_latency", "p99"],
];

/**
 * The goal sections of `results`, each a list of lines; none without `--slo`, `--stages` or
 * `--threshold`.
 *
 * @example
 * ```ts
 * formatGoalSections(results).map((lines) => lines.join("\n")).join("\n\n");
 * // Goodput (ttft<=500ms, e2e<=20s): 9.80 requests/s, 313.60 output tokens/s
 * // SLO attainment: 98.00% all (ttft 99.00%, e2e 98.50%) of 200 requests
 * ```
 */
export function formatGoalSections(results: Results): string[][] {
  const sections = [
    results.goodput ? goodputLines(results.goodput) : [],
    stageLines(results.stages),
    thresholdLines(results),
  ];
  return sections.filter((lines) => lines.length > 0);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(2)}%`;
}

function goodputLines(goodput: GoodputResult): string[] {
  const bounds = goodput.slo.map((bound) => `${bound.metric}<=${formatDuration(bound.limitMs)}`);
  const each = SLO_METRICS.flatMap((metric) => {
    const share = goodput.attainment.bounds[metric];
    return share === undefined ? [] : [`${metric} ${percent(share)}`];
  });
  return [
    `Goodput (${bounds.join(", ")}): ${goodput.requestsPerSec.toFixed(2)} requests/s, ` +
    `${goodput.outputTokensPerSec.toFixed(2)} output tokens/s`,
    `SLO attainment: ${percent(goodput.attainment.all)} all (${each.join(", ")}) of ` +
    `${goodput.judged} requests`,
  ];
}

function stageLines(stages: readonly StageResult[] | undefined): string[] {
  if (stages === undefined || stages.length === 0) return [];
  const goodput = stages.some((stage) => stage.goodput !== undefined);
  const rows = [[
    "stage",
    "load",
    "ok",
    "failed",
    "req/s",
    "tok/s",
    ...(goodput ? ["goodput/s", "attain"] : []),
    ...STAGE_COLUMNS.map(([label]) => label),
  ]];
  stages.forEach((result, index) => {
    rows.push([
      String(index + 1),
      describeStage(result.stage),
      String(result.requests.ok),
      String(result.requests.failed),
      result.throughput.requestsPerSec.toFixed(2),
      result.throughput.outputTokensPerSec.toFixed(2),
      ...(goodput
        ? [
          result.goodput?.requestsPerSec.toFixed(2) ?? "-",
          result.goodput ? percent(result.goodput.attainment.all) : "-",
        ]
        : []),
      ...STAGE_COLUMNS.map(([, name, stat]) => result.metrics[name]?.[stat].toFixed(2) ?? "-"),
    ]);
  });
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return [
    "Stages (times in ms)",
    ...rows.map((row) => row.map((cell, i) => cell.padStart(widths[i])).join("  ")),
  ];
}

function thresholdLines(results: Results): string[] {
  const { thresholds } = results;
  if (thresholds === undefined) return [];
  const rows = [["threshold", "measured", "result"]];
  for (const check of thresholds.checks) {
    const value = check.value === null ? "none" : String(Number(check.value.toFixed(4)));
    rows.push([check.threshold, value, check.pass ? "pass" : "FAIL"]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const failed = thresholds.checks.filter((check) => !check.pass).length;
  return [
    thresholds.passed
      ? "Thresholds: all passed"
      : `Thresholds: ${failed} of ${thresholds.checks.length} failed (exit code 3)`,
    ...rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()),
    ...(thresholds.abortedBy ? [`Stopped early: ${thresholds.abortedBy}`] : []),
  ];
}
