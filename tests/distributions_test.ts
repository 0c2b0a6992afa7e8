import assert from "node:assert/strict";
import { buildResults } from "../output/results.ts";
import { dashboardResults } from "../output/html_report.ts";
import { DISTRIBUTION_PERCENTILES, latencyDistributions } from "../output/distributions.ts";
import { runConfig } from "./_fixtures.ts";
import { aggregateOf, requestRecord } from "./_server_harness.ts";

function resultsOf(ttfts: readonly number[]) {
  return buildResults(aggregateOf(ttfts.map((ttft) => requestRecord(ttft))), {
    provider: "vllm",
    model: "m",
    config: runConfig(["-m", "m"]),
    startedAt: 0,
    endedAt: 1000,
    durationMs: 1000,
    warnings: [],
  });
}

Deno.test("latency curves agree with the summaries, point for point, and rise with the percentile", () => {
  const ttfts = Array.from({ length: 1000 }, (_, i) => 10 + i * 0.25);
  const results = resultsOf(ttfts);
  const curves = latencyDistributions(results);
  assert.deepEqual(curves.percentiles, DISTRIBUTION_PERCENTILES);
  const ttft = curves.metrics.ttft!;
  assert.equal(ttft.length, DISTRIBUTION_PERCENTILES.length);
  const at = (p: number) => ttft[DISTRIBUTION_PERCENTILES.indexOf(p)];
  const summary = results.metrics.ttft!;
  assert.equal(at(50), summary.p50);
  assert.equal(at(90), summary.p90);
  assert.equal(at(99), summary.p99);
  assert.equal(at(99.9), summary.p999);
  // p0 is the exact minimum; no point passes the exact maximum.
  assert.equal(at(0), summary.min);
  assert.ok(ttft.every((value, i) => i === 0 || value >= ttft[i - 1]));
  assert.ok(ttft.every((value) => value <= summary.max));
  // Every requestRecord has 4 ITL gaps of 10 ms: a flat curve at 10.
  assert.ok(curves.metrics.itl!.every((value) => value === 10));
  assert.ok(curves.metrics.total_latency!.length > 0);
});

Deno.test("the percentiles are ascending, dense in the tail, and stop short of 100", () => {
  assert.ok(
    DISTRIBUTION_PERCENTILES.every((p, i) => i === 0 || p > DISTRIBUTION_PERCENTILES[i - 1]),
  );
  for (const p of [0, 50, 90, 95, 99, 99.5, 99.9, 99.99]) {
    assert.ok(DISTRIBUTION_PERCENTILES.includes(p), `${p}`);
  }
  assert.ok(DISTRIBUTION_PERCENTILES.at(-1)! < 100);
});

Deno.test("a run without samples has no curves, and /api/results carries them", () => {
  const empty = resultsOf([]);
  assert.deepEqual(latencyDistributions(empty).metrics, {});
  const served = dashboardResults(resultsOf([20, 30, 40]), { state: "done" });
  assert.equal(served.distributions.metrics.ttft?.length, DISTRIBUTION_PERCENTILES.length);
});
