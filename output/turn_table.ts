/**
 * The console's per-turn table of multi-turn sessions, from the results' `turns` section. Pure.
 *
 * @module
 */
import type { MetricName } from "../stats/metrics.ts";
import type { TurnResult } from "./results.ts";

/** Columns of the per-turn table: the metric and the statistic shown. */
const TURN_COLUMNS: readonly [string, MetricName, "mean" | "p50" | "p90" | "p99"][] = [
  ["ttft p50", "ttft", "p50"],
  ["ttft p90", "ttft", "p90"],
  ["itl p50", "itl", "p50"],
  ["itl p99", "itl", "p99"],
  ["latency p50", "total_latency", "p50"],
  ["latency p90", "total_latency", "p90"],
  ["prompt tok", "prompt_tokens", "mean"],
  ["output tok", "num_tokens", "mean"],
];

/**
 * The console's per-turn table: one row per turn index with its requests and the times (ms)
 * and mean token counts of its turn; `[]` without sessions. A metric a turn lacks shows `-`.
 *
 * @example
 * ```ts
 * formatTurnTable(results.turns).join("\n");
 * // Sessions by turn (ms; tokens are means)
 * // turn  ok  failed  ttft p50  ...
 * ```
 */
export function formatTurnTable(turns: readonly TurnResult[] | undefined): string[] {
  if (turns === undefined || turns.length === 0) return [];
  const rows = [["turn", "ok", "failed", ...TURN_COLUMNS.map(([label]) => label)]];
  for (const result of turns) {
    rows.push([
      String(result.turn),
      String(result.requests.ok),
      String(result.requests.failed),
      ...TURN_COLUMNS.map(([, name, stat]) => result.metrics[name]?.[stat].toFixed(2) ?? "-"),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return [
    "Sessions by turn (times in ms, token counts are means)",
    ...rows.map((row) => row.map((cell, i) => cell.padStart(widths[i])).join("  ")),
  ];
}
