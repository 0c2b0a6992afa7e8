/// <reference lib="dom" />
import assert from "node:assert/strict";
import { sweepList } from "../options/sweep_parsers.ts";
import { Rejected } from "../options/parsers.ts";
import { kneeIndex } from "../stats/knee.ts";
import { createSaturationCheck } from "../stats/saturation.ts";
import { foundMax, meanInterval, nextLoad } from "../stats/find_max.ts";
import { UsageError } from "../common/errors.ts";
import { parseCommandLine } from "../cli/command_line.ts";
import { runSweepCommand, type SweepCommand, type SweepResults } from "../cli/sweep.ts";
import { completionRecords, withMock, withTempDir } from "./_harness.ts";
import { needing, openOffline } from "./_tools.ts";

Deno.test("sweep lists: given points, geometric and arithmetic ranges", () => {
  assert.deepEqual(sweepList("1,2,4,8", { whole: true }), [1, 2, 4, 8]);
  assert.deepEqual(sweepList("0.5, 1.5,2", { whole: false }), [0.5, 1.5, 2]);
  assert.deepEqual(sweepList("1:64:x2", { whole: false }), [1, 2, 4, 8, 16, 32, 64]);
  assert.deepEqual(sweepList("1:50:x2", { whole: false }), [1, 2, 4, 8, 16, 32]);
  assert.deepEqual(sweepList("1:10:+3", { whole: true }), [1, 4, 7, 10]);
  assert.deepEqual(sweepList("0.1:0.5:+0.1", { whole: false }), [0.1, 0.2, 0.3, 0.4, 0.5]);
});

Deno.test("sweep lists refuse what is not increasing, zero, fractional users or unknown syntax", () => {
  for (
    const [value, whole] of [
      ["4,2", true],
      ["2,2", false],
      ["0,1,2", false],
      ["1.5,3", true],
      ["1:64", false],
      ["1:64:*2", false],
      ["1:64:x1", false],
      ["8:1:x2", false],
      ["1:2:3:4", false],
      ["a,b", false],
      ["", false],
      ["1:100000:+1", true],
    ] as const
  ) {
    assert.throws(() => sweepList(value, { whole }), Rejected, value);
  }
});

Deno.test("the knee is the first point after which throughput grows < 10% while p99 grows > 50%", () => {
  const growing = [
    { throughput: 10, p99: 100 },
    { throughput: 20, p99: 110 },
    { throughput: 40, p99: 130 },
  ];
  assert.equal(kneeIndex(growing), undefined);
  assert.equal(kneeIndex([...growing, { throughput: 43, p99: 200 }]), 2);
  // Flat throughput with steady latency is no knee; a 9% gain with +51% latency is.
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 10, p99: 140 }]), undefined);
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 10.9, p99: 151 }]), 0);
  // Exactly 10% growth still counts as growing; exactly 50% latency still counts as steady.
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 11, p99: 400 }]), undefined);
  assert.equal(kneeIndex([{ throughput: 10, p99: 100 }, { throughput: 10, p99: 150 }]), undefined);
  // A point where nothing completed is skipped, not a knee.
  assert.equal(kneeIndex([{ throughput: 0 }, { throughput: 0, p99: 100 }]), undefined);
  assert.equal(kneeIndex([]), undefined);
});

/** Parses `llmload sweep ARGS` into its sweep command. */
function sweepOf(args: string[]): SweepCommand {
  const parsed = parseCommandLine(["sweep", ...args], { env: {}, version: "test" });
  if (parsed.kind !== "sweep") throw new Error(`Expected a sweep command, got ${parsed.kind}`);
  return parsed.sweep;
}

Deno.test("llmload sweep refuses bad lists with one line naming what would be right", () => {
  for (
    const [args, message] of [
      [["--users", "4,2"], /^Invalid --users '4,2': expected a strictly increasing list/],
      [["--qps", "0,1"], /^Invalid --qps '0,1': expected a strictly increasing list above 0/],
      [["--qps", "1:8"], /^Invalid --qps '1:8': expected .* FROM:TO:xFACTOR such as 1:64:x2/],
      [["--users", "1,2", "--qps", "1,2"], /^Cannot use --users together with --qps in a sweep/],
      [[], /^Cannot sweep without points: give --users 1,2,4,8/],
      [["--users", "1,2", "--point-duration", "0s"], /^Invalid --point-duration '0s'/],
      [["--users", "1,2", "-t", "5s"], /^Unknown option '-t'/],
    ] as const
  ) {
    assert.throws(
      () => sweepOf([...args]),
      (error) => error instanceof UsageError && message.test(error.message),
      args.join(" "),
    );
  }
});

