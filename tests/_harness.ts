/**
 * Test harness: runs llmload in-process against a real mock server on 127.0.0.1, capturing what
 * it prints. Private to the tests.
 *
 * @module
 */
import { runConfig } from "./_fixtures.ts";
import { startMock } from "../mock/server.ts";
import type { MockOptions, MockRecord, MockServer } from "../mock/server.ts";
import { runCommand } from "../cli/run.ts";
import type { RunIo } from "../run/types.ts";
import type { RunConfig } from "../options/types.ts";
import type { Results } from "../output/results.ts";

/** What one in-process run printed and returned. */
export interface CapturedRun {
  /** The exit code `main` would return. */
  readonly exitCode: number;
  /** Results text (table and summary block). */
  readonly out: string;
  /** Progress and information lines. */
  readonly log: string[];
  /** The configuration the arguments produced. */
  readonly config: RunConfig;
  /** The results the outputs received, as the results JSON holds them. */
  readonly results: Results;
}

/** Runs llmload with `args` against `mock` and captures its output. */
export async function runAgainst(
  mock: MockServer,
  args: string[],
  signals: Pick<RunIo, "stopSignal" | "abortSignal" | "control"> = {},
): Promise<CapturedRun> {
  const config = runConfig(["-H", mock.url, ...args]);
  const out: string[] = [];
  const log: string[] = [];
  const { exitCode, results } = await runCommand(config, {
    out: (text) => out.push(text),
    log: (line) => log.push(line),
  }, signals);
  return { exitCode, out: out.join("\n"), log, config, results };
}

/** The load requests among the mock's records: every path under /v1/ but the model list. */
export function completionRecords(records: readonly MockRecord[]): MockRecord[] {
  return records.filter((record) => record.path.startsWith("/v1/") && record.path !== "/v1/models");
}

/** Starts a mock, runs `body` with it, and always closes it. */
export async function withMock<T>(
  options: MockOptions,
  body: (mock: MockServer) => Promise<T>,
): Promise<T> {
  const mock = await startMock(options);
  try {
    return await body(mock);
  } finally {
    await mock.close();
  }
}

/** A temporary directory, removed after `body`. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "llmload-test-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
