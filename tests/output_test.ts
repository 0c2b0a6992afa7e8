import assert from "node:assert/strict";
import { describeFailure, fanOut } from "../output/fanout.ts";
import type { FinishedRun, Output } from "../output/types.ts";
import { runLoadTest } from "../run/coordinator.ts";
import type { LiveView } from "../run/types.ts";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { liveView } from "./_server_harness.ts";

/** An output that notes every call it gets in `calls`, as `name:observe` or `name:finish`. */
function noting(name: string, calls: string[], fail: { observe?: unknown; finish?: unknown } = {}) {
  return {
    name,
    observe() {
      calls.push(`${name}:observe`);
      if (fail.observe) throw fail.observe;
    },
    async finish() {
      await Promise.resolve();
      calls.push(`${name}:finish`);
      if (fail.finish) throw fail.finish;
    },
  } satisfies Output;
}

const VIEW: LiveView = liveView(runConfig(["-m", "m", "--provider", "vllm"]));
// The fan-out hands the run on untouched; these outputs never read it.
const RUN = {} as FinishedRun;

Deno.test("the fan-out calls every output in the order listed, views and the end alike", async () => {
  const calls: string[] = [];
  const outputs = fanOut([noting("a", calls), { name: "quiet" }, noting("b", calls)], {
    log: (line) => calls.push(line),
  });
  outputs.observe(VIEW);
  outputs.observe(VIEW);
  await outputs.finish(RUN);
  assert.deepEqual(calls, [
    "a:observe",
    "b:observe",
    "a:observe",
    "b:observe",
    "a:finish",
    "b:finish",
  ]);
});

Deno.test("an output that throws is reported and the others still run", async () => {
  const calls: string[] = [];
  const log: string[] = [];
  const outputs = fanOut([
    noting("first", calls, { observe: new TypeError("view.x is undefined") }),
    noting("second", calls, { finish: new Error("Cannot write results to 'r.json': denied") }),
    noting("third", calls, { finish: "a string" }),
    noting("last", calls),
  ], { log: (line) => log.push(line) });
  outputs.observe(VIEW);
  outputs.observe(VIEW);
  await outputs.finish(RUN);
  // The failed observer is reported once and left out of later views; its finish still runs.
  assert.deepEqual(calls, [
    "first:observe",
    "second:observe",
    "third:observe",
    "last:observe",
    "second:observe",
    "third:observe",
    "last:observe",
    "first:finish",
    "second:finish",
    "third:finish",
    "last:finish",
  ]);
  assert.deepEqual(log, [
    "Error: the first output failed: TypeError: view.x is undefined",
    "Error: Cannot write results to 'r.json': denied",
    "Error: the third output failed: a string",
  ]);
});

Deno.test("the fan-out finishes each output once, however often it is told to", async () => {
  const calls: string[] = [];
  const outputs = fanOut([noting("a", calls), noting("b", calls)], { log: () => {} });
  await Promise.all([outputs.finish(RUN), outputs.finish(RUN)]);
  await outputs.finish(RUN);
  assert.deepEqual(calls, ["a:finish", "b:finish"]);
});

Deno.test("a failure names the output unless its message says what could not be done", () => {
  assert.equal(
    describeFailure("HTML report", new Error("Cannot build the HTML report: no tag")),
    "Cannot build the HTML report: no tag",
  );
  assert.equal(
    describeFailure("summary CSV", new RangeError("bad length")),
    "the summary CSV output failed: RangeError: bad length",
  );
});

Deno.test("a run stopped by Ctrl+C finishes every output once, with the results it returns", async () => {
  await withMock({ ttftMs: 5, itlMs: 5 }, async (mock) => {
    await withTempDir(async (dir) => {
      const stop = new AbortController();
      const run = await runAgainst(mock, [
        ...["-u", "2", "-o", "6", "--warmup", "0"],
        ...["--json", `${dir}/results.json`, "--summary-file", `${dir}/summary.csv`],
        ...["--html", `${dir}/report.html`],
      ], {
        stopSignal: stop.signal,
        control: () => setTimeout(() => stop.abort(), 600),
      });
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      assert.ok(run.results.requests.ok > 0);
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(`${dir}/results.json`)),
        JSON.parse(JSON.stringify(run.results)),
      );
      const csv = (await Deno.readTextFile(`${dir}/summary.csv`)).trim().split("\n");
      assert.equal(csv.length, 2, "one header and one row");
      const once = (prefix: string) => run.log.filter((line) => line.startsWith(prefix)).length;
      assert.equal(once("Results written to"), 1);
      assert.equal(once("Summary row appended to"), 1);
      assert.equal(once("HTML report written to"), 1);
      assert.equal(run.out.match(/={35} Summary ={36}/g)?.length, 1);
      // The summary block stays the last thing printed: the table comes before it.
      assert.ok(!/Requests: /.test(run.out.slice(run.out.indexOf("Summary"))));
    });
  });
});

Deno.test("an output that cannot write is reported; the other outputs and the exit code hold", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    await withTempDir(async (dir) => {
      const run = await runAgainst(mock, [
        ...["-u", "1", "-o", "2", "--max-requests", "3"],
        ...["--json", `${dir}/missing/results.json`, "--summary-file", `${dir}/summary.csv`],
      ]);
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      assert.ok(
        run.log.some((line) =>
          line.startsWith(`Error: Cannot write results to '${dir}/missing/results.json'`)
        ),
        run.log.join("\n"),
      );
      assert.ok(run.log.includes(`Summary row appended to ${dir}/summary.csv`));
      assert.equal(run.results.requests.ok, 3);
      assert.match(run.out, /={35} Summary ={36}/);
    });
  });
});

Deno.test("no live view carries the API key, the serve token or a credential header", async () => {
  const KEY = "sk-live-7f3a91c2";
  const TOKEN = "serve-token-5b8e";
  const HEADER = "secret-header-2d4c";
  await withMock({ ttftMs: 2, itlMs: 2 }, async (mock) => {
    const config = runConfig([
      ...["-H", mock.url, "-k", KEY, "--header", `X-Api-Key: ${HEADER}`],
      ...["--serve-token", TOKEN, "--header", "X-Trace: kept"],
      ...["-u", "1", "-o", "2", "--max-requests", "4", "--warmup", "0"],
    ]);
    const views: LiveView[] = [];
    await runLoadTest(config, { log: () => {}, live: (view) => views.push(view) });
    assert.ok(views.length >= 2, "a view at the stop and one at the end");
    for (const view of views) {
      // Every field, the aggregates as what they hold; nothing else in a view holds text.
      const text = JSON.stringify({
        ...view,
        aggregate: view.aggregate.snapshot(),
        interval: view.interval.snapshot(),
      });
      for (const secret of [KEY, TOKEN, HEADER]) {
        assert.ok(!text.includes(secret), `a ${view.state} view holds ${secret}`);
      }
      assert.equal("apiKey" in view.config, false);
      assert.equal("serveToken" in view.config, false);
      assert.deepEqual(view.config.headers, { "X-Trace": "kept" });
    }
  });
});
