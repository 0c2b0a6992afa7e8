/**
 * `llmload runs` as text: one line per stored run, newest first, with the figures people pick a
 * run by. Pure; in a terminal each line is cut to its width, in a pipe nothing is cut.
 *
 * @module
 */
import { alignColumns, formatNumber } from "./compare.ts";
import type { RunSummary } from "./store.ts";

// Text columns first (left-aligned), then the figures (right-aligned).
const HEADER = [
  "id",
  "started (UTC)",
  "model",
  "provider",
  "host",
  "tags",
  "ok",
  "failed",
  "req/s",
  "tok/s",
  "ttft p50",
];

/**
 * The runs as an aligned table; `width` (a terminal's columns) cuts each line to fit, with `…`.
 *
 * @example
 * ```ts
 * console.log(formatRunList(history.list(), { width: Deno.consoleSize().columns }));
 * ```
 */
export function formatRunList(
  runs: readonly RunSummary[],
  options: { readonly width?: number } = {},
): string {
  const rows = runs.map((run) => [
    run.shortId,
    run.startedAt.slice(0, 19).replace("T", " "),
    run.model,
    run.provider,
    run.host,
    Object.entries(run.tags).map(([key, value]) => `${key}=${value}`).join(",") || "-",
    String(run.ok),
    String(run.failed),
    formatNumber(run.requestsPerSec),
    formatNumber(run.outputTokensPerSec),
    run.ttftP50Ms === null ? "-" : `${formatNumber(run.ttftP50Ms)} ms`,
  ]);
  const lines = alignColumns([HEADER, ...rows], { left: 6 });
  const width = options.width;
  if (width === undefined) return lines.join("\n");
  return lines.map((line) =>
    [...line].length > width ? `${[...line].slice(0, width - 1).join("")}…` : line
  )
    .join("\n");
}
