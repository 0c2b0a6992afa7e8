/**
 * llmload: a load tester for LLM inference endpoints. Entry point: parses the command line and
 * runs `run` (the default), `demo`, `probe`, `mock`, `merge` or a run-history command (`runs`,
 * `show`, `compare`, `export`, `report`, `rm`).
 *
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { readCommandLine } from "./cli/command_line.ts";
import type { MockCommandOptions } from "./mock/options.ts";
import { StartError, UsageError } from "./common/errors.ts";
import { startMock } from "./mock/server.ts";
import { runProbeCommand } from "./cli/probe.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./cli/exit_codes.ts";
import { runCommand, type RunHooks } from "./cli/run.ts";
import { runHistoryCommand } from "./cli/history.ts";
import { runMergeCommand } from "./cli/merge.ts";
import { runSweepCommand } from "./cli/sweep.ts";
import type { CommandOutput } from "./cli/command_output.ts";
import type { RunConfig } from "./options/types.ts";

/** The version printed by `--version`. */
export const VERSION: string =
  `llmload ${denoJson.version} (deno ${Deno.version.deno}, v8 ${Deno.version.v8})`;

/** Mock settings of `llmload demo`: a plausible small model. */
const DEMO_MOCK = { ttftMs: 50, itlMs: 20, jitter: 0.1 } as const;

const encoder = new TextEncoder();

/** Runs llmload with the given arguments; resolves to the process exit code. */
export async function main(args: readonly string[]): Promise<number> {
  try {
    const command = readCommandLine(args, { version: VERSION });
    if ("warnings" in command) {
      for (const warning of command.warnings) console.error(`Warning: ${warning}`);
    }
    switch (command.kind) {
      case "help":
      case "version":
        console.log(command.text);
        return EXIT_OK;
      case "mock":
        return await serveMock(command.mock);
      case "run":
        return await runWithSignals(command.config);
      case "demo":
        return await runDemo(command.config);
      case "probe":
        return await runProbeCommand(command.config, terminalOutput());
      case "history":
        return await runHistoryCommand(command.command, terminalOutput(), {
          width: Deno.stdout.isTerminal() ? Deno.consoleSize().columns : undefined,
        });
      case "merge":
        return await runMergeCommand(command.merge, terminalOutput());
      case "sweep":
        return await withSignals((output, hooks) => runSweepCommand(command.sweep, output, hooks));
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`llmload: ${error.message}`);
      return EXIT_USAGE;
    }
    if (error instanceof StartError) {
      console.error(`llmload: ${error.message}`);
      return EXIT_FAILED;
    }
    throw error;
  }
}

/** Output to the terminal: results on stdout, progress and notes on stderr. */
function terminalOutput(): CommandOutput {
  const live = Deno.stderr.isTerminal();
  let statusShown = false;
  function clearStatus() {
    if (statusShown) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    statusShown = false;
  }
  return {
    out(text) {
      clearStatus();
      console.log(text);
    },
    log(line) {
      clearStatus();
      console.error(line);
    },
    status: live
      ? (line) => {
        Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
        statusShown = true;
      }
      : undefined,
  };
}

/**
 * Ctrl+C or SIGTERM once: graceful stop, results printed and written; twice: cut in-flight
 * requests off. Before the load has started (while the target is resolved, say) there is
 * nothing to cut off, so a second signal ends llmload at once.
 */
function runWithSignals(config: RunConfig): Promise<number> {
  return withSignals(async (output, hooks) => (await runCommand(config, output, hooks)).exitCode);
}

/** Runs `body` with the terminal's output and Ctrl+C wired to its stop and abort signals. */
async function withSignals(
  body: (output: CommandOutput, hooks: RunHooks) => Promise<number>,
): Promise<number> {
  const stop = new AbortController();
  const abort = new AbortController();
  const output = terminalOutput();
  let started = false;
  let quit: (code: number) => void = () => {};
  const quitEarly = new Promise<number>((resolve) => quit = resolve);
  const onSignal = () => {
    if (!stop.signal.aborted) {
      output.log(
        started
          ? "Stopping: waiting for requests in flight (Ctrl+C again to cut them off)"
          : "Stopping: the load will not start (Ctrl+C again to quit at once)",
      );
      stop.abort();
    } else if (started) abort.abort();
    else {
      output.log("Stopped before the load started");
      quit(EXIT_FAILED);
    }
  };
  const signals = listenForSignals(onSignal);
  try {
    const run = body(output, {
      stopSignal: stop.signal,
      abortSignal: abort.signal,
      control: () => started = true,
    });
    return await Promise.race([run, quitEarly]);
  } finally {
    signals();
  }
}

/** Starts the mock in-process and runs the load test against it. */
async function runDemo(config: RunConfig): Promise<number> {
  const mock = await startMock({ ...DEMO_MOCK, maxRecords: 1000 });
  console.error(
    `Demo: mock server at ${mock.url} (TTFT ${DEMO_MOCK.ttftMs} ms, ITL ${DEMO_MOCK.itlMs} ms, ` +
      `jitter ±${DEMO_MOCK.jitter * 100}%)`,
  );
  try {
    return await runWithSignals({ ...config, host: mock.url });
  } finally {
    await mock.close();
  }
}

/** `llmload mock`: serves until Ctrl+C or SIGTERM. */
async function serveMock(options: MockCommandOptions): Promise<number> {
  const mock = await startMock({ ...options, models: [...options.models], maxRecords: 100_000 });
  console.log(`llmload mock listening on ${mock.url}`);
  await new Promise<void>((resolve) => {
    const stopListening = listenForSignals(() => {
      stopListening();
      resolve();
    });
  });
  await mock.close();
  return EXIT_OK;
}

/** Listens for SIGINT (and SIGTERM where it exists); returns the function that stops listening. */
function listenForSignals(handler: () => void): () => void {
  const names: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  names.forEach((name) => Deno.addSignalListener(name, handler));
  return () => names.forEach((name) => Deno.removeSignalListener(name, handler));
}

if (import.meta.main) Deno.exit(await main(Deno.args));
