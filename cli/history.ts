/**
 * The run-history commands at work: each opens the history, does one thing with it and closes
 * it. `runs`, `show` and `compare` print plain text (JSON with `--json`) that reads the same in
 * a terminal and a pipe; `export` writes with the writers a run uses, so the files are the same;
 * `report` writes one page of overlaid charts; `rm` removes one run.
 *
 * @module
 */
import { compareRuns, formatComparison } from "../history/compare.ts";
import { formatRunList } from "../history/list.ts";
import { openHistory } from "../history/store.ts";
import type { StoredRun } from "../history/store.ts";
import { renderRunsReport } from "../output/runs_report.ts";
import { formatMetricTable, formatSummaryBlock } from "../output/report.ts";
import {
  dashboardResults,
  readDashboardAssets,
  renderHtmlReport,
  writeHtmlReport,
} from "../output/html_report.ts";
import { writeResultsJson } from "../output/results.ts";
import { appendSummaryRow, summaryRow } from "../output/summary_csv.ts";
import type { HistoryCommand } from "./history_command_line.ts";
import type { CommandOutput } from "./command_output.ts";
import { EXIT_FAILED, EXIT_OK } from "./exit_codes.ts";
import { UsageError } from "../common/errors.ts";

/**
 * Runs one history command; resolves to its exit code: 0, or 1 with one line when a file cannot
 * be read or written. A bad id or history file throws a `UsageError`.
 */
export async function runHistoryCommand(
  command: HistoryCommand,
  output: CommandOutput,
  options: { readonly width?: number } = {},
): Promise<number> {
  try {
    return await runOn(command, output, options);
  } catch (error) {
    if (error instanceof UsageError || !isFileFailure(error)) throw error;
    output.log(`llmload: ${error.message}`);
    return EXIT_FAILED;
  }
}

/** A file that cannot be written, or an SQLite file that cannot be read: not a bug. */
function isFileFailure(error: unknown): error is Error {
  return error instanceof Error &&
    (error.message.startsWith("Cannot ") || error.name in Deno.errors ||
      (error as { code?: string }).code === "ERR_SQLITE_ERROR");
}

async function runOn(
  command: HistoryCommand,
  output: CommandOutput,
  options: { readonly width?: number },
): Promise<number> {
  const history = openHistory(command.history, { write: command.name === "rm" });
  try {
    switch (command.name) {
      case "runs": {
        const runs = history.list(command.filter);
        if (command.json) output.out(JSON.stringify(runs, null, 2));
        else if (runs.length === 0) output.log(`No stored runs match in ${history.path}`);
        else output.out(formatRunList(runs, { width: options.width }));
        break;
      }
      case "show": {
        const run = history.find(command.id);
        output.out(command.json ? JSON.stringify(run.results, null, 2) : showText(run));
        break;
      }
      case "compare": {
        const runs = command.ids.map((id) => history.find(id));
        const comparison = compareRuns(
          runs.map((run) => ({ id: shortOf(run, runs), results: run.results })),
        );
        output.out(
          command.json ? JSON.stringify(comparison, null, 2) : formatComparison(comparison),
        );
        break;
      }
      case "export":
        await exportRun(history.find(command.id), command.files, output);
        break;
      case "report": {
        const runs = command.ids.map((id) => history.find(id));
        const page = renderRunsReport(runs.map((run) => ({ ...run, id: shortOf(run, runs) })));
        await writeHtmlReport(command.htmlFile, page);
        output.log(`HTML report of ${runs.length} runs written to ${command.htmlFile}`);
        break;
      }
      case "rm":
        output.log(`Removed run ${history.remove(command.id)} from ${history.path}`);
        break;
    }
  } finally {
    history.close();
  }
  return EXIT_OK;
}

/** The id the run is shown by among `runs`: 7 digits, more when two of them share those. */
function shortOf(run: StoredRun, runs: readonly StoredRun[]): string {
  let length = 7;
  while (
    runs.some((other) => other.id !== run.id && other.id.startsWith(run.id.slice(0, length)))
  ) {
    length++;
  }
  return run.id.slice(0, length);
}

function showText(run: StoredRun): string {
  const tags = Object.entries(run.tags).map(([key, value]) => `${key}=${value}`).join(", ");
  const { results } = run;
  return [
    `run ${run.id}: ${results.model} (${results.provider}) at ${results.config.host}`,
    `started ${results.startedAt}, ${(results.durationMs / 1000).toFixed(1)} s measured, ` +
    `llmload ${results.tool.version}${tags ? `, tags ${tags}` : ""}`,
    ...results.warnings.map((warning) => `Warning: ${warning}`),
    "",
    formatMetricTable(results),
    "",
    formatSummaryBlock(results, run.info),
  ].join("\n");
}

async function exportRun(
  run: StoredRun,
  files: { readonly json?: string; readonly csv?: string; readonly html?: string },
  output: CommandOutput,
): Promise<void> {
  if (files.json !== undefined) {
    await writeResultsJson(files.json, run.results);
    output.log(`Results written to ${files.json}`);
  }
  if (files.csv !== undefined) {
    const warning = await appendSummaryRow(files.csv, summaryRow(run.results, run.info));
    if (warning) output.log(`Warning: ${warning}`);
    output.log(`Summary row appended to ${files.csv}`);
  }
  if (files.html !== undefined) {
    const page = renderHtmlReport(await readDashboardAssets(), {
      results: dashboardResults(run.results, { state: "done" }),
      timeseries: run.timeseries,
    });
    await writeHtmlReport(files.html, page);
    output.log(`HTML report written to ${files.html}`);
  }
}
