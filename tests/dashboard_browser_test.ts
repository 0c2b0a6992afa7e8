/// <reference lib="dom" />
/**
 * The dashboard and the HTML report in a real headless Chromium (Debian's `/usr/bin/chromium`,
 * driven by playwright-core) during and after a real run against the mock. Screenshots go to
 * tests/artifacts/ (not committed).
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { withMock, withTempDir } from "./_harness.ts";
import { startServedRun, waitFor } from "./_server_harness.ts";
import { loadPlaywright, needing, toolPath } from "./_tools.ts";
import { DISTRIBUTION_METRICS, DISTRIBUTION_PERCENTILES } from "../output/distributions.ts";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const ARTIFACTS = new URL("./artifacts/", import.meta.url);
const API_KEY = "sk-browser-test-key-91c2";
const TOKEN = "browser-token-5e";
const CHARTS = ["requests", "tokens", "ttft", "itl", "errors", "inflight"];
const DISTRIBUTIONS = DISTRIBUTION_METRICS.map((name) => `dist-${name}`);

/**
 * Points given to each chart, and how many of its canvas pixels are coloured (a drawn series:
 * axes, grid and text are grey).
 */
function chartState(page: Page, ids: readonly string[] = CHARTS) {
  return page.evaluate((ids: readonly string[]) =>
    Object.fromEntries(ids.map((id) => {
      const figure = document.getElementById(`chart-${id}`)!;
      const canvas = figure.querySelector("canvas");
      let line = 0;
      if (canvas) {
        const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
          if (a > 128 && Math.abs(r - g) + Math.abs(g - b) > 100) line++;
        }
      }
      return [id, { points: Number(figure.dataset.points ?? 0), line }];
    })), ids);
}

/** The results inlined in a report page. */
function embeddedResults(page: string) {
  const json = page.match(/<script type="application\/json" id="llmload-data">(.*?)<\/script>/s)!;
  return JSON.parse(json[1]).results;
}

function text(page: Page, selector: string): Promise<string> {
  return page.locator(selector).innerText();
}

