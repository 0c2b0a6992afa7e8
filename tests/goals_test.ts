/**
 * Goals against the real mock: goodput and attainment counted exactly (the mock's records give
 * each request's length, hence its latency class), threshold exit codes through the CLI, an
 * early stop on a failed threshold, stages changing the users as the mock sees them, and slices
 * that add up to the totals.
 */
import assert from "node:assert/strict";
import { completionRecords, runAgainst, withMock } from "./_harness.ts";
import type { MockRecord } from "../mock/server.ts";
import { EXIT_OK, EXIT_THRESHOLDS } from "../cli/exit_codes.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Requests in flight at the mock when `record` arrived, itself included. */
function concurrencyAt(records: readonly MockRecord[], record: MockRecord): number {
  return records.filter((other) =>
    other.receivedAt <= record.receivedAt && (other.doneAt ?? Infinity) > record.receivedAt
  ).length;
}

Deno.test("goodput and attainment count exactly the requests the mock made short enough", async () => {
  // 200 ms between tokens: a reply of n tokens ends at 20 + 200·(n − 1) ms, so the e2e bound of
  // 320 ms lies 100 ms from both 2 tokens (220 ms) and 3 tokens (420 ms): met iff n <= 2.
  await withMock({ ttftMs: 20, itlMs: 200 }, async (mock) => {
    const run = await runAgainst(mock, [
      ...["-u", "4", "-r", "100", "--warmup", "0", "--max-requests", "32"],
      ...["--max-tokens", "2", "--max-tokens-distribution", "uniform", "--max-tokens-range", "0.5"],
      ...["--slo", "ttft<=300ms,itl<=600ms,e2e<=320ms"],
    ]);
    const records = completionRecords(mock.records());
    const short = records.filter((record) => record.tokens <= 2);
    assert.equal(records.length, 32);
    assert.ok(short.length > 0 && short.length < records.length, "both classes are present");
    const goodput = run.results.goodput!;
    assert.equal(goodput.judged, 32);
    assert.equal(goodput.met, short.length);
    assert.deepEqual(goodput.attainment, {
      all: short.length / 32,
      bounds: { ttft: 1, itl: 1, e2e: short.length / 32 },
    });
    const seconds = run.results.durationMs / 1000;
    const shortTokens = short.reduce((sum, record) => sum + record.tokens, 0);
    assert.ok(Math.abs(goodput.outputTokensPerSec * seconds - shortTokens) < 1e-6);
    assert.ok(Math.abs(goodput.requestsPerSec * seconds - short.length) < 1e-6);
    assert.match(run.out, new RegExp(`SLO attainment: ${(short.length / 32 * 100).toFixed(2)}%`));
  });
});

Deno.test("thresholds through the CLI: a table of verdicts, exit 0 when all hold, 3 when one fails", async () => {
  await withMock({ ttftMs: 20, itlMs: 5 }, async (mock) => {
    const run = async (thresholds: string[]) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          ...["run", "-A", MAIN, "-H", mock.url, "--max-requests", "6", "--max-tokens", "4"],
          ...thresholds.flatMap((item) => ["--threshold", item]),
        ],
        env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "" },
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).output();
      return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
    };
    const held = await run(["ttft.p99<5s", "fail_ratio<0.01"]);
    assert.equal(held.code, EXIT_OK);
    assert.match(held.stdout, /Thresholds: all passed/);
    assert.match(held.stdout, /fail_ratio<0\.01\s+0\s+pass/);
    const broken = await run(["ttft.p50<1ms", "requests_per_s>0"]);
    assert.equal(broken.code, EXIT_THRESHOLDS);
    assert.match(broken.stdout, /Thresholds: 1 of 2 failed \(exit code 3\)/);
    assert.match(broken.stdout, /ttft\.p50<1ms\s+\d+(\.\d+)?\s+FAIL/);
  });
});

