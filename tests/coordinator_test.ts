import assert from "node:assert/strict";
import { limitReached, MIN_REQUESTS_FOR_FAIL_RATIO } from "../lib/run_rules.ts";
import { runAgainst, withMock } from "./_harness.ts";

Deno.test("--max-requests stops at the count, --max-fail-ratio after the minimum sample", () => {
  assert.equal(limitReached({}, { ok: 1e6, failed: 1e6 }), undefined);
  assert.equal(limitReached({ maxRequests: 10 }, { ok: 9, failed: 0 }), undefined);
  assert.equal(
    limitReached({ maxRequests: 10 }, { ok: 9, failed: 1 }),
    "--max-requests 10 reached",
  );
  const small = MIN_REQUESTS_FOR_FAIL_RATIO - 1;
  assert.equal(limitReached({ maxFailRatio: 0.1 }, { ok: 0, failed: small }), undefined);
  assert.equal(limitReached({ maxFailRatio: 0.5 }, { ok: 10, failed: 10 }), undefined);
  assert.match(
    limitReached({ maxFailRatio: 0.5 }, { ok: 9, failed: 11 })!,
    /11 of 20 requests failed, more than --max-fail-ratio 0\.5/,
  );
});

Deno.test("--max-requests ends a run without -t", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-u",
      "2",
      "-o",
      "2",
      "--max-requests",
      "30",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const reported = Number(run.out.match(/Num Requests\s+: (\d+)/)?.[1]);
    assert.equal(reported, 30);
    assert.equal(mock.records().filter((record) => record.path === "/v1/completions").length, 30);
  });
});

Deno.test("setLoad mid-run changes the rate the server receives", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const stop = new AbortController();
    const running = runAgainst(mock, ["--qps", "20", "-u", "50", "-o", "2", "--warmup", "0"], {
      stopSignal: stop.signal,
      control: (control) => {
        setTimeout(() => control.setLoad({ qps: 60 }), 1000);
        setTimeout(() => control.stop(), 2000);
      },
    });
    const run = await running;
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const arrivals = mock.records().filter((record) => record.path === "/v1/completions")
      .map((record) => record.receivedAt);
    const first = Math.min(...arrivals);
    const before = arrivals.filter((at) => at < first + 900).length;
    const after = arrivals.filter((at) => at > first + 1100 && at < first + 1900).length;
    assert.ok(Math.abs(before - 18) <= 3, `${before} requests in the first 0.9 s at 20 QPS`);
    assert.ok(Math.abs(after - 48) <= 5, `${after} requests in 0.8 s at 60 QPS`);
    assert.ok(run.log.some((line) => line.includes("Load changed: 60 QPS")));
  });
});