Deno.test(needing(["chromium"], {
  name: "the dashboard draws a live run in Chromium, steers it, and the HTML report opens offline",
  fn: async () => {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    // The prompt cache and --cancel-rate show their tiles: every prompt repeats, a third cancel.
    await withMock({ ttftMs: 20, itlMs: 5, promptCache: true }, async (mock) => {
      await withTempDir(async (dir) => {
        const reportPath = `${dir}/report.html`;
        const run = startServedRun(mock, [
          "-u",
          "2",
          "-o",
          "8",
          "--warmup",
          "0",
          "-k",
          API_KEY,
          "--serve",
          "127.0.0.1:0",
          "--serve-token",
          TOKEN,
          "--html",
          reportPath,
          "--slo",
          "e2e<=10s",
          "--cancel-rate",
          "0.3",
        ]);
        let browser: Browser | undefined;
        try {
          const url = await run.url;
          const { chromium } = await loadPlaywright();
          browser = await chromium.launch({
            executablePath: toolPath("chromium"),
            args: CHROMIUM_ARGS,
          });
          const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
          await page.goto(`${url}/`);
          await page.waitForFunction(
            () => Number(document.getElementById("chart-requests")!.dataset.points) >= 2,
            undefined,
            { timeout: 10_000 },
          );
          assert.equal(await page.getAttribute("body", "data-mode"), "live");
          assert.equal(await page.getAttribute("body", "data-state"), "running");
          const before = {
            requests: await text(page, "#tile-requests .value"),
            charts: await chartState(page),
            renders: Number(await page.getAttribute("body", "data-renders")),
          };
          for (const id of CHARTS) {
            assert.ok(before.charts[id].points >= 2, `${id}: ${JSON.stringify(before.charts[id])}`);
            assert.ok(before.charts[id].line >= 20, `${id} has no line`);
          }
          await page.waitForFunction(
            (renders: number) => Number(document.body.dataset.renders) >= renders + 2,
            before.renders,
            { timeout: 5000 },
          );
          const after = {
            requests: await text(page, "#tile-requests .value"),
            charts: await chartState(page),
          };
          assert.notEqual(after.requests, before.requests, "the request count did not move");
          assert.ok(after.charts.tokens.points > before.charts.tokens.points);

          const table = await text(page, "#metrics-table");
          assert.match(table, /ttft\s+ms/);
          assert.match(table, /itl\s+ms/);
          // Every request of the mock ends far within the SLO's 10 s.
          assert.match(await text(page, "#tile-goodput .value"), /^[\d.,]+\/s \(100%\)$/);
          const config = await text(page, "#config-table");
          assert.match(config, /host\s+http:\/\/127\.0\.0\.1:\d+/);
          assert.ok(!(await page.content()).includes(API_KEY), "the page shows the API key");

          // Steer the run from the page: 2 users -> 5.
          await page.fill("#control-token", TOKEN);
          await page.fill("#control-users", "5");
          await page.click("#control-apply");
          await page.waitForFunction(
            () => document.getElementById("control-message")!.textContent!.startsWith("Load now"),
            undefined,
            { timeout: 5000 },
          );
          await waitFor("the in-flight count to rise", async () => {
            const live = await (await fetch(`${url}/api/results`)).json();
            return live.live.users === 5 && live.live.inFlight > 2 ? true : undefined;
          }, 5000);
          await page.waitForFunction(
            () => document.querySelector("#tile-load .value")!.textContent === "5 users",
            undefined,
            { timeout: 5000 },
          );
          await page.screenshot({
            path: new URL("dashboard.png", ARTIFACTS).pathname,
            fullPage: true,
          });

          run.stop();
          const { exitCode, log } = await run.finished;
          assert.equal(exitCode, 0, log.join("\n"));

          // The report, offline: every request other than the file itself is refused and counted.
          const context = await browser.newContext({
            offline: true,
            viewport: { width: 1280, height: 1400 },
          });
          const fetched: string[] = [];
          await context.route("**/*", (route) => {
            const target = route.request().url();
            if (target.startsWith("file:")) return route.continue();
            fetched.push(target);
            return route.abort();
          });
          const report = await context.newPage();
          const errors: string[] = [];
          report.on("pageerror", (error) => errors.push(error.message));
          await report.goto(`file://${reportPath}`);
          assert.equal(await report.getAttribute("body", "data-mode"), "report");
          assert.equal(await report.getAttribute("body", "data-state"), "done");
          const charts = await chartState(report);
          for (const id of CHARTS) {
            assert.ok(charts[id].points >= 3, `${id}: ${charts[id].points}`);
            assert.ok(charts[id].line >= 20, `${id} has no line`);
          }
          // Latency by percentile, from the histograms: every curve has all its points.
          const curves = await chartState(report, DISTRIBUTIONS);
          for (const id of DISTRIBUTIONS) {
            assert.equal(curves[id].points, DISTRIBUTION_PERCENTILES.length, id);
            assert.ok(curves[id].line >= 20, `${id} has no line`);
          }
          // Hovering shows the values under the cursor in the chart's legend.
          const ttftCurve = report.locator("#chart-dist-ttft .u-over");
          await ttftCurve.hover({ position: { x: 200, y: 50 } });
          assert.match(
            await text(report, "#chart-dist-ttft .u-legend"),
            /percentile\s*p\d+(\.\d+)?[\s\S]*TTFT\s*\d/,
          );
          assert.match(await text(report, "#metrics-table"), /total_latency\s+ms/);
          assert.notEqual(await text(report, "#tile-requests .value"), "–");
          assert.ok(await report.locator("#control").isHidden());
          // Tiles of the run's prompt cache and cancels, with the report's own figures.
          const { tokens } = embeddedResults(await report.content());
          assert.ok(tokens.cancelled > 0 && tokens.promptCache.hits > 0, JSON.stringify(tokens));
          assert.equal(await text(report, "#tile-cancelled .value"), String(tokens.cancelled));
          const hits = 100 * tokens.promptCache.hits / tokens.promptCache.requests;
          const shown = (await text(report, "#tile-cache .value")).match(/^([\d.]+)% · [\d.]+%$/);
          assert.ok(shown && Math.abs(Number(shown[1]) - hits) < 0.01, `${shown} vs ${hits}`);
          assert.deepEqual(fetched, []);
          assert.deepEqual(errors, []);
          await report.screenshot({
            path: new URL("report.png", ARTIFACTS).pathname,
            fullPage: true,
          });
        } finally {
          run.stop();
          await browser?.close();
          await run.finished.catch(() => {});
        }
      });
    });
  },
}));
