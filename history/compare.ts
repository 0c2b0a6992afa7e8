/**
 * `llmload compare`: several stored runs side by side, every metric with its absolute and
 * relative change from the first run (the baseline) and the better side marked, and a warning
 * for each run whose numbers deserve doubt (a saturated client, failed requests). Pure.
 *
 * @module
 */
import { METRIC_NAMES } from "../stats/metrics.ts";
import type { Results } from "../output/results.ts";

/** Which way a row improves; `null` for a figure that is neither better nor worse (token counts). */
export type Better = "lower" | "higher" | null;

/** One figure of every run. */
export interface ComparisonRow {
  /** What it is, e.g. `ttft p99` or `output tokens/s`. */
  readonly name: string;
  /** Its unit, e.g. `ms`, `tokens`, `req/s`. */
  readonly unit: string;
  /** Which way is better. */
  readonly better: Better;
  /** The figure of each run, in the order given; `null` where a run has no samples. */
  readonly values: readonly (number | null)[];
  /** Per run, the change from the baseline (the first run): absolute and relative (0.1 = +10%). */
  readonly deltas:
    readonly ({ readonly absolute: number; readonly relative: number | null } | null)[];
  /** Index of the run with the best figure; `null` when no side is better or all are equal. */
  readonly best: number | null;
}

/** A stored run as compare sees it. */
export interface ComparedRun {
  /** Short id. */
  readonly id: string;
  /** Its results. */
  readonly results: Results;
}

/** The whole comparison, as `--json` prints it. */
export interface Comparison {
  /** The runs, baseline first: short id, model, provider, start. */
  readonly runs: readonly { id: string; model: string; provider: string; startedAt: string }[];
  /** One row per figure. */
  readonly rows: readonly ComparisonRow[];
  /** Reasons to doubt a run's numbers, one sentence each. */
  readonly warnings: readonly string[];
}

const STATISTICS = ["mean", "p50", "p90", "p99"] as const;

/** Compares `runs`, the first being the baseline. */
export function compareRuns(runs: readonly ComparedRun[]): Comparison {
  const rows: ComparisonRow[] = [
    row("requests ok", "", "higher", runs.map(({ results }) => results.requests.ok)),
    row("requests failed", "", "lower", runs.map(({ results }) => results.requests.failed)),
    row(
      "requests/s",
      "",
      "higher",
      runs.map(({ results }) => results.throughput.requestsPerSec),
    ),
    row(
      "output tokens/s",
      "",
      "higher",
      runs.map(({ results }) => results.throughput.outputTokensPerSec),
    ),
    row(
      "total tokens/s",
      "",
      "higher",
      runs.map(({ results }) => results.throughput.totalTokensPerSec),
    ),
  ];
  for (const metric of METRIC_NAMES) {
    const summaries = runs.map(({ results }) => results.metrics[metric]);
    const first = summaries.find((summary) => summary !== undefined);
    if (first === undefined) continue;
    const better = first.unit === "tokens" ? null : "lower";
    for (const statistic of STATISTICS) {
      rows.push(
        row(
          `${metric} ${statistic}`,
          first.unit,
          better,
          summaries.map((s) => s?.[statistic] ?? null),
        ),
      );
    }
  }
  return {
    runs: runs.map(({ id, results }) => ({
      id,
      model: results.model,
      provider: results.provider,
      startedAt: results.startedAt,
    })),
    rows,
    warnings: runs.flatMap(doubts),
  };
}

function row(
  name: string,
  unit: string,
  better: Better,
  values: readonly (number | null)[],
): ComparisonRow {
  const base = values[0];
  const deltas = values.map((value) =>
    value === null || base === null
      ? null
      : { absolute: value - base, relative: base === 0 ? null : (value - base) / base }
  );
  return { name, unit, better, values, deltas, best: bestIndex(values, better) };
}

function bestIndex(values: readonly (number | null)[], better: Better): number | null {
  const known = values.flatMap((value, index) => value === null ? [] : [{ value, index }]);
  if (better === null || known.length < 2) return null;
  const sign = better === "lower" ? 1 : -1;
  const sorted = known.toSorted((a, b) => sign * (a.value - b.value));
  return sorted[0].value === sorted[1].value ? null : sorted[0].index;
}

function doubts({ id, results }: ComparedRun): string[] {
  const found: string[] = [];
  const client = results.client;
  if (client !== undefined && client.verdict !== "ok") {
    found.push(
      `run ${id}: the client was ${client.verdict} (peak CPU ${
        Math.round(client.peakCpu * 100)
      }%, ` +
        `event-loop lag up to ${Math.round(client.peakLoopLagMs)} ms), so its timings include ` +
        `the client's own delay`,
    );
  }
  if (results.requests.failed > 0) {
    const kinds = Object.entries(results.failures).map(([kind, stats]) =>
      `${kind} ${stats!.count}`
    );
    found.push(
      `run ${id}: ${results.requests.failed} of ${results.requests.total} requests failed ` +
        `(${kinds.join(", ")}), so its latencies describe the successful ones only`,
    );
  }
  return found;
}

/**
 * The comparison as a table: one column per run (the baseline first), and for each other run
 * its change from the baseline, absolute and relative; `*` marks the better side. Plain text, no
 * colours, so it reads the same in a terminal and in a pipe.
 */
export function formatComparison(comparison: Comparison): string {
  const [baseline, ...others] = comparison.runs;
  const header = ["metric", baseline.id, ...others.flatMap((run) => [run.id, "Δ", "Δ%"])];
  const lines = comparison.rows.map((row) => {
    const cells = [row.unit ? `${row.name} (${row.unit})` : row.name, valueCell(row, 0)];
    for (let index = 1; index < row.values.length; index++) {
      const delta = row.deltas[index];
      cells.push(
        valueCell(row, index),
        delta === null ? "-" : signed(formatNumber(delta.absolute), delta.absolute),
        delta?.relative == null
          ? "-"
          : signed(`${(delta.relative * 100).toFixed(1)}%`, delta.relative),
      );
    }
    return cells;
  });
  const table = alignColumns([header, ...lines]);
  const notes = comparison.warnings.map((warning) => `Warning: ${warning}`);
  return [
    ...comparison.runs.map((run, index) =>
      `${
        index === 0 ? "baseline" : `run ${index + 1}`
      }: ${run.id} ${run.model} (${run.provider}) ` +
      `started ${run.startedAt}`
    ),
    "",
    ...table,
    "",
    "* better side; Δ is the change from the baseline",
    ...notes,
  ].join("\n");
}

function valueCell(row: ComparisonRow, index: number): string {
  const value = row.values[index];
  if (value === null) return "-";
  // Every value keeps the mark's two places, so the numbers of a column stay aligned.
  return `${formatNumber(value)}${row.best === index ? " *" : "  "}`;
}

function signed(text: string, value: number): string {
  return value > 0 ? `+${text}` : text;
}

/** A number with two decimals, whole numbers without. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/**
 * Rows padded so every column lines up: the first `left` columns (default 1) left-aligned, the
 * rest (numbers) right-aligned.
 */
export function alignColumns(
  rows: readonly (readonly string[])[],
  options: { readonly left?: number } = {},
): string[] {
  const left = options.left ?? 1;
  const widths = rows[0].map((_, column) =>
    Math.max(...rows.map((cells) => [...(cells[column] ?? "")].length))
  );
  return rows.map((cells) =>
    cells.map((cell, column) =>
      column < left ? cell.padEnd(widths[column]) : cell.padStart(widths[column])
    ).join("  ").trimEnd()
  );
}
