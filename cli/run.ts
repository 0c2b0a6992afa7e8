/**
 * The `run` and `demo` commands: run the load test, then hand the results to every output the
 * config asks for, in order: the metric table, the results server, the summary CSV row, the
 * results JSON, the HTML report, and the seed's summary block as the last lines. With `--serve`,
 * the results server runs alongside, from before the first request until after the last line
 * (and `--serve-linger` or Ctrl+C).
 *
 * @module
 */
import { runLoadTest } from "../run/coordinator.ts";
import type { LiveView, RunIo, RunOutcome } from "../run/types.ts";
import { metricTableOutput, summaryBlockOutput } from "../output/console.ts";
import { fanOut } from "../output/fanout.ts";
import { htmlReportOutput } from "../output/html_file.ts";
import { historyOutput } from "../output/history.ts";
import { secretsOf } from "../common/secrets.ts";
import type { SummaryInfo } from "../output/report.ts";
import { buildResults } from "../output/results.ts";
import type { Results } from "../output/results.ts";
import { resultsJsonOutput } from "../output/results_json.ts";
import { isLoopback, serverOutput, startResultsServer } from "../output/server.ts";
import type { ResultsServer } from "../output/server.ts";
import { summaryCsvOutput } from "../output/summary_csv.ts";
import { openPostgresPush } from "../output/postgres/mod.ts";
import type { PostgresPush } from "../output/postgres/mod.ts";
import type { PushTally } from "../output/postgres/queue.ts";
import { TimeSeries, timeseriesOutput } from "../output/timeseries.ts";
import type { Output } from "../output/types.ts";
import type { RunConfig } from "../options/types.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_THRESHOLDS } from "./exit_codes.ts";
import type { CommandOutput } from "./command_output.ts";

/**
 * Hooks of a run beyond its output: signals to stop it, a taker of its control, and a watcher
 * of its live views (about one a second, after the outputs have seen each).
 */
export type RunSignals = Pick<RunIo, "stopSignal" | "abortSignal" | "control"> & {
  readonly observe?: (view: LiveView) => void;
};

/** {@link RunSignals}, and a hook for the address of the results server. */
export interface RunHooks extends RunSignals {
  /** Called with the results server's base URL (`http://host:port`) once `--serve` listens. */
  readonly onListen?: (url: string) => void;
}

/** How a run ended: the process exit code and the results the outputs received. */
export interface RunCommandResult {
  /** 0 when all went well, 1 when requests failed (or none succeeded), 3 when a threshold failed. */
  readonly exitCode: number;
  /** The results, exactly as the results JSON holds them. */
  readonly results: Results;
}

/**
 * Runs a load test to the end and reports it. A run that cannot start throws (a `UsageError` or
 * a `StartError`); a run that started resolves, whatever happened to its requests.
 */
export async function runCommand(
  config: RunConfig,
  output: CommandOutput,
  hooks: RunHooks = {},
): Promise<RunCommandResult> {
  const server = config.serve ? await startResultsServer(config) : undefined;
  let pg: PostgresPush | undefined;
  try {
    pg = await openPostgresPush(config, { log: output.log });
    if (server) {
      hooks.onListen?.(server.url);
      announceServer(config, server, output);
    }
    const ended = await runAndReport(config, output, hooks, { server, pg });
    if (server) await linger(config, server, output, hooks);
    return ended;
  } finally {
    await pg?.close();
    await server?.close();
  }
}

/**
 * The outputs `config` asks for, in the order they finish. A new output is one file
 * implementing `Output` and one line here.
 */