Deno.test("a QPS sweep against a mock of known capacity: points, queueing, CSV rows and JSON", async () => {
  // 2 slots, each request 50 + 15 x 10 = 200 ms: the mock serves at most 2 / 0.2 s = 10 req/s.
  await withMock({ ttftMs: 50, itlMs: 10, slots: 2 }, async (mock) => {
    await withTempDir(async (dir) => {
      const csv = `${dir}/points.csv`;
      const json = `${dir}/sweep.json`;
      const command = sweepOf([
        ...["-H", mock.url, "--qps", "4,16", "--point-duration", "1500ms", "--warmup", "300ms"],
        ...["-o", "16", "--slo", "e2e<=300ms", "--summary-file", csv, "--json", json],
      ]);
      const out: string[] = [];
      const exitCode = await runSweepCommand(command, { out: (text) => out.push(text), log() {} });
      assert.equal(exitCode, 0);
      const saved = JSON.parse(await Deno.readTextFile(json)) as SweepResults;
      assert.deepEqual([saved.kind, saved.unit, saved.stopped], ["sweep", "qps", false]);
      const [light, heavy] = saved.points;
      assert.deepEqual(saved.points.map((point) => point.load), [4, 16]);
      // Below capacity every request meets the SLO; above it the queue makes them late.
      assert.equal(light.results.goodput!.attainment.all, 1);
      assert.ok(Math.abs(light.results.throughput.requestsPerSec - 4) < 0.6);
      assert.ok(heavy.results.throughput.requestsPerSec <= 10.5, "more than the capacity");
      assert.ok(heavy.results.goodput!.attainment.all < 0.5);
      // The mock's records show the second point queued and the first never did.
      const records = completionRecords(mock.records());
      const heavyStart = Date.parse(heavy.results.startedAt);
      const queued = (from: number, to: number) =>
        records.filter((r) => r.receivedAt >= from && r.receivedAt < to && r.queuedMs! > 5);
      assert.equal(queued(0, heavyStart - 1000).length, 0);
      assert.ok(queued(heavyStart, Infinity).length > 5);
      const rows = (await Deno.readTextFile(csv)).trim().split("\n");
      assert.equal(rows.length, 3);
      assert.match(rows[1], /QPS 4\.0 constant/);
      assert.match(rows[2], /QPS 16\.0 constant/);
      const table = out.join("\n");
      assert.match(table, /^qps +ok +failed +req\/s +tok\/s +goodput\/s +attain/m);
      assert.match(table, /^Knee: /m);
    });
  });
});

Deno.test("find-max grows x2 until a load fails, then bisects to the precision", () => {
  const goal = { target: 0.95, precision: 0.05, whole: false };
  // A server that meets the SLO up to 10.4 req/s.
  const attainment = (load: number) => load <= 10.4 ? 1 : 0.3;
  const tried: { load: number; attainments: number[] }[] = [];
  for (let load: number | undefined = 1; load !== undefined; load = nextLoad(tried, goal)) {
    tried.push({ load, attainments: [attainment(load)] });
  }
  assert.deepEqual(tried.map((point) => point.load), [1, 2, 4, 8, 16, 12, 10, 11, 10.5]);
  assert.equal(foundMax(tried, goal), 10);
  // 10 passed and 10.5 failed: within 5% of each other, so the search is over.
  assert.ok((10.5 - 10) / 10 <= 0.05);
});

