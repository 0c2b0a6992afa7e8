import assert from "node:assert/strict";
import { join } from "node:path";
import type { SummaryInfo } from "../output/report.ts";
import { buildResults, type Results } from "../output/results.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { Recorder } from "../stats/recorder.ts";
import { appendSummaryRow, summaryRow } from "../output/summary_csv.ts";
import type { RequestRecord } from "../request/types.ts";
import { runConfig } from "./_fixtures.ts";

const config = runConfig([
  "-H",
  "http://127.0.0.1:8000",
  "-u",
  "4",
  "-r",
  "4",
  "-o",
  "11",
  "--workers",
  "1",
  "--timeout",
  "60s",
]);

const info: SummaryInfo = {
  generationTokens: "Constant(11)",
  users: 4,
  qpsDistribution: "constant",
  stream: true,
  temperature: 1,
  promptTokens: 512,
};

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    start: 0,
    ttft: 1,
    ttfvt: 1,
    totalLatency: 21,
    itl: [],
    outputTokens: 11,
    tokenSource: "usage",
    promptTokens: 100,
    chars: 44,
    maxTokens: 11,
    ...overrides,
  };
}

// Values below 2.048 ms are exact in the histogram, and 16.007 ms is the top of its bucket, so
// every percentile below is the recorded value itself.
function results(): Results {
  const recorder = new Recorder();
  recorder.recordRequest(record({ totalLatency: 21, itl: [1.5, 2] })); // tpot 2.0
  recorder.recordRequest(record({ totalLatency: 16.007, itl: [1, 1.25] })); // tpot 1.501
  recorder.recordFailure({ kind: "http_5xx", message: "Overloaded", status: 503 });
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  return buildResults(aggregate, {
    provider: "vllm",
    model: "llama",
    config,
    startedAt: 0,
    endedAt: 2000,
    durationMs: 2000,
  });
}

const HEADER = "Provider,Model,Prompt Tokens,Generation Tokens,Stream,Temperature,Logprobs," +
  "Concurrency,Time To First Token,Latency Per Token,Num Tokens,Total Latency,Num Requests," +
  "Qps,P50 Time To First Token,P90 Time To First Token,P99 Time To First Token," +
  "P99.9 Time To First Token,P50 Total Latency,P90 Total Latency,P99 Total Latency," +
  "P99.9 Total Latency,Failed Requests,Output Tokens Per Sec,Total Tokens Per Sec,P50 Itl," +
  "P90 Itl,P99 Itl,P50 Tpot,P90 Tpot,P99 Tpot,Duration S";
const ROW = "vllm,llama,100.0,Constant(11),True,1.0,,4,1.0,1.591,11.0,18.5035,2,1.0," +
  "1.0,1.0,1.0,1.0,16.007,21.0,21.0,21.0,1,11.0,111.0,1.25,2.0,2.0,1.501,2.0,2.0,2.0";

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "llmload_csv_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("summaryRow: the summary block's entries, then the extra columns", () => {
  const row = summaryRow(results(), info);
  assert.equal(Object.keys(row).join(","), HEADER);
  assert.equal(Object.values(row).join(","), ROW);
});

Deno.test("appendSummaryRow writes the header once across two appends", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "summary.csv");
    const row = summaryRow(results(), info);
    assert.equal(await appendSummaryRow(path, row), undefined);
    // A value with a comma gets quoted, as Python's csv module quotes it.
    const second = summaryRow(results(), { ...info, generationTokens: "Uniform(8, 16)" });
    assert.equal(await appendSummaryRow(path, second), undefined);
    const secondLine = ROW.replace("Constant(11)", '"Uniform(8, 16)"');
    assert.equal(await Deno.readTextFile(path), `${HEADER}\n${ROW}\n${secondLine}\n`);
    assert.deepEqual(await listDir(dir), ["summary.csv"]);
  });
});

Deno.test("appendSummaryRow writes the header into an existing empty file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "summary.csv");
    await Deno.writeTextFile(path, "");
    assert.equal(await appendSummaryRow(path, summaryRow(results(), info)), undefined);
    assert.equal(await Deno.readTextFile(path), `${HEADER}\n${ROW}\n`);
  });
});

Deno.test("appendSummaryRow appends under a different header, with a warning", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "summary.csv");
    // A seed-written file: Python's csv uses \r\n; this one also lacks its final newline.
    await Deno.writeTextFile(path, "Provider,Model\r\nfireworks,llama");
    const warning = await appendSummaryRow(path, summaryRow(results(), info));
    assert.equal(
      warning,
      `Summary file '${path}' has different columns than this run; the row was appended anyway`,
    );
    assert.equal(
      await Deno.readTextFile(path),
      `Provider,Model\r\nfireworks,llama\r\n${ROW}\r\n`,
    );
  });
});

Deno.test("concurrent appends neither interleave nor repeat the header", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "summary.csv");
    const rows = Array.from(
      { length: 20 },
      (_, i) => summaryRow(results(), { ...info, generationTokens: `Constant(${i})` }),
    );
    const warnings = await Promise.all(rows.map((row) => appendSummaryRow(path, row)));
    assert.deepEqual(warnings, Array(20).fill(undefined));
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines[0], HEADER);
    const body = lines.slice(1).sort();
    const expected = rows.map((_, i) => ROW.replace("Constant(11)", `Constant(${i})`)).sort();
    assert.deepEqual(body, expected);
    assert.deepEqual(await listDir(dir), ["summary.csv"]);
  });
});

Deno.test("appendSummaryRow names the file when it cannot write", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "missing", "summary.csv");
    await assert.rejects(
      appendSummaryRow(path, summaryRow(results(), info)),
      /^Error: Cannot append to summary file '.*summary\.csv': /,
    );
  });
});