function outputsFor(
  config: RunConfig,
  parts: { output: CommandOutput; server?: ResultsServer; pg?: PostgresPush },
): Output[] {
  const { output, server, pg } = parts;
  // The server keeps its own series; without one, the HTML report and the history still need
  // the points.
  const history = typeof config.history === "string" ? config.history : undefined;
  const series = server?.series ??
    (config.htmlFile || history ? new TimeSeries() : undefined);
  const secrets = secretsOf(config);
  const outputs: (Output | undefined)[] = [
    metricTableOutput(output),
    server ? serverOutput(server) : series && timeseriesOutput(series),
    pg?.output,
    config.summaryFile ? summaryCsvOutput(config.summaryFile, output.log) : undefined,
    config.jsonFile ? resultsJsonOutput(config.jsonFile, output.log) : undefined,
    config.htmlFile && series
      ? htmlReportOutput(config.htmlFile, { series, secrets, log: output.log })
      : undefined,
    history && series
      ? historyOutput(history, { series, tags: config.tags ?? {}, secrets, log: output.log })
      : undefined,
    summaryBlockOutput(output),
  ];
  return outputs.filter((item): item is Output => item !== undefined);
}

async function runAndReport(
  config: RunConfig,
  output: CommandOutput,
  signals: RunSignals,
  sinks: { server?: ResultsServer; pg?: PostgresPush },
): Promise<RunCommandResult> {
  const { server, pg } = sinks;
  const outputs = fanOut(outputsFor(config, { output, server, pg }), { log: output.log });
  const { observe, ...io } = signals;
  const outcome = await runLoadTest(config, {
    ...output,
    ...io,
    live(view) {
      outputs.observe(view);
      observe?.(view);
    },
    control(control) {
      server?.setControl(control);
      signals.control?.(control);
    },
  });
  const results = resultsOf(config, outcome, await pg?.drain());
  const exitCode = exitCodeOf(results);
  // Before the outputs: the seed's summary block stays the last lines.
  await pg?.close({ exitCode, results });
  await outputs.finish({ results, outcome, info: summaryInfo(config, outcome) });
  return { exitCode, results };
}

/**
 * 3 when a `--threshold` failed; else 1 when no request succeeded, or, without thresholds, when
 * any failed (the seed's rule: thresholds such as `fail_ratio<0.01` decide how many may fail).
 */
function exitCodeOf(results: Results): number {
  if (results.thresholds && !results.thresholds.passed) return EXIT_THRESHOLDS;
  if (results.requests.ok === 0) return EXIT_FAILED;
  return results.requests.failed > 0 && !results.thresholds ? EXIT_FAILED : EXIT_OK;
}

/** The results of a run, as the results JSON and every output get them. */
function resultsOf(config: RunConfig, outcome: RunOutcome, pg?: PushTally): Results {
  return buildResults(outcome.aggregate, {
    provider: outcome.target.provider,
    model: outcome.target.model,
    config,
    startedAt: outcome.windowStart,
    endedAt: outcome.windowEnd,
    durationMs: outcome.windowEnd - outcome.windowStart,
    partial: outcome.partial,
    client: outcome.client,
    warnings: outcome.warnings,
    workload: outcome.workload,
    stages: outcome.stages,
    slices: outcome.slices,
    thresholdAbort: outcome.thresholdAbort,
    pg,
    serverMetrics: outcome.serverMetrics,
    cutOff: outcome.cancelled > 0
      ? {
        requests: outcome.cancelled,
        minWaitMs: outcome.cutOffWaitMs?.min ?? 0,
        maxWaitMs: outcome.cutOffWaitMs?.max ?? 0,
      }
      : undefined,
  });
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

/**
 * What the summary block and CSV show beside the results: the run's settings, the `max_tokens`
 * description and the prompt's measured length.
 */
export function summaryInfo(
  config: RunConfig,
  outcome: Pick<RunOutcome, "generationTokens" | "localPromptTokens">,
): SummaryInfo {
  return {
    generationTokens: outcome.generationTokens,
    users: config.users,
    qps: config.qps,
    qpsDistribution: config.qpsDistribution,
    trace: config.traceFile === undefined
      ? undefined
      : { file: config.traceFile.split(/[\\/]/).pop()!, speed: config.traceSpeed },
    // Embeddings and rerank replies are never streamed, whatever --stream says.
    stream: config.stream && config.mode === "generate",
    temperature: config.temperature,
    logprobs: config.logprobs,
    promptTokens: config.promptText === undefined
      ? config.promptTokens
      : outcome.localPromptTokens ?? config.promptTokens,
  };
}
