/**
 * The shard side of the stats records raw samples, not histograms: a `SampleBuffer` and a
 * `Recorder` hand over exactly what was recorded, in order, across growth and takes; an
 * `Aggregate` fed those raw samples holds the same histograms as one that recorded the values
 * itself; and a real run against the mock still measures what the mock served.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as hdr from "hdr-histogram-js";
import { Aggregate } from "../stats/aggregate.ts";
import {
  createAccumulator,
  encodeAccumulator,
  recordValue,
  summarise,
} from "../stats/histogram.ts";
import { displayScale } from "../stats/metrics.ts";
import { Recorder } from "../stats/recorder.ts";
import { SampleBuffer } from "../stats/sample_buffer.ts";
import type { RequestRecord } from "../request/types.ts";
import { runAgainst, withMock } from "./_harness.ts";

/** A streamed record with the given gaps (ms) between its tokens. */
function streamed(itl: number[]): RequestRecord {
  return {
    start: 1_000_000,
    ttft: 100,
    totalLatency: 100 + itl.reduce((sum, gap) => sum + gap, 0),
    itl,
    outputTokens: itl.length + 1,
    tokenSource: "usage",
    chars: 4 * (itl.length + 1),
    maxTokens: itl.length + 1,
  };
}

/** Concatenates typed arrays into one plain array. */
function joined(parts: readonly Float64Array[]): number[] {
  return parts.flatMap((part) => Array.from(part));
}

Deno.test("a sample buffer hands over every sample in order, across growth and takes", () => {
  const buffer = new SampleBuffer();
  const taken: Float64Array[] = [];
  // 5,000 samples grow the 512-slot store three times; takes fall before, at and after growth.
  const takeAt = new Set([1, 511, 512, 513, 1500, 4096]);
  for (let i = 0; i < 5000; i++) {
    buffer.push(i * 1.5);
    if (takeAt.has(i + 1)) taken.push(buffer.take());
  }
  taken.push(buffer.take());
  assert.deepEqual(joined(taken), Array.from({ length: 5000 }, (_, i) => i * 1.5));
  assert.deepEqual(taken.map((part) => part.length), [1, 510, 1, 1, 987, 2596, 904]);
  assert.equal(buffer.length, 0);
  assert.equal(buffer.take().length, 0);

  // A taken array is a copy: filling the buffer again leaves it as it was.
  buffer.push(7);
  const first = buffer.take();
  buffer.push(8);
  assert.deepEqual(Array.from(first), [7]);
  assert.deepEqual(Array.from(buffer.take()), [8]);
});

Deno.test("a recorder's deltas carry exactly the ITL samples recorded, in µs, in order", () => {
  const recorder = new Recorder();
  const expected: number[] = [];
  const itls: Float64Array[] = [];
  const ok: number[] = [];
  for (let request = 0; request < 62; request++) {
    // 100 gaps per request: 6,200 in all, past two doublings of the buffer.
    const itl = Array.from({ length: 100 }, (_, i) => 1 + ((request * 100 + i) % 997) / 7);
    recorder.recordRequest(streamed(itl));
    expected.push(...itl.map((gap) => Math.round(gap * 1000)));
    if (request % 7 === 3) {
      const delta = recorder.takeDelta();
      itls.push(delta.metrics.itl!);
      ok.push(delta.ok);
    }
  }
  const last = recorder.takeDelta();
  itls.push(last.metrics.itl!);
  ok.push(last.ok);
  assert.deepEqual(joined(itls), expected);
  assert.equal(ok.reduce((sum, n) => sum + n, 0), 62);
  assert.deepEqual(recorder.takeDelta().metrics, {}, "a take leaves nothing behind");
});

Deno.test("raw deltas merged into an aggregate give the histogram of the values recorded directly", () => {
  const values: number[] = [];
  const recorder = new Recorder();
  const aggregate = new Aggregate();
  for (let request = 0; request < 400; request++) {
    // Gaps over four decades (0.01 ms .. 100 ms), so many HDR buckets and its auto-resize.
    const itl = Array.from(
      { length: 25 },
      (_, i) => 0.01 * Math.pow(10, ((request * 25 + i) * 0.618) % 4),
    );
    recorder.recordRequest(streamed(itl));
    values.push(...itl.map((gap) => Math.round(gap * 1000)));
    // A structured clone, as postMessage makes.
    if (request % 13 === 0) aggregate.merge(structuredClone(recorder.takeDelta()));
  }
  aggregate.merge(structuredClone(recorder.takeDelta()));

  const direct = createAccumulator();
  for (const value of values) recordValue(direct, value);
  assert.deepEqual(aggregate.metric("itl"), summarise(direct, displayScale("itl")));
  const merged = aggregate.toDelta().metrics.itl!;
  const expected = encodeAccumulator(direct);
  assert.deepEqual(
    { count: merged.count, sum: merged.sum, min: merged.min, max: merged.max },
    { count: expected.count, sum: expected.sum, min: expected.min, max: expected.max },
  );
  const a = hdr.decodeFromCompressedBase64(merged.histogram, 64, false);
  const b = hdr.decodeFromCompressedBase64(expected.histogram, 64, false);
  for (let p = 0; p <= 100; p += 0.25) {
    assert.equal(a.getValueAtPercentile(p), b.getValueAtPercentile(p), `p${p}`);
  }
});

Deno.test("a run against the mock counts what the mock served; no TTFT below the mock's", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-m",
      "mock-model",
      "--warmup",
      "0",
      "-u",
      "4",
      "-o",
      "12",
      "--max-requests",
      "24",
    ]);
    assert.equal(run.exitCode, 0);
    const served = mock.records().filter((record) => record.path === "/v1/completions");
    assert.equal(served.length, 24);
    const { metrics } = run.results;
    assert.equal(run.results.requests.ok, 24);
    assert.equal(metrics.ttft?.count, 24);
    assert.equal(metrics.total_latency?.count, 24);
    // Each of the 12 tokens comes in its own event: 11 gaps per request.
    assert.equal(metrics.itl?.count, 24 * 11);
    const tokensSent = served.reduce((sum, record) => sum + record.tokensSent, 0);
    assert.equal(metrics.num_tokens!.mean * metrics.num_tokens!.count, tokensSent);
    // The client sends before the mock receives and reads after the mock writes, so each of
    // its TTFTs is at least the mock's: so is every order statistic, up to HDR's 0.1 %.
    const mockTtft = served.map((record) => record.firstTokenAt! - record.receivedAt)
      .sort((a, b) => a - b);
    const at = (p: number) => mockTtft[Math.ceil((p / 100) * mockTtft.length) - 1];
    const ttft = metrics.ttft!;
    assert.ok(ttft.min >= mockTtft[0], `min ${ttft.min} vs ${mockTtft[0]}`);
    assert.ok(ttft.max >= mockTtft.at(-1)!, `max ${ttft.max} vs ${mockTtft.at(-1)}`);
    for (const [p, value] of [[50, ttft.p50], [90, ttft.p90], [99, ttft.p99]] as const) {
      assert.ok(value >= at(p) * 0.999, `p${p} ${value} vs ${at(p)}`);
    }
    // The encoded histograms the results file keeps hold the same samples.
    const itl = hdr.decodeFromCompressedBase64(run.results.histograms.itl!, 64, false);
    assert.equal(itl.totalCount, 24 * 11);
  });
});
