import assert from "node:assert/strict";
import {
  dashboardResults,
  dashboardTimeseries,
  readDashboardAssets,
  renderHtmlReport,
  writeHtmlReport,
} from "../output/html_report.ts";
import type { ReportData } from "../output/html_report.ts";
import { buildResults } from "../output/results.ts";
import { latencyDistributions } from "../output/distributions.ts";
import { TimeSeries } from "../output/timeseries.ts";
import { needing, toolPath } from "./_tools.ts";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { aggregateOf, requestRecord } from "./_server_harness.ts";

const HOSTILE = "</script><script>alert(1)</script><!--";

function embeddedData(page: string): ReportData {
  const match = page.match(/<script type="application\/json" id="llmload-data">(.*?)<\/script>/s);
  assert.ok(match, "no inline data");
  return JSON.parse(match[1]);
}

function sampleData(): ReportData {
  const config = runConfig(["-u", "2", "-m", `model ${HOSTILE}`]);
  const aggregate = aggregateOf([requestRecord(30), requestRecord(50)], [
    { kind: "http_5xx", message: HOSTILE, status: 500 },
  ]);
  const results = buildResults(aggregate, {
    provider: "vllm",
    model: `model ${HOSTILE}`,
    config,
    startedAt: 0,
    endedAt: 2000,
    durationMs: 2000,
    warnings: [HOSTILE],
  });
  const series = new TimeSeries();
  return {
    results: dashboardResults(results, { state: "done" }),
    timeseries: dashboardTimeseries(series, { state: "done", startedAt: 0 }),
  };
}

Deno.test("the report inlines style, script and data, and fetches nothing", async () => {
  const assets = await readDashboardAssets();
  const data = sampleData();
  const page = renderHtmlReport(assets, data);
  assert.ok(page.startsWith("<!doctype html>"));
  for (const text of [assets.style, assets.script, assets.chartStyle, assets.chartScript]) {
    assert.ok(page.includes(text.trim()));
  }
  assert.doesNotMatch(page, /<script[^>]* src=|<link[^>]*>|<img|@import|url\(/i);
  assert.deepEqual(embeddedData(page), JSON.parse(JSON.stringify(data)));
  // Text from the server cannot close the data element or inject markup.
  assert.ok(!page.includes(HOSTILE));
  assert.equal(page.split("</script>").length - 1, 3);
  assert.match(page, /<title>llmload report: model &lt;\/script&gt;/);
});

Deno.test("a page without the expected tags cannot become a report", async () => {
  const assets = await readDashboardAssets();
  const data = sampleData();
  assert.throws(
    () => renderHtmlReport({ ...assets, html: "<html></html>" }, data),
    /Cannot build the HTML report: index.html lacks a style or script tag/,
  );
  assert.throws(
    () => renderHtmlReport({ ...assets, script: "x = '</script>'" }, data),
    /a script or style closes its own tag/,
  );
  assert.throws(
    () => renderHtmlReport({ ...assets, chartStyle: "a { content: '</style>' }" }, data),
    /a script or style closes its own tag/,
  );
});

Deno.test("the report is written whole: through a temporary file, never half", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/report.html`;
    await Deno.writeTextFile(path, "old");
    await writeHtmlReport(path, "<p>new</p>");
    assert.equal(await Deno.readTextFile(path), "<p>new</p>");
    const names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    assert.deepEqual(names, ["report.html"]);
    await assert.rejects(
      writeHtmlReport(`${dir}/missing/report.html`, "x"),
      /Cannot write the HTML report to '.*missing\/report.html': /,
    );
  });
});

Deno.test(needing(["mkfifo"], {
  name: "a path that is not a regular file (a pipe) is written in place, not replaced",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withTempDir(async (dir) => {
      const fifo = `${dir}/report.pipe`;
      const made = await new Deno.Command(toolPath("mkfifo")!, { args: [fifo] }).output();
      assert.equal(made.code, 0, "mkfifo failed");
      // Renaming over it would leave a regular file where the pipe was, as it would over
      // /dev/null; the reader must get the page through the pipe instead.
      const reading = Deno.readTextFile(fifo);
      await writeHtmlReport(fifo, "<p>through the pipe</p>");
      assert.equal(await reading, "<p>through the pipe</p>");
      assert.ok((await Deno.stat(fifo)).isFifo, "the pipe must still be a pipe");
    });
  },
}));

Deno.test("a run with --html writes the report with the final results and every second", async () => {
  await withMock({ ttftMs: 5, itlMs: 2 }, async (mock) => {
    await withTempDir(async (dir) => {
      const run = await runAgainst(mock, [
        "-u",
        "2",
        "-o",
        "4",
        "-t",
        "2500ms",
        "--warmup",
        "0",
        "-k",
        "sk-html-report-secret",
        "--html",
        `${dir}/report.html`,
        "--json",
        `${dir}/results.json`,
      ]);
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      assert.ok(run.log.includes(`HTML report written to ${dir}/report.html`));
      const page = await Deno.readTextFile(`${dir}/report.html`);
      assert.ok(!page.includes("sk-html-report-secret"));
      const data = embeddedData(page);
      const { state, distributions, ...results } = data.results;
      assert.equal(state, "done");
      const written = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
      assert.deepEqual(results, written);
      // The curves the report draws are the written histograms' own.
      assert.deepEqual(distributions, latencyDistributions(written));
      const points = data.timeseries.points;
      assert.ok(points.length >= 2, `${points.length} points`);
      assert.ok(points.some((p) => p.requests > 0 && p.ttftP50 !== null));
      const requests = points.reduce((sum, p) => sum + p.requests, 0);
      // The points count every request, warm-up included; the window here has none.
      assert.ok(requests >= data.results.requests.ok, `${requests} < ${data.results.requests.ok}`);
    });
  });
});