Deno.test("find-max halves a failing first load, stops at neighbours for users, and at the ceiling", () => {
  const goal = { target: 0.95, precision: 0.05, whole: true };
  assert.equal(nextLoad([{ load: 8, attainments: [0.5] }], goal), 4);
  assert.equal(nextLoad([{ load: 1, attainments: [0.5] }], goal), undefined);
  const neighbours = [{ load: 4, attainments: [1] }, { load: 5, attainments: [0] }];
  assert.equal(nextLoad(neighbours, { ...goal, precision: 0.01 }), undefined);
  assert.equal(nextLoad([{ load: 4, attainments: [1] }], { ...goal, ceiling: 6 }), 6);
  assert.equal(nextLoad([{ load: 6, attainments: [1] }], { ...goal, ceiling: 6 }), undefined);
  // Repeats pass on their mean: 0.9 and 1 average 0.95.
  assert.equal(nextLoad([{ load: 4, attainments: [0.9, 1] }], goal), 8);
  assert.equal(foundMax([{ load: 4, attainments: [0.5] }], goal), undefined);
});

Deno.test("attainment over repeats: mean and 95% confidence interval by Student's t", () => {
  const { mean, low, high } = meanInterval([0.9, 1, 0.95]);
  assert.ok(Math.abs(mean - 0.95) < 1e-12);
  // s = 0.05, t(2 df) = 4.303: half-width 4.303 x 0.05 / sqrt(3).
  assert.ok(Math.abs(high - mean - 4.303 * 0.05 / Math.sqrt(3)) < 1e-12);
  assert.ok(Math.abs(mean - low - (high - mean)) < 1e-12);
  assert.deepEqual(meanInterval([0.8]), { mean: 0.8, low: 0.8, high: 0.8 });
});

Deno.test("--find-max lands within its precision of the capacity mock's computed maximum", async () => {
  // 2 slots x 200 ms per request (50 + 15 x 10): 10 req/s at most, so no queue at or below it.
  // Above it the queue grows by (qps / 10 - 1) s every second, and a request misses
  // e2e <= 250 ms once its wait passes 50 ms: 95% of the 1 s point after a 0.2 s warm-up meet
  // it up to qps = 10 x (1 + 0.05 / (0.2 + 0.95)) = 10.43.
  const computed = 10 * (1 + 0.05 / (0.2 + 0.95));
  await withMock({ ttftMs: 50, itlMs: 10, slots: 2 }, async (mock) => {
    await withTempDir(async (dir) => {
      const json = `${dir}/sweep.json`;
      const command = sweepOf([
        ...["-H", mock.url, "--qps", "4", "--find-max", "--slo", "e2e<=250ms", "-o", "16"],
        ...["--point-duration", "1s", "--warmup", "200ms", "--json", json],
      ]);
      const out: string[] = [];
      assert.equal(await runSweepCommand(command, { out: (text) => out.push(text), log() {} }), 0);
      const saved = JSON.parse(await Deno.readTextFile(json)) as SweepResults;
      const found = saved.findMax!.load!;
      // Timer lateness makes each request a little longer than 200 ms, so the true maximum is
      // at most the computed one; the search stops within 5% of it.
      assert.ok(found <= computed && found >= computed * 0.95 / 1.05, `found ${found}`);
      assert.deepEqual(saved.findMax!.tried.slice(0, 3).map((point) => point.load), [4, 8, 16]);
      assert.equal(saved.findMax!.tried.find((point) => point.load === found)!.passed, true);
      assert.match(out.join("\n"), new RegExp(`^Find max: ${found} qps is the largest load`, "m"));
    });
  });
});

Deno.test("--find-max without --slo is refused with one line", () => {
  assert.throws(
    () => sweepOf(["--qps", "4", "--find-max"]),
    (error) =>
      error instanceof UsageError && /^Cannot use --find-max without --slo/.test(error.message),
  );
});

