/**
 * The `run` and `demo` commands: run the load test, then print the metric table, write the
 * summary CSV row and the results JSON, and print the seed's summary block as the last lines.
 *
 * @module
 */
import { runLoadTest } from "./coordinator.ts";
import type { RunIo, RunOutcome } from "./coordinator.ts";
import { formatMetricTable, formatSummaryBlock } from "./report.ts";
import type { SummaryInfo } from "./report.ts";
import { buildResults, writeResultsJson } from "./results.ts";
import type { Results } from "./results.ts";
import { appendSummaryRow, summaryRow } from "./summary_csv.ts";
import type { RunConfig } from "./types.ts";

/** Exit code of a run where every request succeeded. */
export const EXIT_OK = 0;
/** Exit code of a run where a request failed or none completed (the seed's rule). */
export const EXIT_FAILED = 1;
/** Exit code of a usage error. */
export const EXIT_USAGE = 2;

/** Where the command writes. */
export interface CommandOutput {
  /** Results: the table and the summary block. */
  readonly out: (text: string) => void;
  /** Progress and information lines. */
  readonly log: (line: string) => void;
  /** Rewrites the live progress line (TTY only). */
  readonly status?: (line: string) => void;
}

/** Runs a load test to the end and reports it; resolves to the process exit code. */
export async function runCommand(
  config: RunConfig,
  output: CommandOutput,
  signals: Pick<RunIo, "stopSignal" | "abortSignal" | "control"> = {},
): Promise<number> {
  const outcome = await runLoadTest(config, { ...output, ...signals });
  const results = buildResults(outcome.aggregate, {
    provider: outcome.target.provider,
    model: outcome.target.model,
    config,
    startedAt: outcome.windowStart,
    endedAt: outcome.windowEnd,
    durationMs: outcome.windowEnd - outcome.windowStart,
    partial: outcome.partial,
    client: outcome.client,
    warnings: outcome.warnings,
  });
  const info = summaryInfo(config, outcome);
  output.out(formatMetricTable(results));
  if (outcome.cancelled > 0) {
    output.log(
      `${outcome.cancelled} requests still in flight at the stop were cut off (not counted)`,
    );
  }
  for (const warning of outcome.warnings) output.log(`Warning: ${warning}`);
  await writeFiles(config, results, info, output);
  output.out(formatSummaryBlock(results, info));
  return results.requests.failed > 0 || results.requests.ok === 0 ? EXIT_FAILED : EXIT_OK;
}

function summaryInfo(config: RunConfig, outcome: RunOutcome): SummaryInfo {
  return {
    generationTokens: outcome.generationTokens,
    users: config.users,
    qps: config.qps,
    qpsDistribution: config.qpsDistribution,
    stream: config.stream,
    temperature: config.temperature,
    logprobs: config.logprobs,
    promptTokens: config.promptText === undefined
      ? config.promptTokens
      : outcome.localPromptTokens ?? config.promptTokens,
  };
}

/** Writes every requested file; a file that cannot be written is reported, the others still are. */
async function writeFiles(
  config: RunConfig,
  results: Results,
  info: SummaryInfo,
  output: CommandOutput,
) {
  if (config.summaryFile) {
    try {
      const warning = await appendSummaryRow(config.summaryFile, summaryRow(results, info));
      if (warning) output.log(`Warning: ${warning}`);
      output.log(`Summary row appended to ${config.summaryFile}`);
    } catch (error) {
      output.log(`Error: ${(error as Error).message}`);
    }
  }
  if (config.jsonFile) {
    try {
      await writeResultsJson(config.jsonFile, results);
      output.log(`Results written to ${config.jsonFile}`);
    } catch (error) {
      output.log(`Error: ${(error as Error).message}`);
    }
  }
}
