import assert from "node:assert/strict";
import { runAgainst, withMock } from "./_harness.ts";
import { parsePrometheusText } from "../server_metrics/prometheus_text.ts";
import {
  bucketsOf,
  mappingTable,
  SECONDS_PER,
  SERVER_DIALECTS,
  serverDialectOf,
} from "../server_metrics/dialects.ts";
import {
  histogramQuantile,
  type HistogramReading,
  type Reading,
  windowIncrease,
} from "../server_metrics/readings.ts";
import type { MockRecord } from "../mock/server.ts";
import { pause } from "./_server_harness.ts";

Deno.test("the Prometheus parser reads labels, escapes and special values", () => {
  const { samples, types } = parsePrometheusText(
    [
      "# HELP x_total A counter",
      "# TYPE x_total counter",
      'x_total{model_name="a \\"b\\"",engine="0"} 3.0',
      'h_bucket{le="+Inf"} 7',
      "g NaN 1700000000000",
      "",
    ].join("\n"),
  );
  assert.equal(types.get("x_total"), "counter");
  assert.deepEqual(samples[0], {
    name: "x_total",
    labels: { model_name: 'a "b"', engine: "0" },
    value: 3,
  });
  assert.equal(samples[1].labels.le, "+Inf");
  assert.equal(samples[1].value, 7);
  assert.ok(Number.isNaN(samples[2].value));
});

Deno.test("the Prometheus parser refuses what is not the text format, naming the line", () => {
  assert.throws(
    () => parsePrometheusText("<html>\n<body>Not found</body>\n"),
    /line 1 is not a Prometheus sample: '<html>'/,
  );
  assert.throws(() => parsePrometheusText('ok 1\n{"object":"list"}\n'), /line 2/);
  assert.throws(() => parsePrometheusText('x{a="1" 2\n'), /line 1/);
});

Deno.test("a counter that goes down restarts the increase and is noted as a reset", () => {
  const reading = (at: number, requests: number): Reading => ({
    at,
    gauges: {},
    counters: { requests },
    histograms: {},
  });
  const increase = windowIncrease([
    reading(1000, 100),
    reading(2000, 110),
    reading(3000, 4),
    reading(4000, 9),
  ]);
  assert.equal(increase.counters.requests, 10 + 4 + 5);
  assert.deepEqual(increase.resets, [3000]);
});

Deno.test("histogram quantiles interpolate within a bucket as histogram_quantile does", () => {
  const histogram: HistogramReading = {
    buckets: [{ le: 0.1, count: 2 }, { le: 0.2, count: 6 }, { le: Infinity, count: 8 }],
    sum: 1,
    count: 8,
  };
  // Rank 4 of 8 falls halfway through the second bucket's 4 observations.
  assert.ok(Math.abs(histogramQuantile(histogram, 0.5)! - 0.15) < 1e-12);
  assert.equal(histogramQuantile(histogram, 0.99), 0.2);
  assert.equal(histogramQuantile({ buckets: [], sum: 0, count: 0 }, 0.5), undefined);
});

/** The mock's own histogram of `term` over `records`, in the dialect's buckets, in seconds. */
function mockHistogram(
  records: readonly MockRecord[],
  seconds: (record: MockRecord) => number,
  bounds: readonly number[],
): HistogramReading {
  const values = records.map(seconds);
  return {
    buckets: [...bounds, Infinity].map((le) => ({
      le,
      count: values.filter((value) => value <= le * (1 + 1e-9)).length,
    })),
    sum: values.reduce((a, b) => a + b, 0),
    count: values.length,
  };
}

const QUEUE_MS = 15;

for (const dialect of ["vllm", "sglang", "tgi", "llamacpp", "triton-generate"]) {
  Deno.test(`server metrics of a ${dialect} mock match what the mock served`, async () => {
    await withMock({ dialect, ttftMs: 40, itlMs: 4, queueMs: QUEUE_MS }, async (mock) => {
      const run = await runAgainst(mock, [
        "--provider",
        dialect,
        "-m",
        "mock-model",
        "-u",
        "2",
        "--max-requests",
        "8",
        "--warmup",
        "0",
        "--max-tokens",
        "6",
      ]);
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      const server = run.results.serverMetrics;
      assert.ok(server, run.log.join("\n"));
      const table = serverDialectOf(dialect)!;
      assert.equal(server.dialect, table.name);
      assert.equal(server.failedScrapes, 0);
      assert.deepEqual(server.resets, []);
      const served = mock.records().filter((record) => record.status === 200);
      assert.equal(served.length, 8);
      const { window } = server;
      if (table.counters.requests) assert.equal(window.requests, 8);
      if (table.counters.generated_tokens) {
        assert.equal(window.generatedTokens, served.reduce((sum, r) => sum + r.tokensSent, 0));
      }
      if (table.counters.prompt_tokens) {
        assert.equal(window.promptTokens, served.reduce((sum, r) => sum + r.promptTokens!, 0));
      }
      assert.ok(server.series.length >= 2);
      for (const point of server.series) {
        if (table.gauges.running) assert.ok(point.running! >= 0 && point.running! <= 2);
        assert.ok(point.t >= Date.parse(run.results.startedAt) - 5000);
      }
      const ttft = (record: MockRecord) => (record.firstTokenAt! - record.receivedAt) / 1000;
      const queue = (record: MockRecord) => Math.min(QUEUE_MS, ttft(record) * 1000) / 1000;
      const parts = { queue, prefill: (record: MockRecord) => ttft(record) - queue(record) };
      const breakdown = server.breakdown!;
      assert.equal(breakdown.clientTtftMs, run.results.metrics.ttft!.p50);
      let rest = breakdown.clientTtftMs;
      for (const term of ["queue", "prefill"] as const) {
        const source = table.histograms[term];
        if (source === undefined) {
          assert.equal(breakdown[term], undefined);
          continue;
        }
        const bounds = bucketsOf(source).map((bound) => bound * SECONDS_PER[source.unit]);
        const expected = mockHistogram(served, parts[term], bounds);
        const got = breakdown[term]!;
        assert.ok(Math.abs(got.meanMs - expected.sum / expected.count * 1000) < 1e-6, term);
        const p50 = "histogram" in source ? histogramQuantile(expected, 0.5)! * 1000 : got.meanMs;
        assert.ok(Math.abs(got.ms - p50) < 1e-6, `${term}: ${got.ms} against ${p50}`);
        rest -= got.ms;
      }
      assert.ok(Math.abs(breakdown.restMs - rest) < 1e-9);
      assert.match(run.out, /Client TTFT p50 [\d.]+ ms = /);
    });
  });
}

