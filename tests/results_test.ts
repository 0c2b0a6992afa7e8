import assert from "node:assert/strict";
import { join } from "node:path";
import * as hdr from "hdr-histogram-js";
import { buildResults, type Results, writeResultsJson } from "../output/results.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { Recorder } from "../stats/recorder.ts";
import type { RequestRecord } from "../request/types.ts";
import { runConfig } from "./_fixtures.ts";

const API_KEY = "sk-test-0123456789abcdef";

const config = runConfig(["-u", "4", "-r", "4", "-t", "2s", "-o", "10", "--warmup", "0"], {
  host: "http://bob:hunter2@127.0.0.1:8000",
  model: "llama",
  apiKey: API_KEY,
  headers: {
    Authorization: `Bearer ${API_KEY}`,
    "X-Trace": "run-7",
    "X-Forward-Key": `key=${API_KEY}`,
  },
  workers: 1,
  timeoutMs: 60_000,
});

function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    start: 0,
    ttft: 100,
    ttfvt: 100,
    totalLatency: 1000,
    itl: [100, 100],
    outputTokens: 10,
    tokenSource: "usage",
    promptTokens: 5,
    chars: 40,
    maxTokens: 10,
    ...overrides,
  };
}

function sampleResults(): Results {
  const recorder = new Recorder();
  for (let i = 0; i < 4; i++) recorder.recordRequest(record({ totalLatency: 1000 + i * 100 }));
  recorder.recordFailure({ kind: "http_5xx", message: "Service unavailable", status: 503 });
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  return buildResults(aggregate, {
    provider: "vllm",
    model: "llama",
    config,
    startedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
    endedAt: new Date(Date.UTC(2025, 0, 2, 3, 4, 7)),
    durationMs: 2000,
    warnings: ["Server ignored max_tokens"],
  });
}

Deno.test("buildResults counts, rates and units come out right", () => {
  const results = sampleResults();
  assert.equal(results.schemaVersion, 1);
  assert.equal(results.tool.name, "llmload");
  assert.match(results.tool.version, /^\d+\.\d+\.\d+/);
  assert.equal(results.provider, "vllm");
  assert.equal(results.startedAt, "2025-01-02T03:04:05.000Z");
  assert.equal(results.endedAt, "2025-01-02T03:04:07.000Z");
  assert.equal(results.partial, false);
  assert.deepEqual(results.requests, { ok: 4, failed: 1, total: 5 });
  assert.deepEqual(results.throughput, {
    requestsPerSec: 2,
    outputTokensPerSec: 20, // 40 tokens in 2 s
    totalTokensPerSec: 30, // plus 20 prompt tokens
  });
  assert.equal(results.metrics.total_latency?.unit, "ms");
  assert.equal(results.metrics.total_latency?.mean, 1150);
  assert.equal(results.metrics.tpot?.unit, "ms/token");
  assert.equal(results.metrics.latency_per_char?.unit, "ms/char");
  assert.equal(results.metrics.num_tokens?.unit, "tokens");
  assert.equal(results.metrics.send_lag, undefined);
  assert.deepEqual(results.failures.http_5xx?.statuses, { "503": 1 });
  assert.deepEqual(results.warnings, ["Server ignored max_tokens"]);

  // The histograms are the real ones: they decode to the recorded samples in microseconds.
  const latency = hdr.decodeFromCompressedBase64(results.histograms.total_latency!, 64, false);
  assert.equal(latency.totalCount, 4);
  // 1,300,000 µs sits in a bucket 1024 wide: 1,299,456 .. 1,300,479.
  assert.equal(latency.getValueAtPercentile(100), 1_300_479);
  assert.deepEqual(Object.keys(results.histograms), Object.keys(results.metrics));
});

Deno.test("buildResults never carries credentials", () => {
  const results = sampleResults();
  assert.equal("apiKey" in results.config, false);
  assert.deepEqual(results.config.headers, { "X-Trace": "run-7" });
  assert.equal(results.config.host, "http://bob:***@127.0.0.1:8000");
  const text = JSON.stringify(results);
  assert.ok(!text.includes(API_KEY));
  assert.ok(!text.includes("hunter2"));
  assert.equal(results.config.users, 4);
});

Deno.test("writeResultsJson round-trips through a real file and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llmload_results_" });
  try {
    const path = join(dir, "results.json");
    const results = sampleResults();
    await writeResultsJson(path, results);
    const text = await Deno.readTextFile(path);
    assert.deepEqual(JSON.parse(text), results);
    assert.ok(!text.includes(API_KEY));

    // Replacing an existing file works the same way.
    const partial = { ...results, partial: true };
    await writeResultsJson(path, partial);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), partial);

    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, ["results.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write keeps the existing file whole and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llmload_results_" });
  try {
    const path = join(dir, "results.json");
    await Deno.writeTextFile(path, '{"old":true}\n');

    // Cannot serialise: fails before any file is touched.
    const broken = { ...sampleResults(), durationMs: 1n } as unknown as Results;
    await assert.rejects(writeResultsJson(path, broken), TypeError);
    assert.equal(await Deno.readTextFile(path), '{"old":true}\n');

    // Cannot rename over a non-empty directory: the temp file is cleaned up.
    const blocked = join(dir, "blocked");
    await Deno.mkdir(blocked);
    await Deno.writeTextFile(join(blocked, "keep"), "x");
    await assert.rejects(
      writeResultsJson(blocked, sampleResults()),
      /^Error: Cannot write results to '.*blocked': /,
    );

    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["blocked", "results.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("results written to /dev/null leave the device in place", async () => {
  if (Deno.build.os === "windows") return;
  await writeResultsJson("/dev/null", sampleResults());
  const device = await Deno.stat("/dev/null");
  assert.equal(device.isFile, false);
  assert.equal(device.isCharDevice, true);
});
