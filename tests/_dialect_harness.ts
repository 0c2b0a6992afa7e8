/**
 * Helpers shared by the per-dialect tests (`provider_*_test.ts`): reading recorded wire samples
 * through a provider, and a short end-to-end run against the mock speaking a dialect. Private to
 * the tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createEventDecoder } from "../request/stream_decoder.ts";
import type { MockOptions, MockRecord } from "../mock/server.ts";
import type { Chunk, Provider } from "../providers/types.ts";
import { type CapturedRun, runAgainst, withMock } from "./_harness.ts";

/** Reads a file under `tests/testdata/`. */
export function testdata(path: string): string {
  return Deno.readTextFileSync(new URL(`./testdata/${path}`, import.meta.url));
}

/**
 * Decodes a recorded stream's bytes with the provider's framing and reads every event as the
 * request path does (the fast path, else the full parse): the end marker is `null` and never
 * reaches the provider.
 */
export function parseRecordedStream(provider: Provider, path: string): Array<Chunk | null> {
  const chunks: Array<Chunk | null> = [];
  const decoder = createEventDecoder(provider.framing, (data) => {
    chunks.push(provider.fastEvent?.(data) ?? provider.parseEvent(data));
  }, { endMarker: provider.endMarker, onEndMarker: () => chunks.push(null) });
  decoder.feed(new TextEncoder().encode(testdata(path)));
  decoder.end();
  return chunks;
}

/** What the chunks of one response add up to, the way `request/run_request.ts` adds them. */
export interface Totals {
  /** Visible text. */
  readonly text: string;
  /** Reasoning text. */
  readonly reasoning: string;
  /** Sum of logprob token counts, if any chunk had one. */
  readonly logprobTokens?: number;
  /** The last usage seen. */
  readonly usage?: Chunk["usage"];
}

/** Adds up chunks: text and reasoning joined, logprob tokens summed, the last usage kept. */
export function totals(chunks: ReadonlyArray<Chunk | null>): Totals {
  let text = "";
  let reasoning = "";
  let logprobTokens: number | undefined;
  let usage: Chunk["usage"];
  for (const chunk of chunks) {
    if (chunk === null) continue;
    text += chunk.text;
    reasoning += chunk.reasoning;
    if (chunk.logprobTokens !== undefined) {
      logprobTokens = (logprobTokens ?? 0) + chunk.logprobTokens;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, reasoning, logprobTokens, usage };
}

/** One end-to-end run and what the mock saw. */
export interface DialectRun {
  /** What llmload printed and returned. */
  readonly run: CapturedRun;
  /** The mock's records of generation requests. */
  readonly records: MockRecord[];
}

/**
 * Runs llmload for a few requests (`--max-requests`) against a mock started with `options`, with
 * `args` added to `-u 1 -o <tokens> --warmup 0`; asserts the run succeeded.
 */
export async function runDialect(
  options: MockOptions,
  args: string[],
  settings: { tokens?: number; requests?: number } = {},
): Promise<DialectRun> {
  const tokens = settings.tokens ?? 12;
  const requests = settings.requests ?? 3;
  return await withMock({ ttftMs: 2, itlMs: 1, ...options }, async (mock) => {
    const run = await runAgainst(mock, [
      "-u",
      "1",
      "-o",
      String(tokens),
      "-p",
      "40",
      "--warmup",
      "0",
      "-t",
      "20s",
      "--max-requests",
      String(requests),
      ...args,
    ]);
    assert.equal(run.exitCode, 0, [...run.log, run.out].join("\n"));
    const records = mock.records().filter((record) => record.path !== "/v1/models");
    return { run, records };
  });
}

/** The count of each output token source the run reported, e.g. `{ usage: 3 }`. */
export function tokenSources(run: CapturedRun): Record<string, number> {
  const line = run.out.split("\n").find((text) => text.startsWith("Output tokens counted from:"));
  const sources: Record<string, number> = {};
  for (const part of line?.slice("Output tokens counted from:".length).split(",") ?? []) {
    const [source, count] = part.trim().split(" ");
    if (source) sources[source] = Number(count);
  }
  return sources;
}

/** The mean of a metric in the run's table, e.g. `num_tokens`. */
export function metricMean(run: CapturedRun, metric: string): number | undefined {
  const row = run.out.split("\n").find((line) => line.startsWith(`${metric} `));
  const value = row?.trim().split(/\s+/)[3];
  return value === undefined ? undefined : Number(value);
}