Deno.test(needing(["chromium"], {
  name: "the sweep report opens offline in Chromium with every chart drawn",
  fn: async () => {
    await withMock({ ttftMs: 20, itlMs: 5, slots: 2 }, async (mock) => {
      await withTempDir(async (dir) => {
        const page = `${dir}/sweep.html`;
        const command = sweepOf([
          ...["-H", mock.url, "--users", "1,2", "--point-duration", "800ms", "--warmup", "100ms"],
          ...["-o", "8", "--slo", "e2e<=500ms", "--html", page],
        ]);
        assert.equal(await runSweepCommand(command, { out() {}, log() {} }), 0);
        const { browser, tab, fetched } = await openOffline(page, { width: 1280, height: 1800 });
        try {
          await tab.waitForFunction(
            () => document.querySelectorAll("figure.chart[data-drawn=true]").length >= 5,
            undefined,
            { timeout: 10_000 },
          );
          const charts = await tab.evaluate(() =>
            [...document.querySelectorAll("figure.chart")].map((figure) => {
              const canvas = figure.querySelector("canvas")!;
              const { data } = canvas.getContext("2d")!.getImageData(
                0,
                0,
                canvas.width,
                canvas.height,
              );
              // Coloured pixels are drawn series: axes, grid and text are grey.
              let line = 0;
              for (let i = 0; i < data.length; i += 4) {
                const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
                if (a > 128 && Math.abs(r - g) + Math.abs(g - b) > 100) line++;
              }
              return {
                id: figure.id,
                points: Number((figure as HTMLElement).dataset.points),
                line,
              };
            })
          );
          assert.deepEqual(charts.map((chart) => chart.id), [
            "chart-throughput",
            "chart-ttft",
            "chart-itl",
            "chart-e2e",
            "chart-goodput",
          ]);
          for (const chart of charts) {
            assert.equal(chart.points, 2, chart.id);
            assert.ok(chart.line > 50, `${chart.id}: ${chart.line} coloured pixels`);
          }
          assert.deepEqual(fetched, [], "the page fetched something");
        } finally {
          await browser.close();
        }
      });
    });
  },
}));

Deno.test("Ctrl+C during a sweep writes every finished point and says it stopped", async () => {
  await withMock({ ttftMs: 10, itlMs: 2 }, async (mock) => {
    await withTempDir(async (dir) => {
      const json = `${dir}/sweep.json`;
      const command = sweepOf([
        ...["-H", mock.url, "--users", "1,2,4", "--point-duration", "600ms", "-o", "4"],
        ...["--json", json],
      ]);
      const stop = new AbortController();
      const log: string[] = [];
      const exitCode = await runSweepCommand(command, {
        out() {},
        log(line) {
          log.push(line);
          // Ctrl+C while the second point runs.
          if (line.startsWith("Point 2/3")) setTimeout(() => stop.abort(), 200);
        },
      }, { stopSignal: stop.signal });
      assert.equal(exitCode, 0);
      const saved = JSON.parse(await Deno.readTextFile(json)) as SweepResults;
      assert.equal(saved.stopped, true);
      assert.deepEqual(saved.points.map((point) => point.load), [1]);
      assert.ok(saved.points[0].results.requests.ok > 0);
      assert.ok(log.includes("Sweep stopped: 1 finished point written"), log.join("\n"));
    });
  });
});

Deno.test("over-saturation: in-flight and TTFT both climbing over the whole window, not one alone", () => {
  const feed = (samples: [number, number, number | null][], windowMs = 3000) => {
    const check = createSaturationCheck({ windowMs });
    return samples.map(([at, inFlight, ttftMs]) => check({ at, inFlight, ttftMs }));
  };
  const seconds = (f: (s: number) => [number, number | null]) =>
    Array.from({ length: 6 }, (_, s) => [s * 1000, ...f(s)] as [number, number, number | null]);
  // A queue that grows: both climb; the verdict waits until 3 s of samples are in.
  assert.deepEqual(
    feed(seconds((s) => [10 + 10 * s, 50 + 40 * s])),
    [false, false, false, true, true, true],
  );
  // A steady server, and a server whose in-flight count grows while TTFT holds: never.
  assert.ok(feed(seconds(() => [20, 50])).every((verdict) => !verdict));
  assert.ok(feed(seconds((s) => [10 + 10 * s, 50 + (s % 2)])).every((verdict) => !verdict));
  // Seconds without a first token say nothing of TTFT; two samples are too few to fit a line.
  assert.ok(feed(seconds((s) => [10 + 10 * s, s < 4 ? null : 50 + 40 * s])).every((v) => !v));
  // Old samples leave the window: a climb that stopped is no longer over-saturation.
  const check = createSaturationCheck({ windowMs: 3000 });
  for (let s = 0; s < 5; s++) check({ at: s * 1000, inFlight: 10 * (s + 1), ttftMs: 50 * (s + 1) });
  let last = true;
  for (let s = 5; s < 10; s++) last = check({ at: s * 1000, inFlight: 50, ttftMs: 250 });
  assert.equal(last, false);
});

