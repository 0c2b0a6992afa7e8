/**
 * `llmload merge FILE...`: reads the shards' results files, merges them (`output/merge.ts`),
 * prints the metric table and the summary block as a run does, and writes the merged results
 * where `--json`, `--html` and `--summary-file` say.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { fileErrorReason } from "../options/files.ts";
import type { OptionSpec } from "../options/spec.ts";
import type { RunConfig } from "../options/types.ts";
import { mergeResults, type NamedResults } from "../output/merge.ts";
import { formatMetricTable, formatSummaryBlock } from "../output/report.ts";
import { type Results, writeResultsJson } from "../output/results.ts";
import { appendSummaryRow, summaryRow } from "../output/summary_csv.ts";
import {
  dashboardResults,
  dashboardTimeseries,
  readDashboardAssets,
  renderHtmlReport,
  writeHtmlReport,
} from "../output/html_report.ts";
import { TimeSeries } from "../output/timeseries.ts";
import { describeGeneration } from "../run/plan.ts";
import type { CommandOutput } from "./command_output.ts";
import { EXIT_FAILED, EXIT_OK } from "./exit_codes.ts";
import { summaryInfo } from "./run.ts";

/** The options of `llmload merge`, besides its files. */
export const MERGE_OPTIONS: readonly OptionSpec[] = [
  {
    name: "json",
    value: "file",
    help: "write the merged results JSON here (the same layout as a run's --json)",
    unset: "not written",
  },
  {
    name: "html",
    value: "file",
    help: "write the merged results as a self-contained HTML report (without per-second charts, " +
      "which the shards' files do not hold)",
    unset: "not written",
  },
  {
    name: "summary-file",
    value: "file",
    help: "append the merged results' CSV row to this file, as a run's --summary-file does",
    unset: "not written",
  },
  {
    name: "force",
    help: "merge even when the shards' configurations differ (a warning names each difference)",
    default: "false",
  },
];

/** What `llmload merge` was asked. */
export interface MergeCommand {
  /** The results files to merge, at least one. */
  readonly files: readonly string[];
  /** `--json`: where the merged results go. */
  readonly jsonFile?: string;
  /** `--html`: where the merged report goes. */
  readonly htmlFile?: string;
  /** `--summary-file`: where the merged CSV row is appended. */
  readonly summaryFile?: string;
  /** `--force`: merge configurations that differ. */
  readonly force: boolean;
}

/**
 * Runs `llmload merge`: 0 when every merged request succeeded, 1 when some failed or none did,
 * as a run's exit code. Unreadable files and refused merges throw a `UsageError`.
 */
export async function runMergeCommand(
  command: MergeCommand,
  output: CommandOutput,
): Promise<number> {
  const paths = (await Promise.all(command.files.map(resultsPaths))).flat();
  const files = await Promise.all(paths.map(readResultsFile));
  const merged = mergeResults(files, { force: command.force });
  const config = merged.config as RunConfig;
  const info = summaryInfo(config, {
    generationTokens: describeGeneration(config),
    localPromptTokens: merged.workload?.promptTokens.max,
  });
  output.out(formatMetricTable(merged));
  for (const warning of merged.warnings) output.log(`Warning: ${warning}`);
  if (command.summaryFile !== undefined) {
    const warning = await appendSummaryRow(command.summaryFile, summaryRow(merged, info));
    if (warning) output.log(`Warning: ${warning}`);
    output.log(`Summary row appended to ${command.summaryFile}`);
  }
  if (command.jsonFile !== undefined) {
    await writeResultsJson(command.jsonFile, merged);
    output.log(`Merged results written to ${command.jsonFile}`);
  }
  if (command.htmlFile !== undefined) await writeMergedReport(command.htmlFile, merged, output);
  output.out(formatSummaryBlock(merged, info));
  return merged.requests.failed > 0 || merged.requests.ok === 0 ? EXIT_FAILED : EXIT_OK;
}

/**
 * The files a merge argument names: the file itself, or every `.json` file of a folder in name
 * order (the shared folder a Kubernetes Indexed Job's shards write to; no shell there to glob).
 */
async function resultsPaths(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new UsageError(`Cannot read results file '${path}': ${fileErrorReason(error)}`);
  }
  if (!info.isDirectory) return [path];
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new UsageError(`Cannot merge folder '${path}': it holds no .json results files`);
  }
  return names.sort().map((name) => `${path.replace(/\/+$/, "")}/${name}`);
}

/** Reads one results file; a missing or unparsable one is the user's to fix. */
async function readResultsFile(path: string): Promise<NamedResults> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read results file '${path}': ${fileErrorReason(error)}`);
  }
  try {
    return { name: path, results: JSON.parse(text) as Results };
  } catch (error) {
    throw new UsageError(
      `Cannot merge ${path}: it is not JSON (${(error as Error).message}); pass the --json ` +
        `files the shards wrote`,
    );
  }
}

/** The dashboard page of the merged results; no points, as results files hold none. */
async function writeMergedReport(path: string, results: Results, output: CommandOutput) {
  const page = renderHtmlReport(await readDashboardAssets(), {
    results: dashboardResults(results, { state: "done" }),
    timeseries: dashboardTimeseries(new TimeSeries(), {
      state: "done",
      startedAt: Date.parse(results.startedAt),
    }),
  });
  await writeHtmlReport(path, page);
  output.log(`HTML report written to ${path}`);
}
