import assert from "node:assert/strict";
import * as hdr from "hdr-histogram-js";
import { Aggregate } from "../stats/aggregate.ts";
import { forEachSample, MAX_EXAMPLES, METRIC_NAMES, type MetricName } from "../stats/metrics.ts";
import { Recorder } from "../stats/recorder.ts";
import type { SampleDelta } from "../stats/types.ts";
import type { RequestFailure, RequestRecord, TokenSource } from "../request/types.ts";

function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    start: 1_000_000,
    ttft: 100,
    ttfvt: 150,
    totalLatency: 1100,
    itl: [10, 20, 30.5],
    outputTokens: 11,
    tokenSource: "usage",
    promptTokens: 50,
    chars: 40,
    maxTokens: 11,
    ...overrides,
  };
}

function aggregateOf(records: RequestRecord[], failures: RequestFailure[] = []): Aggregate {
  const recorder = new Recorder();
  for (const rec of records) recorder.recordRequest(rec);
  for (const failure of failures) recorder.recordFailure(failure);
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  return aggregate;
}

/** mulberry32: a tiny seeded PRNG so the merge test is reproducible. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomRecord(random: () => number): RequestRecord {
  // Log-uniform over 10 µs .. 100 s exercises many HDR buckets and the auto-resize.
  const ms = () => 0.01 * Math.pow(10, random() * 7);
  const streamed = random() < 0.8;
  const ttft = streamed ? ms() : undefined;
  const outputTokens = Math.floor(random() * 3000);
  const sources: TokenSource[] = ["usage", "logprobs", "tokenizer"];
  const start = 1_700_000_000_000 + random() * 1e6;
  return {
    start,
    intendedStart: random() < 0.5 ? start - ms() * (random() < 0.1 ? -1 : 1) : undefined,
    ttft,
    ttfvt: ttft === undefined ? undefined : ttft + ms(),
    totalLatency: (ttft ?? 0) + ms(),
    itl: streamed ? Array.from({ length: Math.floor(random() * 20) }, ms) : [],
    outputTokens,
    tokenSource: sources[Math.floor(random() * 3)],
    promptTokens: random() < 0.7 ? Math.floor(random() * 8000) : undefined,
    chars: Math.floor(outputTokens * 4 * random()),
    maxTokens: random() < 0.5 ? outputTokens : outputTokens + 1,
    // A third of servers say nothing of their cache; of the rest, half the requests hit it.
    cachedPromptTokens: random() < 0.33 ? undefined : Math.floor(random() * 2) * 64,
  };
}

Deno.test("merging shard deltas equals one recorder that saw every request", () => {
  const random = seededRandom(42);
  const records = Array.from({ length: 3000 }, () => randomRecord(random));

  const single = aggregateOf(records);

  const shards = [new Recorder(), new Recorder(), new Recorder()];
  const merged = new Aggregate();
  records.forEach((rec, i) => {
    const shard = shards[i % shards.length];
    shard.recordRequest(rec);
    // Uneven delta boundaries, and a structured clone as postMessage would make.
    if (random() < 0.05) merged.merge(structuredClone(shard.takeDelta()));
  });
  for (const shard of shards) merged.merge(structuredClone(shard.takeDelta()));

  const a = single.snapshot();
  const b = merged.snapshot();
  assert.deepEqual(Object.keys(a.metrics), [...METRIC_NAMES]);
  assert.deepEqual(b.metrics, a.metrics);
  assert.equal(b.ok, 3000);
  assert.equal(b.ok, a.ok);
  assert.equal(b.tokens.output, a.tokens.output);
  assert.equal(b.tokens.prompt, a.tokens.prompt);
  assert.equal(b.tokens.chars, a.tokens.chars);
  assert.deepEqual(b.tokens.sources, a.tokens.sources);
  assert.equal(b.tokens.mismatches.count, a.tokens.mismatches.count);

  // Every percentile, not just the reported ones.
  const singleDelta = single.toDelta();
  const mergedDelta = merged.toDelta();
  for (const name of METRIC_NAMES) {
    const x = hdr.decodeFromCompressedBase64(singleDelta.metrics[name]!.histogram, 64, false);
    const y = hdr.decodeFromCompressedBase64(mergedDelta.metrics[name]!.histogram, 64, false);
    assert.equal(y.totalCount, x.totalCount, name);
    for (let p = 0; p <= 100; p += 0.5) {
      assert.equal(y.getValueAtPercentile(p), x.getValueAtPercentile(p), `${name} p${p}`);
    }
  }

  // An aggregate merged into another (how saved results combine) stays exact too.
  const again = new Aggregate();
  again.merge(structuredClone(merged.toDelta()));
  assert.deepEqual(again.snapshot().metrics, a.metrics);
});

Deno.test("a streamed request yields every metric by the README's definitions", () => {
  const snapshot = aggregateOf([record({ intendedStart: 1_000_000 - 10 })]).snapshot();
  const mean = (name: MetricName) => snapshot.metrics[name]?.mean;
  assert.equal(mean("ttft"), 100);
  assert.equal(mean("ttfvt"), 150);
  assert.equal(mean("total_latency"), 1100);
  assert.equal(mean("tpot"), 100); // (1100 - 100) / (11 - 1)
  assert.equal(snapshot.metrics.itl?.count, 3);
  assert.equal(snapshot.metrics.itl?.min, 10);
  assert.equal(snapshot.metrics.itl?.max, 30.5);
  assert.equal(mean("latency_per_token"), 90.909); // 1000 / 11, to the microsecond
  assert.equal(mean("overall_latency_per_token"), 100); // 1100 / 11
  assert.equal(mean("latency_per_char"), 25); // 1000 / 40
  assert.equal(mean("send_lag"), 10);
  assert.equal(mean("ttft_intended"), 110);
  assert.equal(mean("total_latency_intended"), 1110);
  assert.equal(mean("num_tokens"), 11);
  assert.equal(mean("prompt_tokens"), 50);
  // No cached-token count from the server: no split by cache hit.
  const split: readonly MetricName[] = ["ttft_cache_hit", "ttft_cache_miss"];
  assert.deepEqual(
    Object.keys(snapshot.metrics),
    METRIC_NAMES.filter((name) => !split.includes(name)),
  );
});

Deno.test("ttft is split by cache hit where the server reported cached prompt tokens", () => {
  const snapshot = aggregateOf([
    record({ ttft: 40, cachedPromptTokens: 32 }),
    record({ ttft: 60, cachedPromptTokens: 16 }),
    record({ ttft: 300, cachedPromptTokens: 0 }),
    record({ ttft: 900 }),
    record({ ttft: undefined, ttfvt: undefined, cachedPromptTokens: 48 }),
  ]).snapshot();
  assert.deepEqual(
    [snapshot.metrics.ttft_cache_hit?.count, snapshot.metrics.ttft_cache_hit?.mean],
    [2, 50],
  );
  assert.deepEqual(
    [snapshot.metrics.ttft_cache_miss?.count, snapshot.metrics.ttft_cache_miss?.mean],
    [1, 300],
  );
  assert.equal(snapshot.metrics.ttft?.count, 4);
  assert.deepEqual(snapshot.tokens.promptCache, {
    requests: 4,
    hits: 3,
    cachedTokens: 96,
    promptTokens: 200,
  });
});

Deno.test("metrics whose inputs are missing get no sample", async (t) => {
  const names = (rec: RequestRecord) => Object.keys(aggregateOf([rec]).snapshot().metrics);

  await t.step("not streamed: no ttft, tpot, itl, per-token or per-char latency", () => {
    const rec = record({ ttft: undefined, ttfvt: undefined, itl: [], promptTokens: undefined });
    assert.deepEqual(names(rec), ["total_latency", "overall_latency_per_token", "num_tokens"]);
  });

  await t.step("one token: no tpot, but latency per token", () => {
    const got = names(record({ outputTokens: 1, itl: [] }));
    assert.ok(!got.includes("tpot"));
    assert.ok(got.includes("latency_per_token"));
  });

  await t.step("no tokens and no characters: only latencies and the zero count", () => {
    const rec = record({ outputTokens: 0, chars: 0, itl: [], promptTokens: undefined });
    assert.deepEqual(names(rec), ["ttft", "ttfvt", "total_latency", "num_tokens"]);
    assert.equal(aggregateOf([rec]).snapshot().metrics.num_tokens?.max, 0);
  });

  await t.step("no intended start: no send lag and no intended latencies", () => {
    const got = names(record());
    for (const name of ["send_lag", "ttft_intended", "total_latency_intended"]) {
      assert.ok(!got.includes(name), name);
    }
  });

  await t.step("sent ahead of schedule: lag clamps at zero", () => {
    const snapshot = aggregateOf([record({ intendedStart: 1_000_000 + 5 })]).snapshot();
    assert.equal(snapshot.metrics.send_lag?.max, 0);
    assert.equal(snapshot.metrics.ttft_intended?.mean, 100);
    assert.equal(snapshot.metrics.total_latency_intended?.mean, 1100);
  });
});

Deno.test("percentiles carry 3 significant digits; count, mean, min and max are exact", () => {
  const records = Array.from({ length: 1000 }, (_, i) => record({ totalLatency: i + 1 }));
  const latency = aggregateOf(records).snapshot().metrics.total_latency!;
  assert.equal(latency.count, 1000);
  assert.equal(latency.mean, 500.5);
  assert.equal(latency.min, 1);
  assert.equal(latency.max, 1000);
  for (const [p, expected] of [[50, 500], [90, 900], [95, 950], [99, 990], [99.9, 999]]) {
    const key = p === 99.9 ? "p999" : `p${p}` as "p50";
    const got = latency[key];
    assert.ok(got >= expected && got <= expected * 1.001, `p${p}: ${got}`);
  }
});

Deno.test("failures count by kind and status and keep the first 5 distinct messages", () => {
  const recorder = new Recorder();
  const aggregate = new Aggregate();
  const fail = (message: string, status = 503) =>
    recorder.recordFailure({ kind: "http_5xx", message, status });
  fail("m1");
  fail("m2", 500);
  fail("m1");
  fail("m3");
  aggregate.merge(recorder.takeDelta());
  fail("m2");
  fail("m4");
  fail("m5", 500);
  fail("m6");
  fail("m7");
  recorder.recordFailure({ kind: "connect", message: "Connection refused" });
  aggregate.merge(recorder.takeDelta());

  const snapshot = aggregate.snapshot();
  assert.equal(snapshot.failed, 10);
  assert.equal(snapshot.ok, 0);
  assert.deepEqual(snapshot.failures, {
    http_5xx: {
      count: 9,
      statuses: { "503": 7, "500": 2 },
      messages: ["m1", "m2", "m3", "m4", "m5"],
    },
    connect: { count: 1, statuses: {}, messages: ["Connection refused"] },
  });
  assert.equal(snapshot.failures.http_5xx?.messages.length, MAX_EXAMPLES);
});

Deno.test("token sums, sources, max_tokens mismatches and capped sends are counted", () => {
  const recorder = new Recorder();
  const aggregate = new Aggregate();
  const sources: TokenSource[] = ["usage", "usage", "logprobs", "tokenizer"];
  for (let i = 0; i < 8; i++) {
    recorder.recordRequest(
      record({ outputTokens: 10 + i, maxTokens: i === 0 ? 10 : 20, tokenSource: sources[i % 4] }),
    );
    if (i === 3) aggregate.merge(recorder.takeDelta());
  }
  recorder.noteCapped();
  recorder.noteCapped(3);
  aggregate.merge(recorder.takeDelta());

  const { tokens, capped, ok } = aggregate.snapshot();
  assert.equal(ok, 8);
  assert.equal(tokens.output, 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17);
  assert.equal(tokens.prompt, 8 * 50);
  assert.equal(tokens.chars, 8 * 40);
  assert.deepEqual(tokens.sources, { usage: 4, logprobs: 2, tokenizer: 2 });
  assert.equal(tokens.mismatches.count, 7);
  assert.deepEqual(tokens.mismatches.examples, [
    { asked: 20, got: 11 },
    { asked: 20, got: 12 },
    { asked: 20, got: 13 },
    { asked: 20, got: 14 },
    { asked: 20, got: 15 },
  ]);
  assert.equal(capped, 4);
});

Deno.test("takeDelta starts afresh and deltas are plain data: one typed array per metric", () => {
  const recorder = new Recorder();
  const random = seededRandom(7);
  const counts = new Map<MetricName, number>();
  for (let i = 0; i < 1000; i++) {
    const rec = randomRecord(random);
    recorder.recordRequest(rec);
    forEachSample(rec, (name) => counts.set(name, (counts.get(name) ?? 0) + 1));
  }
  recorder.recordFailure({ kind: "timeout", message: "Request timed out after 1000 ms" });
  const delta = recorder.takeDelta();
  assert.deepEqual(structuredClone(delta), delta);
  assert.equal(delta.ok, 1000);
  // Raw samples, 8 bytes each and nothing else: what postMessage copies is the samples.
  for (const name of METRIC_NAMES) {
    const samples = delta.metrics[name];
    assert.ok(samples instanceof Float64Array, name);
    assert.equal(samples.length, counts.get(name), name);
    assert.equal(samples.byteLength, samples.length * 8, name);
  }

  const empty: SampleDelta = {
    metrics: {},
    ok: 0,
    failures: {},
    tokens: {
      output: 0,
      prompt: 0,
      chars: 0,
      sources: { usage: 0, logprobs: 0, tokenizer: 0 },
      mismatches: { count: 0, examples: [] },
      promptMismatches: { count: 0, examples: [] },
      empty: 0,
      truncated: 0,
      promptCache: { requests: 0, hits: 0, cachedTokens: 0, promptTokens: 0 },
      inputs: 0,
      reasoning: 0,
      cancelled: 0,
    },
    capped: 0,
  };
  assert.deepEqual(recorder.takeDelta(), empty);

  // The reused histograms hold nothing of the earlier period.
  recorder.recordRequest(record({ totalLatency: 5 }));
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  assert.deepEqual(aggregate.snapshot().metrics.total_latency, {
    count: 1,
    mean: 5,
    min: 5,
    max: 5,
    p50: 5,
    p90: 5,
    p95: 5,
    p99: 5,
    p999: 5,
  });
});

Deno.test("reset forgets everything merged so far", () => {
  const aggregate = aggregateOf([record()], [{ kind: "aborted", message: "Stopped" }]);
  aggregate.reset();
  const snapshot = aggregate.snapshot();
  assert.deepEqual(snapshot.metrics, {});
  assert.equal(snapshot.ok, 0);
  assert.equal(snapshot.failed, 0);
  assert.deepEqual(snapshot.failures, {});
  assert.equal(snapshot.tokens.output, 0);

  const recorder = new Recorder();
  recorder.recordRequest(record({ totalLatency: 7 }));
  aggregate.merge(recorder.takeDelta());
  assert.equal(aggregate.snapshot().metrics.total_latency?.mean, 7);
});

Deno.test("prompt-token mismatches are counted when both counts exist; n scales the expected tokens", () => {
  const recorder = new Recorder();
  recorder.recordRequest(record({ serverPromptTokens: 130, localPromptTokens: 128 }));
  recorder.recordRequest(record({ serverPromptTokens: 128, localPromptTokens: 128 }));
  recorder.recordRequest(record({ serverPromptTokens: 140 })); // chat: nothing to compare
  recorder.recordRequest(record({ maxTokens: 10, outputTokens: 20, expectedOutputTokens: 20 }));
  recorder.recordRequest(record({ maxTokens: 10, outputTokens: 10, expectedOutputTokens: 20 }));
  const { tokens } = recorder.takeDelta();
  assert.deepEqual(tokens.promptMismatches, { count: 1, examples: [{ server: 130, local: 128 }] });
  assert.deepEqual(tokens.mismatches.examples.at(-1), { asked: 20, got: 10 });
});