Deno.test("--abort-on-threshold stops the run at the first failed check", async () => {
  await withMock({ ttftMs: 20, itlMs: 5 }, async (mock) => {
    const run = await runAgainst(mock, [
      ...["-t", "60s", "--max-tokens", "4", "--threshold", "e2e.p50<1ms", "--abort-on-threshold"],
    ]);
    assert.equal(run.exitCode, EXIT_THRESHOLDS);
    assert.match(run.results.thresholds!.abortedBy!, /^threshold e2e\.p50<1ms failed/);
    assert.ok(run.log.some((line) => line.startsWith("Stopping: threshold e2e.p50<1ms")));
    // Checked each second: far fewer than the 60 s the run was given.
    assert.ok(run.results.durationMs < 30_000, `ran ${run.results.durationMs} ms`);
    assert.equal(run.results.thresholds!.passed, false);
  });
});

Deno.test("--stages changes the users at the boundary, each stage with its own stats", async () => {
  await withMock({ ttftMs: 20, itlMs: 20 }, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--stages", "1500ms:1,1500ms:3", "-r", "100", "--warmup", "0", "--max-tokens", "5"],
    ]);
    const stages = run.results.stages!;
    assert.equal(stages.length, 2);
    assert.deepEqual(stages.map((stage) => stage.stage.users), [1, 3]);
    const boundary = Date.parse(stages[1].startedAt);
    const records = completionRecords(mock.records());
    const before = records.filter((record) => record.receivedAt < boundary - 50);
    const after = records.filter((record) => record.receivedAt > boundary + 300);
    assert.ok(before.length > 0 && after.length > 0);
    assert.equal(Math.max(...before.map((record) => concurrencyAt(records, record))), 1);
    assert.equal(Math.max(...after.map((record) => concurrencyAt(records, record))), 3);
    const sum = (pick: (stage: typeof stages[number]) => number) =>
      stages.reduce((total, stage) => total + pick(stage), 0);
    assert.equal(sum((stage) => stage.requests.total), run.results.requests.total);
    assert.equal(sum((stage) => stage.requests.total), records.length);
    assert.ok(stages[1].throughput.requestsPerSec > stages[0].throughput.requestsPerSec);
    assert.match(run.out, /Stages \(times in ms\)\n\s*stage\s+load/);
    assert.ok(run.log.includes("Stage 2/2: 1.5s:3"));
  });
});

Deno.test("--slice puts slices in the results that add up to the totals", async () => {
  await withMock({ ttftMs: 20, itlMs: 10 }, async (mock) => {
    const run = await runAgainst(mock, [
      ...["-u", "2", "-r", "100", "-t", "2s", "--warmup", "0", "--max-tokens", "5"],
      ...["--slice", "500ms", "--slo", "e2e<=10s"],
    ]);
    const { slices, requests, durationMs, goodput } = run.results;
    assert.ok(slices !== undefined && slices.length >= 4, `${slices?.length} slices`);
    assert.deepEqual(slices.slice(0, 4).map((slice) => slice.startMs), [0, 500, 1000, 1500]);
    const total = slices.reduce((sum, slice) => sum + slice.requests.total, 0);
    assert.equal(total, requests.total);
    const length = slices.reduce((sum, slice) => sum + slice.durationMs, 0);
    assert.ok(Math.abs(length - durationMs) < 1e-6);
    const met = slices.reduce((sum, slice) => sum + slice.goodput!.met, 0);
    assert.equal(met, goodput!.met);
    assert.ok(slices.some((slice) => slice.metrics.ttft !== undefined));
  });
});

Deno.test("QPS stages change the arrival rate at the boundary", async () => {
  await withMock({ ttftMs: 10, itlMs: 5 }, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--stages", "2s:3qps,2s:12qps", "-u", "32", "--warmup", "0", "--max-tokens", "3"],
    ]);
    const stages = run.results.stages!;
    assert.deepEqual(stages.map((stage) => stage.stage.qps), [3, 12]);
    const boundary = Date.parse(stages[1].startedAt);
    const records = completionRecords(mock.records());
    const first = records.filter((record) => record.receivedAt < boundary).length;
    const second = records.length - first;
    // Constant gaps: about 6 arrivals in the first 2 s and 24 in the second.
    assert.ok(first >= 4 && first <= 8, `${first} arrivals in stage 1`);
    assert.ok(second >= 20 && second <= 28, `${second} arrivals in stage 2`);
    assert.equal(stages[0].requests.total + stages[1].requests.total, records.length);
  });
});
