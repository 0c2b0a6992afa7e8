import assert from "node:assert/strict";
import {
  centerPython,
  formatMetricTable,
  formatPythonFloat,
  formatSummaryBlock,
  type SummaryInfo,
} from "../output/report.ts";
import { buildResults, type Results } from "../output/results.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { Recorder } from "../stats/recorder.ts";
import type { RequestFailure, RequestRecord } from "../request/types.ts";
import { runConfig } from "./_fixtures.ts";

const config = runConfig([
  "-H",
  "http://127.0.0.1:8000",
  "-u",
  "4",
  "-r",
  "4",
  "-o",
  "32",
  "--workers",
  "1",
  "--timeout",
  "60s",
]);

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    start: 0,
    totalLatency: 100,
    itl: [],
    outputTokens: 32,
    tokenSource: "usage",
    chars: 128,
    maxTokens: 32,
    ...overrides,
  };
}

function resultsOf(
  records: RequestRecord[],
  options: { durationMs: number; provider: string; model: string; failures?: RequestFailure[] },
): Results {
  const recorder = new Recorder();
  for (const rec of records) recorder.recordRequest(rec);
  for (const failure of options.failures ?? []) recorder.recordFailure(failure);
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  return buildResults(aggregate, {
    provider: options.provider,
    model: options.model,
    config,
    startedAt: 0,
    endedAt: options.durationMs,
    durationMs: options.durationMs,
  });
}

// The lower latencies sit at the top of their HDR bucket (1,000,447 µs is the top of
// 999,936..1,000,447), so the p50 the histogram reports is the recorded value itself.
function streamingResults(): Results {
  return resultsOf([
    record({ ttft: 1.25, ttfvt: 1.25, totalLatency: 100, outputTokens: 11, promptTokens: 512 }),
    record({ ttft: 1.5, ttfvt: 1.5, totalLatency: 201.599, outputTokens: 21, promptTokens: 512 }),
    record({ ttft: 2, ttfvt: 2, totalLatency: 300, outputTokens: 31, promptTokens: 514 }),
  ], { durationMs: 6000, provider: "vllm", model: "llama" });
}

const streamingInfo: SummaryInfo = {
  generationTokens: "Constant(32)",
  users: 4,
  qpsDistribution: "constant",
  stream: true,
  temperature: 1,
  promptTokens: 512,
};

// Expected texts were printed by the seed's own loop (Python 3) from the same values.
Deno.test("summary block of a streamed run matches the seed's text", () => {
  assert.equal(
    formatSummaryBlock(streamingResults(), streamingInfo),
    [
      "=================================== Summary ====================================",
      "Provider                 : vllm",
      "Model                    : llama",
      "Prompt Tokens            : 512.6666666666666",
      "Generation Tokens        : Constant(32)",
      "Stream                   : True",
      "Temperature              : 1.0",
      "Logprobs                 : None",
      "Concurrency              : 4",
      "Time To First Token      : 1.5833333333333333",
      "Latency Per Token        : 9.373",
      "Num Tokens               : 21.0",
      "Total Latency            : 200.533",
      "Num Requests             : 3",
      "Qps                      : 0.5",
      "P50 Time To First Token  : 1.5",
      "P90 Time To First Token  : 2.0",
      "P99 Time To First Token  : 2.0",
      "P99.9 Time To First Token: 2.0",
      "P50 Total Latency        : 201.599",
      "P90 Total Latency        : 300.0",
      "P99 Total Latency        : 300.0",
      "P99.9 Total Latency      : 300.0",
      "================================================================================",
    ].join("\n"),
  );
});

Deno.test("summary block of a non-streamed QPS run blanks TTFT and latency per token", () => {
  const results = resultsOf([
    record({ totalLatency: 1000.447 }),
    record({ totalLatency: 2000 }),
  ], { durationMs: 4000, provider: "openai", model: "gpt" });
  const info: SummaryInfo = {
    generationTokens: "uniform(24, 40)",
    users: 100,
    qps: 0.5,
    qpsDistribution: "constant",
    stream: false,
    temperature: 0.7,
    logprobs: 5,
    promptTokens: 512,
  };
  assert.equal(
    formatSummaryBlock(results, info),
    [
      "=================================== Summary ====================================",
      "Provider                 : openai",
      "Model                    : gpt",
      "Prompt Tokens            : 512",
      "Generation Tokens        : uniform(24, 40)",
      "Stream                   : False",
      "Temperature              : 0.7",
      "Logprobs                 : 5",
      "Concurrency              : QPS 0.5 constant",
      "Time To First Token      : ",
      "Latency Per Token        : ",
      "Num Tokens               : 32.0",
      "Total Latency            : 1500.2235",
      "Num Requests             : 2",
      "Qps                      : 0.5",
      "P50 Time To First Token  : ",
      "P90 Time To First Token  : ",
      "P99 Time To First Token  : ",
      "P99.9 Time To First Token: ",
      "P50 Total Latency        : 1000.447",
      "P90 Total Latency        : 2000.0",
      "P99 Total Latency        : 2000.0",
      "P99.9 Total Latency      : 2000.0",
      "================================================================================",
    ].join("\n"),
  );
});

