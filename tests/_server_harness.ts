/**
 * Test harness for the results server: live views built from real recorders, and in-process
 * runs with `--serve` whose address is known as soon as the server listens. Private to the
 * tests.
 *
 * @module
 */
import type { LiveView, RunState } from "../run/types.ts";
import type { MockServer } from "../mock/server.ts";
import { runCommand } from "../cli/run.ts";
import type { RunSignals } from "../cli/run.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { Recorder } from "../stats/recorder.ts";
import type { RequestFailure, RequestRecord } from "../request/types.ts";
import type { RunConfig } from "../options/types.ts";
import type { Results } from "../output/results.ts";
import { redactConfig } from "../common/secrets.ts";
import { runConfig } from "./_fixtures.ts";

/** A successful request of `ttftMs`, `itlMs` between tokens and `tokens` tokens. */
export function requestRecord(
  ttftMs: number,
  options: { itlMs?: number; tokens?: number; start?: number } = {},
): RequestRecord {
  const tokens = options.tokens ?? 5;
  const itl = Array(tokens - 1).fill(options.itlMs ?? 10);
  return {
    start: options.start ?? 1_000_000,
    ttft: ttftMs,
    ttfvt: ttftMs,
    totalLatency: ttftMs + itl.reduce((sum, gap) => sum + gap, 0),
    itl,
    outputTokens: tokens,
    tokenSource: "usage",
    promptTokens: 20,
    chars: tokens * 4,
    maxTokens: tokens,
  };
}

/** An aggregate holding exactly these requests and failures, recorded the way shards do. */
export function aggregateOf(
  records: readonly RequestRecord[],
  failures: readonly RequestFailure[] = [],
  capped = 0,
): Aggregate {
  const recorder = new Recorder();
  records.forEach((record) => recorder.recordRequest(record));
  failures.forEach((failure) => recorder.recordFailure(failure));
  recorder.noteCapped(capped);
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  return aggregate;
}

/** What a view may override. */
export interface ViewParts {
  state?: RunState;
  startedAt?: number;
  now?: number;
  aggregate?: Aggregate;
  interval?: Aggregate;
  inFlight?: number;
  users?: number;
  qps?: number;
  warnings?: string[];
  cpu?: number;
  saturated?: boolean;
}

/** A live view as the coordinator hands it out. */
export function liveView(config: RunConfig, parts: ViewParts = {}): LiveView {
  const startedAt = parts.startedAt ?? 1_800_000_000_000;
  return {
    state: parts.state ?? "running",
    config: redactConfig(config),
    target: {
      model: config.model ?? "mock-model",
      modelReason: "test",
      provider: config.provider ?? "vllm",
      providerReason: "test",
    },
    startedAt,
    windowStart: startedAt,
    now: parts.now ?? startedAt + 1000,
    aggregate: parts.aggregate ?? new Aggregate(),
    interval: parts.interval ?? new Aggregate(),
    inFlight: parts.inFlight ?? 0,
    load: { users: parts.users ?? config.users, qps: parts.qps ?? config.qps },
    warnings: parts.warnings ?? [],
    generationTokens: "Constant(5)",
    client: {
      cpu: parts.cpu ?? 0.1,
      loopLagMs: 1,
      saturated: parts.saturated ?? false,
      delayed: false,
    },
  };
}

/** A run with `--serve` going on in the background. */
export interface ServedRun {
  /** Base URL of the results server, once it listens. */
  readonly url: Promise<string>;
  /** Resolves when `runCommand` returns. */
  readonly finished: Promise<{ exitCode: number; out: string; log: string[]; results: Results }>;
  /** Progress and information lines so far. */
  readonly log: string[];
  /** Stops the run as a first Ctrl+C does. */
  stop(): void;
  /** Cuts the run off as a second Ctrl+C does. */
  abort(): void;
}

/**
 * Starts llmload in-process against `mock` with `args` (add `--serve 127.0.0.1:0` to serve on a
 * free port) and returns at once.
 */
export function startServedRun(
  mock: MockServer,
  args: string[],
  hooks: Pick<RunSignals, "control"> = {},
): ServedRun {
  const config = runConfig(["-H", mock.url, ...args]);
  const stop = new AbortController();
  const abort = new AbortController();
  const out: string[] = [];
  const log: string[] = [];
  let announce: (url: string) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const url = new Promise<string>((resolve, reject) => {
    announce = resolve;
    fail = reject;
  });
  const finished = runCommand(config, {
    out: (text) => out.push(text),
    log: (line) => log.push(line),
  }, {
    stopSignal: stop.signal,
    abortSignal: abort.signal,
    onListen: announce,
    ...hooks,
  }).then(({ exitCode, results }) => {
    fail(new Error(`The run ended before serving:\n${log.join("\n")}`));
    return { exitCode, out: out.join("\n"), log, results };
  });
  finished.catch((error) => fail(error));
  return {
    url,
    finished,
    log,
    stop: () => stop.abort(),
    abort: () => abort.abort(),
  };
}

/** Resolves after `ms`; for pacing a test against a real run, never for waiting on results. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every 100 ms until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await pause(100);
  }
}
