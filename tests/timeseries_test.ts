import assert from "node:assert/strict";
import { feedSeries, foldPoints, pointFromView, TimeSeries } from "../output/timeseries.ts";
import type { TimePoint } from "../output/timeseries.ts";
import { aggregateOf, liveView, requestRecord } from "./_server_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { withMock } from "./_harness.ts";
import { runLoadTest } from "../run/coordinator.ts";

const config = runConfig(["-u", "4"]);

function assertNear(actual: number | null, expected: number) {
  assert.ok(
    actual !== null && Math.abs(actual - expected) <= expected * 0.001,
    `${actual} vs ${expected}`,
  );
}

function point(t: number, parts: Partial<TimePoint> = {}): TimePoint {
  return {
    t,
    durationMs: 1000,
    requests: 10,
    failures: 1,
    outputTokens: 100,
    requestsPerSec: 10,
    failuresPerSec: 1,
    outputTokensPerSec: 100,
    inFlight: 4,
    users: 4,
    targetQps: null,
    ttftP50: 50,
    ttftP99: 90,
    itlP50: 10,
    itlP99: 20,
    latencyP50: 100,
    latencyP99: 200,
    ...parts,
  };
}

Deno.test("a point takes counts, rates and percentiles from the view's interval", () => {
  const interval = aggregateOf(
    [requestRecord(40, { tokens: 3 }), requestRecord(60, { tokens: 3 })],
    [{ kind: "http_5xx", message: "boom", status: 503 }],
  );
  const view = liveView(config, {
    startedAt: 10_000,
    now: 12_000,
    interval,
    inFlight: 3,
    users: 6,
  });
  const p = pointFromView(view, 10_000);
  assert.equal(p.t, 10_000);
  assert.equal(p.durationMs, 2000);
  assert.equal(p.requests, 2);
  assert.equal(p.failures, 1);
  assert.equal(p.outputTokens, 6);
  assert.equal(p.requestsPerSec, 1);
  assert.equal(p.failuresPerSec, 0.5);
  assert.equal(p.outputTokensPerSec, 3);
  assert.equal(p.inFlight, 3);
  assert.equal(p.users, 6);
  assert.equal(p.targetQps, null);
  // HDR keeps 3 significant digits: within 0.1%.
  assertNear(p.ttftP50, 40);
  assertNear(p.ttftP99, 60);
  assertNear(p.itlP50, 10);
  assertNear(p.latencyP99, 80);
});

Deno.test("a second without requests has zero rates and null percentiles", () => {
  const p = pointFromView(liveView(config, { startedAt: 0, now: 1000, qps: 5 }), 0);
  assert.equal(p.requestsPerSec, 0);
  assert.equal(p.targetQps, 5);
  assert.equal(p.ttftP50, null);
  assert.equal(p.itlP99, null);
});

Deno.test("feedSeries measures each point from the previous view", () => {
  const series = new TimeSeries();
  const add = feedSeries(series);
  add(liveView(config, { startedAt: 5000, now: 6000 }));
  add(liveView(config, { startedAt: 5000, now: 7100 }));
  const [first, second] = series.points();
  assert.deepEqual([first.t, first.durationMs], [5000, 1000]);
  assert.deepEqual([second.t, second.durationMs], [6000, 1100]);
});

Deno.test("folding adds counts, rates over the whole span, weighted medians and the worst p99", () => {
  const folded = foldPoints([
    point(0, { requests: 30, ttftP50: 40, ttftP99: 100, inFlight: 2 }),
    point(1000, { requests: 10, ttftP50: 80, ttftP99: 300, inFlight: 6, users: 8 }),
    point(2000, { durationMs: 2000, requests: 0, ttftP50: null, ttftP99: null, inFlight: 4 }),
  ]);
  assert.equal(folded.t, 0);
  assert.equal(folded.durationMs, 4000);
  assert.equal(folded.requests, 40);
  assert.equal(folded.requestsPerSec, 10);
  assert.equal(folded.failuresPerSec, 0.75);
  assert.equal(folded.ttftP50, 50); // (40*30 + 80*10) / 40
  assert.equal(folded.ttftP99, 300);
  assert.equal(folded.inFlight, 4); // (2*1 + 6*1 + 4*2) / 4
  assert.equal(folded.users, 4);
  assert.throws(() => foldPoints([]), /Cannot fold an empty list/);
});

Deno.test("the last, partial second of a run joins the point before it", () => {
  const series = new TimeSeries();
  series.add(point(0));
  series.add(point(1000, { durationMs: 100, requests: 2 }));
  const points = series.points();
  assert.equal(points.length, 1);
  assert.equal(points[0].durationMs, 1100);
  assert.equal(points[0].requests, 12);
});

Deno.test("a day-long run stays within the bound, covers the whole run and loses no request", () => {
  const series = new TimeSeries({ recent: 60, older: 40, olderSpanMs: 5000 });
  const seconds = 86_400;
  for (let i = 0; i < seconds; i++) series.add(point(i * 1000, { requests: i % 7 }));
  const points = series.points();
  assert.ok(series.size <= 60 + 40 + 1, `${series.size} points held`);
  assert.equal(points.length, series.size);
  assert.equal(points[0].t, 0);
  const last = points[points.length - 1];
  assert.equal(last.t + last.durationMs, seconds * 1000);
  // Contiguous: each point starts where the previous ended.
  for (let i = 1; i < points.length; i++) {
    assert.equal(points[i].t, points[i - 1].t + points[i - 1].durationMs);
  }
  let expected = 0;
  for (let i = 0; i < seconds; i++) expected += i % 7;
  assert.equal(points.reduce((sum, p) => sum + p.requests, 0), expected);
  // The newest minute keeps one-second resolution.
  assert.ok(points.slice(-60).every((p) => p.durationMs === 1000));
  assert.ok(series.olderSpanMs > 5000);
});

Deno.test("the live points add up to the final results for every run shape", async () => {
  const shapes = [
    ["-u", "3", "-t", "2500ms", "--warmup", "0"],
    ["-u", "4", "-r", "4", "-t", "2500ms"], // steady-state reset after the last spawn
    ["-u", "3", "-t", "3s", "--warmup", "1s"],
    ["--qps", "15", "-u", "10", "-t", "2500ms"],
    ["-u", "3", "-r", "100", "--burst", "0.5", "-t", "2500ms"],
    ["-u", "2", "--max-requests", "25"],
  ];
  await withMock({ ttftMs: 5, itlMs: 2 }, async (mock) => {
    for (const shape of shapes) {
      const series = new TimeSeries();
      const runConfigured = runConfig(["-H", mock.url, "-o", "4", "-p", "16", ...shape]);
      const outcome = await runLoadTest(runConfigured, {
        log: () => {},
        live: feedSeries(series),
      });
      const points = series.points();
      const sum = (pick: (point: TimePoint) => number) =>
        points.reduce((total, point) => total + pick(point), 0);
      const counts = outcome.aggregate.counts();
      const label = shape.join(" ");
      assert.ok(counts.ok > 0, `${label}: nothing measured`);
      assert.equal(sum((point) => point.requests), counts.ok, `${label}: requests`);
      assert.equal(sum((point) => point.failures), counts.failed, `${label}: failures`);
      assert.equal(sum((point) => point.outputTokens), counts.outputTokens, `${label}: tokens`);
      assert.ok(points[0].t >= outcome.windowStart - 1, `${label}: a point before the window`);
    }
  });
});