Deno.test("summary block of a run without successes says None", () => {
  const results = resultsOf([], {
    durationMs: 1000,
    provider: "vllm",
    model: "llama",
    failures: [{ kind: "connect", message: "Connection refused" }],
  });
  const lines = formatSummaryBlock(results, streamingInfo).split("\n");
  assert.ok(lines.includes("Total Latency            : None"));
  assert.ok(lines.includes("Time To First Token      : None"));
  assert.ok(lines.includes("Num Requests             : 0"));
  assert.ok(lines.includes("Qps                      : 0.0"));
});

Deno.test("formatPythonFloat and centerPython follow Python", () => {
  // Each pair: a number and Python 3's repr of it.
  const cases: [number, string][] = [
    [100, "100.0"],
    [0.5, "0.5"],
    [1e-5, "1e-05"],
    [1e-4, "0.0001"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1e16, "1e+16"],
    [1234567890123456, "1234567890123456.0"],
    [1.5e300, "1.5e+300"],
    [-2.5e-7, "-2.5e-07"],
    [123456789.123, "123456789.123"],
    [5e-324, "5e-324"],
    [1 / 3, "0.3333333333333333"],
    [0, "0.0"],
    [Infinity, "inf"],
  ];
  for (const [value, expected] of cases) assert.equal(formatPythonFloat(value), expected);
  assert.equal(centerPython(" Summary ", 80, "="), "=".repeat(35) + " Summary " + "=".repeat(36));
  assert.equal(centerPython("ab", 5, "*"), "**ab*");
  assert.equal(centerPython("a", 4, "*"), "*a**");
  assert.equal(centerPython("abc", 6, "*"), "*abc**");
  assert.equal(centerPython("abc", 2), "abc");
});

Deno.test("metric table: aligned rows for metrics with samples, failures, tokens, throughput", () => {
  const results = resultsOf([
    // Streamed in more than one chunk (an ITL gap each), so tpot has decode time to divide.
    record({
      ttft: 1.25,
      ttfvt: 1.25,
      totalLatency: 100,
      outputTokens: 11,
      maxTokens: 32,
      itl: [9],
    }),
    record({ ttft: 2, ttfvt: 2, totalLatency: 300, outputTokens: 31, maxTokens: 32, itl: [9] }),
  ], {
    durationMs: 2000,
    provider: "vllm",
    model: "llama",
    failures: [
      { kind: "http_5xx", message: "Service unavailable", status: 503 },
      { kind: "http_5xx", message: "Bad gateway", status: 502 },
      { kind: "http_5xx", message: "Service unavailable", status: 503 },
      { kind: "timeout", message: "Request timed out after 60000 ms" },
    ],
  });
  const text = formatMetricTable(results);
  const lines = text.split("\n");
  const tableEnd = lines.indexOf("");
  const table = lines.slice(0, tableEnd);

  assert.match(
    table[0],
    /^metric\s+unit\s+count\s+mean\s+min\s+p50\s+p90\s+p95\s+p99\s+p99\.9\s+max$/,
  );
  assert.deepEqual(table.map((line) => line.split(/\s+/)[0]), [
    "metric",
    "ttft",
    "ttfvt",
    "total_latency",
    "tpot",
    "itl",
    "latency_per_token",
    "overall_latency_per_token",
    "latency_per_char",
    "num_tokens",
  ]);
  // Right-aligned numbers: every row ends at the same column.
  assert.equal(new Set(table.map((line) => line.length)).size, 1);
  // p50 is the top of 100,000 µs's HDR bucket (99,968..100,031); min and max are exact.
  assert.deepEqual(
    table[3].split(/\s+/),
    ["total_latency", "ms", "2", "200.00", "100.00", "100.03", "300.00", "300.00", "300.00"]
      .concat(["300.00", "300.00"]),
  );
  assert.deepEqual(
    table[9].split(/\s+/),
    ["num_tokens", "tokens", "2", "21.00", "11", "11", "31", "31", "31", "31", "31"],
  );

  const rest = lines.slice(tableEnd).join("\n");
  assert.match(rest, /Failures: 4 of 6 requests \(66\.7%\)/);
  assert.match(
    rest,
    /http_5xx\s+3\s+\(status 503: 2, 502: 1\)\n\s+Service unavailable\n\s+Bad gateway/,
  );
  assert.match(rest, /timeout\s+1\s*\n\s+Request timed out after 60000 ms/);
  assert.match(rest, /Output tokens counted from: usage 2/);
  assert.match(
    rest,
    /Max tokens mismatch: 2 of 2 requests did not generate exactly max_tokens \(asked 32 got 11; asked 32 got 31\)/,
  );
  assert.match(rest, /Requests: 2 ok, 4 failed, 6 total in 2\.00 s/);
  assert.match(
    rest,
    /Throughput: 1\.00 requests\/s, 21\.00 output tokens\/s, 21\.00 total tokens\/s/,
  );
  assert.ok(!rest.includes("In-flight cap"));
});

Deno.test("metric table of a run without successes says so", () => {
  const results = resultsOf([], {
    durationMs: 1000,
    provider: "vllm",
    model: "llama",
    failures: [{ kind: "connect", message: "Connection refused" }],
  });
  const text = formatMetricTable(results);
  assert.match(text, /^No successful requests: no metrics to show\n\nFailures: 1 of 1 requests/);
});
