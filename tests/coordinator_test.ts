import assert from "node:assert/strict";
import {
  FAIL_FAST_REQUESTS,
  failFastReason,
  limitReached,
  MIN_REQUESTS_FOR_FAIL_RATIO,
  noResetNote,
  warmupReason,
} from "../run/rules.ts";
import { cutOffLine } from "../output/console.ts";
import type { MockRecord } from "../mock/server.ts";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";

function completionRecords(records: readonly MockRecord[]): MockRecord[] {
  return records.filter((record) => record.path === "/v1/completions");
}

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
    assert.equal(run.results.requests.ok, 30);
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

Deno.test("--max-requests on a fast server measures every request it sent, without a reset", async () => {
  await withMock({ ttftMs: 0, itlMs: 0 }, async (mock) => {
    const run = await runAgainst(mock, ["-u", "1", "-p", "16", "-o", "8", "--max-requests", "5"]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    assert.deepEqual([run.results.requests.ok, run.results.requests.failed], [5, 0]);
    assert.ok(
      run.log.includes(
        "Stats reset: none (--max-requests counts every request; pass --warmup to exclude one)",
      ),
      run.log.join("\n"),
    );
    assert.ok(!run.log.some((line) => line.startsWith("Stats reset: steady")));
  });
});

Deno.test("steady-state reset is worded for QPS and burst mode", () => {
  assert.equal(
    warmupReason(runConfig(["--qps", "5"])),
    "steady state reached (arrivals under way, first response in)",
  );
  assert.equal(
    warmupReason(runConfig(["-u", "2", "--burst", "1"])),
    "steady state reached (all users spawned, first burst response in)",
  );
  assert.equal(
    warmupReason(runConfig(["-u", "2"])),
    "steady state reached (all users spawned, first response in)",
  );
  assert.equal(warmupReason(runConfig(["--warmup", "2s"])), "warm-up of 2s over");
  assert.equal(noResetNote(runConfig(["--max-requests", "3", "--warmup", "1s"])), undefined);
  assert.equal(noResetNote(runConfig(["--warmup", "0"])), "Stats reset: none (--warmup 0)");
});

Deno.test("a run whose first 20 requests all fail the same way stops early", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, faults: [{ kind: "http_401", rate: 1 }] }, async (mock) => {
    const run = await runAgainst(mock, ["-u", "1", "-o", "2", "-t", "30s"]);
    assert.equal(run.exitCode, 1);
    const stopping = run.log.find((line) => line.startsWith("Stopping: the first"));
    assert.ok(stopping, run.log.join("\n"));
    assert.match(stopping, /requests all failed \(http_4xx: .*401.*\) and none succeeded/);
    assert.match(stopping, /--keep-going/);
    const sent = completionRecords(mock.records()).length;
    // Stopped within a tick of the 20th failure, not after 30 s of thousands of requests.
    assert.ok(sent >= FAIL_FAST_REQUESTS && sent < 2000, `${sent} requests sent`);
  });
});

Deno.test("--keep-going sends on when every request fails", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, faults: [{ kind: "http_401", rate: 1 }] }, async (mock) => {
    const run = await runAgainst(mock, ["-u", "1", "-o", "2", "-t", "1500ms", "--keep-going"]);
    assert.equal(run.exitCode, 1);
    assert.ok(!run.log.some((line) => line.startsWith("Stopping:")), run.log.join("\n"));
    assert.ok(completionRecords(mock.records()).length > FAIL_FAST_REQUESTS * 2);
  });
});

Deno.test("the fail-fast rule needs one kind, no success and 20 requests", () => {
  const config = { keepGoing: false };
  const only401 = { http_4xx: { count: 20, statuses: { "401": 20 }, messages: ["HTTP 401"] } };
  assert.match(failFastReason(config, { ok: 0, failed: 20 }, only401)!, /first 20 requests/);
  assert.equal(failFastReason(config, { ok: 0, failed: 19 }, only401), undefined);
  assert.equal(failFastReason(config, { ok: 1, failed: 20 }, only401), undefined);
  assert.equal(failFastReason({ keepGoing: true }, { ok: 0, failed: 20 }, only401), undefined);
  const mixed = {
    http_4xx: { count: 10, statuses: {}, messages: [] },
    timeout: { count: 10, statuses: {}, messages: [] },
  };
  assert.equal(failFastReason(config, { ok: 0, failed: 20 }, mixed), undefined);
});

Deno.test("requests a stalled server never answers are reported as cut off, with their waits", async () => {
  await withTempDir(async (dir) => {
    await withMock({ ttftMs: 60_000, itlMs: 1 }, async (mock) => {
      const json = `${dir}/results.json`;
      const run = await runAgainst(mock, [
        "-u",
        "3",
        "-r",
        "3",
        "-t",
        "1500ms",
        "--stop-grace",
        "500ms",
        "--json",
        json,
      ]);
      assert.equal(run.exitCode, 1);
      const line = run.log.find((entry) => entry.includes("cut off at the stop"));
      assert.ok(line, run.log.join("\n"));
      const match = line.match(
        /^3 requests still in flight were cut off at the stop after waiting (\d+\.\d)–(\d+\.\d) s \(not counted\)$/,
      );
      assert.ok(match, line);
      const results = run.results;
      // What the outputs received is what the results file holds.
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(json)),
        JSON.parse(JSON.stringify(results)),
      );
      assert.equal(results.cutOff?.requests, 3);
      // The users spawned a third of a second apart; all were cut off at the end of the grace.
      const { minWaitMs, maxWaitMs } = results.cutOff!;
      assert.ok(minWaitMs >= 900 && maxWaitMs <= 2500, line);
      assert.ok(maxWaitMs - minWaitMs >= 400, line);
      assert.deepEqual([results.requests.ok, results.requests.failed], [0, 0]);
    });
  });
});

Deno.test("the cut-off line names one request in the singular and an equal wait once", () => {
  assert.equal(cutOffLine({ cancelled: 0 }), undefined);
  assert.equal(
    cutOffLine({ cancelled: 1, cutOffWaitMs: { min: 2100, max: 2100 } }),
    "1 request still in flight was cut off at the stop after waiting 2.1 s (not counted)",
  );
});