Deno.test("every dialect's table names only series of that server's prefix", () => {
  for (const dialect of Object.values(SERVER_DIALECTS)) {
    const names = [
      ...Object.values(dialect.gauges).map((source) => source.gauge),
      ...Object.values(dialect.counters).map((s) => "counter" in s ? s.counter : s.histogramSum),
    ];
    for (const name of names) assert.ok(name.startsWith(dialect.prefix), name);
  }
});

Deno.test("a server without /metrics: auto scrapes nothing and says so once", async () => {
  await withMock({ dialect: "openai", ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["-u", "1", "--max-requests", "2", "--max-tokens", "2"]);
    assert.equal(run.exitCode, 0);
    assert.equal(run.results.serverMetrics, undefined);
    const lines = run.log.filter((line) => line.startsWith("Server metrics: none at"));
    assert.equal(lines.length, 1, run.log.join("\n"));
    assert.match(lines[0], /\/metrics \(HTTP 404\)/);
  });
});

Deno.test("a metrics URL that returns garbage or does not answer: one warning, the run goes on", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    for (const url of [`${mock.url}/v1/models`, `http://127.0.0.1:${port}/metrics`]) {
      const run = await runAgainst(mock, [
        "-u",
        "1",
        "-t",
        "2500ms",
        "--max-tokens",
        "2",
        "--server-metrics",
        url,
      ]);
      assert.equal(run.exitCode, 0);
      assert.ok(run.results.requests.ok > 0);
      const warnings = run.results.warnings.filter((w) => w.includes("server's metrics"));
      assert.equal(warnings.length, 1, run.results.warnings.join("\n"));
      assert.ok(warnings[0].includes(url));
      const server = run.results.serverMetrics!;
      assert.equal(server.scrapes, 0);
      assert.ok(server.failedScrapes >= 2);
    }
  });
});

Deno.test("--no-server-metrics scrapes nothing", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-u",
      "1",
      "--max-requests",
      "2",
      "--max-tokens",
      "2",
      "--no-server-metrics",
    ]);
    assert.equal(run.results.serverMetrics, undefined);
    assert.ok(!run.log.some((line) => line.startsWith("Server metrics")));
  });
});

Deno.test("a server whose counters reset mid-run: the increase restarts, the reset is noted", async () => {
  await withMock({ ttftMs: 10, itlMs: 2 }, async (mock) => {
    // The "restart" comes 2.5 s into the load: the scrape before it holds at least two
    // seconds of requests, the one after at most one, so the counters are seen to go down.
    let stopped = false;
    const restarted = (async () => {
      while (!stopped && mock.records().length === 0) await pause(20);
      await pause(2500);
      if (stopped) return;
      await (await fetch(`${mock.url}/mock/metrics`, { method: "DELETE" })).body?.cancel();
    })();
    try {
      const run = await runAgainst(mock, [
        "-u",
        "2",
        "-t",
        "4s",
        "--warmup",
        "0",
        "--max-tokens",
        "4",
      ]);
      const server = run.results.serverMetrics!;
      assert.equal(server.resets.length, 1);
      const served = mock.records().filter((record) => record.status === 200).length;
      // Requests counted between the last scrape before the restart and the restart are lost
      // with it, as on a real server: at most about a second's worth.
      assert.ok(server.window.requests! > 0 && server.window.requests! <= served);
      assert.ok(server.window.requests! >= served * 0.4, `${server.window.requests} of ${served}`);
      assert.ok(run.log.some((line) => /counters went down 1 time/.test(line)), run.log.join("\n"));
    } finally {
      stopped = true;
      await restarted;
    }
  });
});

Deno.test("README's mapping table is the dialect tables'", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const cells = (line: string) => line.split("|").slice(1, -1).map((cell) => cell.trim());
  const expected = mappingTable().split("\n").filter((line) => !line.includes("---")).map(cells);
  const start = readme.indexOf("| term ");
  assert.ok(start > 0, "the README has the mapping table");
  const lines = readme.slice(start).split("\n");
  const table = lines.slice(0, lines.findIndex((line) => !line.startsWith("|")));
  assert.deepEqual(table.filter((line) => !/^\|\s*-/.test(line)).map(cells), expected);
});
