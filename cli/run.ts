/**
 * The `run` and `demo` commands: run the load test, then print the metric table, write the
 * summary CSV row, the results JSON and the HTML report, and print the seed's summary block as
 * the last lines. With `--serve`, the results server runs alongside, from before the first
 * request until after the last line (and `--serve-linger` or Ctrl+C).
 *
 * @module
 */
import { runLoadTest } from "../run/coordinator.ts";
import type { LiveView, RunIo, RunOutcome } from "../run/types.ts";
import {
  dashboardResults,
  dashboardTimeseries,
  readDashboardAssets,
  renderHtmlReport,
  writeHtmlReport,
} from "../output/html_report.ts";
import { secretsOf } from "../common/secrets.ts";
import { counted } from "../output/progress.ts";
import { formatMetricTable, formatSummaryBlock } from "../output/report.ts";
import type { SummaryInfo } from "../output/report.ts";
import { buildResults, writeResultsJson } from "../output/results.ts";
import type { Results } from "../output/results.ts";
import { isLoopback, startResultsServer } from "../output/server.ts";
import type { ResultsServer } from "../output/server.ts";
import { appendSummaryRow, summaryRow } from "../output/summary_csv.ts";
import { feedSeries, TimeSeries } from "../output/timeseries.ts";
import type { RunConfig } from "../options/types.ts";
import { EXIT_FAILED, EXIT_OK } from "./exit_codes.ts";
import type { CommandOutput } from "./command_output.ts";

/** Hooks of a run beyond its output: signals to stop it and a taker of its control. */
export type RunSignals = Pick<RunIo, "stopSignal" | "abortSignal" | "control">;

/** Runs a load test to the end and reports it; resolves to the process exit code. */
export async function runCommand(
  config: RunConfig,
  output: CommandOutput,
  signals: RunSignals = {},
): Promise<number> {
  const server = config.serve ? await startResultsServer(config) : undefined;
  try {
    if (server) announceServer(config, server, output);
    const exitCode = await runAndReport(config, output, signals, server);
    if (server) await linger(config, server, output, signals);
    return exitCode;
  } finally {
    await server?.close();
  }
}

async function runAndReport(
  config: RunConfig,
  output: CommandOutput,
  signals: RunSignals,
  server: ResultsServer | undefined,
): Promise<number> {
  // The server keeps its own series; without one, the HTML report still needs the points.
  const series = server?.series ?? (config.htmlFile ? new TimeSeries() : undefined);
  const addView = server ? (view: LiveView) => server.update(view) : series && feedSeries(series);
  const outcome = await runLoadTest(config, {
    ...output,
    ...signals,
    live: addView,
    control(control) {
      server?.setControl(control);
      signals.control?.(control);
    },
  });
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
    cutOff: outcome.cancelled > 0
      ? {
        requests: outcome.cancelled,
        minWaitMs: outcome.cutOffWaitMs?.min ?? 0,
        maxWaitMs: outcome.cutOffWaitMs?.max ?? 0,
      }
      : undefined,
  });
  const info = summaryInfo(config, outcome);
  output.out(formatMetricTable(results));
  const cutOff = cutOffLine(outcome);
  if (cutOff) output.log(cutOff);
  for (const warning of outcome.warnings) output.log(`Warning: ${warning}`);
  server?.finish(results);
  await writeFiles(config, results, info, output);
  if (config.htmlFile && series) {
    await writeReport(
      config.htmlFile,
      { config, results, series, startedAt: outcome.startedAt },
      output,
    );
  }
  output.out(formatSummaryBlock(results, info));
  return results.requests.failed > 0 || results.requests.ok === 0 ? EXIT_FAILED : EXIT_OK;
}

/**
 * The line about requests the stop cut off, e.g. "3 requests still in flight were cut off at the
 * stop after waiting 2.1–5.0 s (not counted)"; undefined when there were none.
 */
export function cutOffLine(
  outcome: Pick<RunOutcome, "cancelled" | "cutOffWaitMs">,
): string | undefined {
  if (outcome.cancelled === 0) return undefined;
  const wait = outcome.cutOffWaitMs;
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const waited = wait === undefined
    ? ""
    : wait.max - wait.min < 50
    ? ` after waiting ${seconds(wait.max)} s`
    : ` after waiting ${seconds(wait.min)}–${seconds(wait.max)} s`;
  const one = outcome.cancelled === 1;
  return `${counted(outcome.cancelled, "request")} still in flight ${
    one ? "was" : "were"
  } cut off at the stop${waited} (not counted)`;
}

function announceServer(config: RunConfig, server: ResultsServer, output: CommandOutput) {
  output.log(
    `Serving live results: dashboard ${server.url}/, JSON ${server.url}/api/results, ` +
      `Prometheus ${server.url}/metrics`,
  );
  if (!isLoopback(config.serve!.hostname)) {
    output.log(
      `Warning: serving on ${config.serve!.hostname}, so other machines can read the results` +
        (config.serveToken ? "" : " (control routes stay off without --serve-token)"),
    );
  }
}

/**
 * Keeps serving the final results after the run: for `--serve-linger`, or without `-t` until
 * Ctrl+C when the run ended some other way (`POST /api/stop`, `--max-requests`). A Ctrl+C
 * that has not been used yet ends the wait.
 */
async function linger(
  config: RunConfig,
  server: ResultsServer,
  output: CommandOutput,
  signals: RunSignals,
) {
  const { stopSignal, abortSignal } = signals;
  const interrupt = stopSignal && !stopSignal.aborted
    ? stopSignal
    : abortSignal && !abortSignal.aborted
    ? abortSignal
    : undefined;
  if (config.serveLingerMs) {
    output.log(
      `Serving the final results on ${server.url}/ for ${config.serveLingerMs / 1000}s` +
        (interrupt ? " (Ctrl+C to quit)" : ""),
    );
    await Promise.race([delay(config.serveLingerMs), aborted(interrupt)]);
  } else if (config.runTimeMs === undefined && interrupt && interrupt === stopSignal) {
    output.log(`Serving the final results on ${server.url}/ until Ctrl+C`);
    await aborted(interrupt);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `signal` aborts; never, without a signal. */
function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) =>
    signal?.addEventListener("abort", () => resolve(), { once: true })
  );
}

async function writeReport(
  path: string,
  run: { config: RunConfig; results: Results; series: TimeSeries; startedAt: number },
  output: CommandOutput,
) {
  try {
    const secrets = secretsOf(run.config);
    const page = renderHtmlReport(await readDashboardAssets(), {
      results: dashboardResults(run.results, { state: "done", secrets }),
      timeseries: dashboardTimeseries(run.series, { state: "done", startedAt: run.startedAt }),
    });
    await writeHtmlReport(path, page);
    output.log(`HTML report written to ${path}`);
  } catch (error) {
    output.log(`Error: ${(error as Error).message}`);
  }
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
