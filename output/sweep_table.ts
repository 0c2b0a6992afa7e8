/**
 * The console table of a sweep: one row per point with its load, throughput, TTFT/ITL/E2E p50
 * and p99 and, under `--slo`, goodput and attainment; the knee marked. Pure.
 *
 * @module
 */
import type { MetricName } from "../stats/metrics.ts";
import type { Results } from "./results.ts";

/** One finished point of a sweep: the load it ran at and its results, as a run's. */
export interface SweepPoint {
  /** Users (closed loop) or QPS target of the point. */
  readonly load: number;
  /** The point's results, exactly as a run's results JSON holds them. */
  readonly results: Results;
  /** The server was over-saturated: the point was stopped early (`--saturation-window`). */
  readonly saturated?: boolean;
}

const LATENCY_COLUMNS: readonly [string, MetricName, "p50" | "p99"][] = [
  ["ttft p50", "ttft", "p50"],
  ["ttft p99", "ttft", "p99"],
  ["itl p50", "itl", "p50"],
  ["itl p99", "itl", "p99"],
  ["e2e p50", "total_latency", "p50"],
  ["e2e p99", "total_latency", "p99"],
];

/**
 * The sweep's table lines (times in ms), the knee's row marked `<- knee`.
 *
 * @example
 * ```ts
 * formatSweepTable(points, { unit: "users", knee: 2 }).join("\n");
 * ```
 */
export function formatSweepTable(
  points: readonly SweepPoint[],
  options: { unit: "users" | "qps"; knee?: number },
): string[] {
  const goodput = points.some((point) => point.results.goodput !== undefined);
  const rows = [[
    options.unit,
    "ok",
    "failed",
    "req/s",
    "tok/s",
    ...(goodput ? ["goodput/s", "attain"] : []),
    ...LATENCY_COLUMNS.map(([label]) => label),
  ]];
  for (const { load, results } of points) {
    const good = results.goodput;
    rows.push([
      String(load),
      String(results.requests.ok),
      String(results.requests.failed),
      results.throughput.requestsPerSec.toFixed(2),
      results.throughput.outputTokensPerSec.toFixed(2),
      ...(goodput
        ? [
          good?.requestsPerSec.toFixed(2) ?? "-",
          good ? `${(good.attainment.all * 100).toFixed(2)}%` : "-",
        ]
        : []),
      ...LATENCY_COLUMNS.map(([, name, stat]) => results.metrics[name]?.[stat].toFixed(2) ?? "-"),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return [
    "Sweep (times in ms)",
    ...rows.map((row, i) =>
      row.map((cell, j) => cell.padStart(widths[j])).join("  ") +
      (options.knee !== undefined && i - 1 === options.knee ? "  <- knee" : "") +
      (i > 0 && points[i - 1].saturated ? "  <- over-saturated, stopped" : "")
    ),
  ];
}
