import assert from "node:assert/strict";
import { slo, stages, threshold } from "../options/goal_parsers.ts";
import { Rejected } from "../options/parsers.ts";
import { judgeRequest, sloFigure } from "../stats/slo.ts";
import { Recorder } from "../stats/recorder.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { checkThresholds } from "../stats/thresholds.ts";
import { Slicer } from "../run/slices.ts";
import { loadOf, stageAt, stageEnds } from "../run/stages.ts";
import { UsageError } from "../common/errors.ts";
import { resolveRunConfig } from "../options/config.ts";
import { requestRecord } from "./_server_harness.ts";

function rejects(action: () => unknown, pattern: RegExp) {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof Rejected || error instanceof UsageError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("--slo reads bounds in order, each with a duration", () => {
  assert.deepEqual(slo("ttft<=500ms, tpot<=50ms,itl<=0.2,e2e<=20s"), [
    { metric: "ttft", limitMs: 500 },
    { metric: "tpot", limitMs: 50 },
    { metric: "itl", limitMs: 200 },
    { metric: "e2e", limitMs: 20_000 },
  ]);
  for (const bad of ["ttft<500ms", "ttfb<=1s", "ttft<=1s,ttft<=2s", "ttft<=fast", ""]) {
    rejects(() => slo(bad), /METRIC one of ttft, tpot, itl, e2e/);
  }
});

Deno.test("--threshold reads k6-style expressions and lists the names when it cannot", () => {
  assert.deepEqual(threshold("ttft.p99<800ms"), {
    text: "ttft.p99<800ms",
    figure: { kind: "metric", metric: "ttft", stat: "p99" },
    operator: "<",
    limit: 800,
  });
  assert.equal(threshold("e2e.p50 <= 1.5s").limit, 1500);
  assert.deepEqual(threshold("e2e.p50<=1.5s").figure, {
    kind: "metric",
    metric: "total_latency",
    stat: "p50",
  });
  assert.deepEqual(threshold("goodput>=0.95").figure, { kind: "run", figure: "goodput" });
  assert.deepEqual(threshold("attainment.itl>0.9").figure, { kind: "attainment", metric: "itl" });
  assert.equal(threshold("fail_ratio<0.01").limit, 0.01);
  for (const bad of ["ttft.p98<1", "latency<1", "fail_ratio<1s", "num_tokens.mean>5s", "ttft"]) {
    rejects(() => threshold(bad), /fail_ratio, requests_per_s, output_tokens_per_s, goodput/);
  }
});

Deno.test("--stages reads users or QPS stages, and refuses zero durations and mixes", () => {
  assert.deepEqual(stages("1m:8,2m:32,30s:64"), [
    { durationMs: 60_000, users: 8 },
    { durationMs: 120_000, users: 32 },
    { durationMs: 30_000, users: 64 },
  ]);
  assert.deepEqual(stages("30s:2.5qps,1m:10qps"), [
    { durationMs: 30_000, qps: 2.5 },
    { durationMs: 60_000, qps: 10 },
  ]);
  for (const bad of ["0s:8", "1m:0", "1m:8,1m:4qps", "1m", "1m:2.5", ""]) {
    rejects(() => stages(bad), /DURATION:USERS/);
  }
});

Deno.test("stage boundaries and loads follow the stages", () => {
  const parsed = stages("1s:2,2s:5");
  const ends = stageEnds(parsed, 1000);
  assert.deepEqual(ends, [2000, 4000]);
  assert.deepEqual([999, 1999, 2000, 3999, 9999].map((now) => stageAt(ends, now)), [0, 0, 1, 1, 1]);
  assert.deepEqual(loadOf({ durationMs: 1, qps: 3 }), { qps: 3 });
  assert.deepEqual(loadOf(parsed[1]), { users: 5 });
});

Deno.test("a request is judged on its ttft, tpot, largest gap and e2e", () => {
  const record = { ...requestRecord(100, { tokens: 3 }), itl: [5, 40], totalLatency: 145 };
  assert.equal(sloFigure(record, "itl"), 40);
  assert.equal(sloFigure(record, "e2e"), 145);
  assert.equal(sloFigure(record, "tpot"), 22.5);
  const bounds = slo("ttft<=100ms,tpot<=22ms,itl<=40ms,e2e<=144ms");
  // Bits in the SLO's order: ttft met, tpot missed, itl met, e2e missed.
  assert.equal(judgeRequest(record, bounds), 0b0101);
  const oneChunk = requestRecord(30, { tokens: 1 });
  assert.equal(judgeRequest(oneChunk, slo("tpot<=1ms,itl<=1ms")), 0b11);
  assert.equal(judgeRequest({ ...oneChunk, ttft: undefined }, slo("ttft<=1s")), 0);
});

Deno.test("SLO counts add up exactly across recorders, with failures judged and missed", () => {
  const bounds = slo("ttft<=50ms,e2e<=100ms");
  const first = new Recorder(bounds);
  const second = new Recorder(bounds);
  first.recordRequest(requestRecord(40, { tokens: 5, itlMs: 10 })); // e2e 80: good
  first.recordRequest(requestRecord(60, { tokens: 2, itlMs: 10 })); // ttft missed
  second.recordRequest(requestRecord(20, { tokens: 10, itlMs: 10 })); // e2e 110 missed
  second.recordFailure({ kind: "http_5xx", message: "boom", status: 500 });
  const aggregate = new Aggregate();
  aggregate.merge(first.takeDelta());
  aggregate.merge(second.takeDelta());
  assert.deepEqual(aggregate.sloCounts(), {
    judged: 4,
    met: 1,
    metOutputTokens: 5,
    bounds: { ttft: 2, e2e: 2 },
  });
  const merged = new Aggregate();
  merged.merge(aggregate.toDelta());
  assert.deepEqual(merged.sloCounts(), aggregate.sloCounts());
  aggregate.reset();
  assert.deepEqual(aggregate.sloCounts(), {
    judged: 0,
    met: 0,
    metOutputTokens: 0,
    bounds: { ttft: 0, e2e: 0 },
  });
});

Deno.test("thresholds measure the window and fail on what was not measured", () => {
  const recorder = new Recorder(slo("e2e<=100ms"));
  for (let i = 0; i < 9; i++) recorder.recordRequest(requestRecord(40, { tokens: 5 }));
  recorder.recordFailure({ kind: "timeout", message: "slow" });
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  const input = { snapshot: aggregate.snapshot(), durationMs: 2000 };
  const checks = ["fail_ratio<0.2", "goodput>=0.95", "requests_per_s>4", "ttfvt.p99<1ms"]
    .map(threshold);
  assert.deepEqual(checkThresholds(checks, input), [
    { threshold: "fail_ratio<0.2", value: 0.1, pass: true },
    { threshold: "goodput>=0.95", value: 0.9, pass: false },
    { threshold: "requests_per_s>4", value: 4.5, pass: true },
    { threshold: "ttfvt.p99<1ms", value: 40, pass: false },
  ]);
  const unmeasured = [threshold("send_lag.p99<10")];
  assert.deepEqual(checkThresholds(unmeasured, input), [
    { threshold: "send_lag.p99<10", value: null, pass: false },
  ]);
  assert.deepEqual(checkThresholds(unmeasured, input, { live: true }), []);
});

Deno.test("slices cut the window at their length and add up to it", () => {
  const slicer = new Slicer(1000, 10_000);
  const recorder = new Recorder(slo("ttft<=1s"));
  const delta = (count: number) => {
    for (let i = 0; i < count; i++) recorder.recordRequest(requestRecord(20));
    return recorder.takeDelta();
  };
  slicer.merge(delta(2), 10_100);
  slicer.merge(delta(3), 12_500); // closes [10 s, 11 s) and the empty [11 s, 12 s)
  const slices = slicer.finish(12_750);
  assert.deepEqual(slices.map((slice) => [slice.startMs, slice.durationMs]), [
    [0, 1000],
    [1000, 1000],
    [2000, 750],
  ]);
  assert.deepEqual(slices.map((slice) => slice.requests.ok), [2, 0, 3]);
  assert.equal(slices[2].throughput.requestsPerSec, 4);
  assert.equal(slices[2].goodput?.attainment.all, 1);
  assert.equal(slices[0].metrics.ttft?.p50, 20);
});

Deno.test("goal options refuse what cannot go together, in one line", () => {
  const message = (flags: Record<string, string>) => {
    try {
      resolveRunConfig(flags);
    } catch (error) {
      assert.ok(error instanceof UsageError);
      return error.message;
    }
    assert.fail(`accepted ${JSON.stringify(flags)}`);
  };
  assert.match(
    message({ stages: "1m:8", users: "4" }),
    /Cannot use --users together with --stages/,
  );
  assert.match(
    message({ stages: "1m:8", "run-time": "10s" }),
    /Cannot use --run-time together with --stages/,
  );
  assert.match(message({ stages: "1m:8qps", qps: "3" }), /Cannot use --qps together with --stages/);
  assert.match(message({ stages: "0s:8" }), /Invalid --stages '0s:8'/);
  assert.match(message({ threshold: "goodput>=0.9" }), /without --slo/);
  assert.match(message({ slo: "ttft<=1s", stream: "false" }), /with --no-stream/);
  assert.match(message({ threshold: "ttft.p42<1" }), /expected NAME<VALUE/);
  const fromEnv = resolveRunConfig({ slo: "ttft<=1s" }, {
    env: { LLMLOAD_THRESHOLD: "ttft.p99<1s\ngoodput>=0.9" },
  });
  assert.deepEqual(fromEnv.thresholds?.map((item) => item.text), ["ttft.p99<1s", "goodput>=0.9"]);
  const staged = resolveRunConfig({ stages: "1s:2,2s:6" });
  assert.equal(staged.users, 2);
  assert.equal(staged.runTimeMs, 3000);
  const paced = resolveRunConfig({ stages: "1s:2qps,1s:6qps", users: "4" });
  assert.equal(paced.qps, 2);
  assert.equal(paced.users, 4);
});