Deno.test("a sweep stops a point on an over-saturated server, says so, and loads no higher", async () => {
  // 1 slot, each request 20 + 15 x 5 = 95 ms: about 10.5 req/s, so at 40 req/s the queue grows.
  await withMock({ ttftMs: 20, itlMs: 5, slots: 1 }, async (mock) => {
    await withTempDir(async (dir) => {
      const json = `${dir}/sweep.json`;
      const command = sweepOf([
        ...["-H", mock.url, "--qps", "40,80", "--point-duration", "20s", "--warmup", "0"],
        ...["-o", "16", "--saturation-window", "3s", "--json", json],
      ]);
      const out: string[] = [];
      const log: string[] = [];
      const started = performance.now();
      await runSweepCommand(command, {
        out: (text) => out.push(text),
        log: (line) => log.push(line),
      });
      assert.ok(performance.now() - started < 15_000, "the 20 s point was not cut short");
      const saved = JSON.parse(await Deno.readTextFile(json)) as SweepResults;
      assert.deepEqual(saved.points.map((point) => [point.load, point.saturated]), [[40, true]]);
      assert.ok(saved.points[0].results.requests.ok > 0);
      assert.ok(
        log.some((line) => /^Point 1: the server is over-saturated at 40 qps/.test(line)),
        log.join("\n"),
      );
      assert.match(out.join("\n"), /^ +40 .*<- over-saturated, stopped$/m);
      // The mock saw only the first point's load: no request of an 80 qps point.
      const records = completionRecords(mock.records());
      assert.ok(records.length < 40 * 15, `${records.length} requests`);
    });
  });
});

Deno.test("--requests-per-point ends each point after that many requests, as the mock counts them", async () => {
  await withMock({ ttftMs: 5, itlMs: 2 }, async (mock) => {
    await withTempDir(async (dir) => {
      const json = `${dir}/sweep.json`;
      const command = sweepOf([
        ...["-H", mock.url, "--users", "1,3", "--requests-per-point", "9", "--warmup", "0"],
        ...["-o", "4", "--json", json],
      ]);
      assert.equal(await runSweepCommand(command, { out() {}, log() {} }), 0);
      const saved = JSON.parse(await Deno.readTextFile(json)) as SweepResults;
      assert.deepEqual(saved.points.map((point) => point.results.requests.total), [9, 9]);
      assert.equal(completionRecords(mock.records()).length, 18, "no point sent more");
    });
  });
});

Deno.test("--find-max --repeats runs each load that many times and judges it on the mean, with a 95% interval", async () => {
  await withMock({ ttftMs: 50, itlMs: 10, slots: 2 }, async (mock) => {
    await withTempDir(async (dir) => {
      const json = `${dir}/sweep.json`;
      const command = sweepOf([
        ...["-H", mock.url, "--qps", "4,16", "--find-max", "--repeats", "2"],
        ...["--slo", "e2e<=250ms", "-o", "16", "--point-duration", "1s", "--warmup", "200ms"],
        ...["--precision", "50%", "--json", json],
      ]);
      const out: string[] = [];
      assert.equal(await runSweepCommand(command, { out: (text) => out.push(text), log() {} }), 0);
      const saved = JSON.parse(await Deno.readTextFile(json)) as SweepResults;
      const { tried } = saved.findMax!;
      // Two runs per load tried: the points hold each run, the search one entry per load.
      assert.equal(saved.points.length, 2 * tried.length);
      for (const load of tried) {
        const runs = saved.points.filter((point) => point.load === load.load);
        assert.equal(runs.length, 2, `load ${load.load}`);
        const mean = runs.reduce((sum, run) => sum + run.results.goodput!.attainment.all, 0) / 2;
        assert.ok(Math.abs(load.mean - mean) < 1e-9, `load ${load.load}: ${load.mean} vs ${mean}`);
        assert.ok(load.low <= load.mean && load.mean <= load.high);
        assert.equal(load.passed, load.mean >= 0.95);
      }
      // 4 qps is below the capacity (10 req/s) and passes; 16 is above it and fails.
      assert.equal(tried.find((load) => load.load === 4)!.passed, true);
      assert.equal(tried.find((load) => load.load === 16)!.passed, false);
    });
  });
});
