/**
 * Counts in messages read right: singular for exactly one (`1 user`, `1 send`), the same words
 * for the in-flight cap during and after a run, and an empty chart of a finished run says why.
 */
import assert from "node:assert/strict";
import { counted } from "../output/progress.ts";
import { formatMetricTable } from "../output/report.ts";
import { dashboardResults, dashboardTimeseries } from "../output/html_report.ts";
import { buildResults } from "../output/results.ts";
import { capWarning, describeCurrentLoad, describeLoad } from "../run/rules.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { TimeSeries } from "../output/timeseries.ts";
import { oneSecondRun, runConfig } from "./_fixtures.ts";
import { aggregateOf } from "./_server_harness.ts";
import { runAgainst, withMock } from "./_harness.ts";

Deno.test("counted uses the singular for exactly one", () => {
  assert.equal(counted(1, "user"), "1 user");
  assert.equal(counted(0, "user"), "0 users");
  assert.equal(counted(8, "user"), "8 users");
  assert.equal(counted(2, "worker shard"), "2 worker shards");
});

Deno.test("load lines say 1 user and 2 users", () => {
  assert.equal(
    describeLoad(runConfig(["-u", "1", "-r", "1", "-t", "2s"]), 1),
    "Load: 1 user spawned at 1/s, for 2s, on 1 worker shard",
  );
  assert.equal(
    describeLoad(runConfig(["-u", "2", "-r", "1", "-t", "2s"]), 2),
    "Load: 2 users spawned at 1/s, for 2s, on 2 worker shards",
  );
  assert.equal(
    describeLoad(runConfig(["-u", "1", "--burst", "2"]), 1),
    "Load: 1 user in bursts every 2s, until Ctrl+C, on 1 worker shard",
  );
  assert.equal(describeCurrentLoad({ users: 1, qps: undefined }), "1 user");
  assert.equal(describeCurrentLoad({ users: 3, qps: undefined }), "3 users");
});

Deno.test("the in-flight cap warning and the end line count sends the same way", () => {
  const config = runConfig(["--qps", "0.5", "-u", "1"]);
  const one = capWarning(config, aggregateOf([], [], 1));
  assert.match(one, /: so far 1 send waited for a free slot; about 1 user would be needed /);
  const many = capWarning(runConfig(["--qps", "20", "-u", "1"]), aggregateOf([], [], 13));
  assert.match(many, /: so far 13 sends waited for a free slot; about 20 users would be needed /);

  const info = oneSecondRun(config, { warnings: [] });
  const table = (capped: number) =>
    formatMetricTable(buildResults(aggregateOf([], [], capped), info));
  assert.match(table(1), /^In-flight cap reached: 1 send waited for a free slot, so the /m);
  assert.match(table(13), /^In-flight cap reached: 13 sends waited for a free slot, so the /m);
});

Deno.test("one request cut off at the stop is reported in the singular", async () => {
  await withMock({ ttftMs: 30_000, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["-u", "1", "-t", "300ms", "--stop-grace", "0s"]);
    assert.ok(
      run.log.some((line) => /^1 request still in flight was cut off at the stop\b/.test(line)),
      run.log.join("\n"),
    );
  });
});

/** Just enough of a DOM element for output/dashboard/app.js to render into, and to be read back. */
class FakeElement {
  textContent = "";
  hidden = false;
  className = "";
  children: FakeElement[] = [];
  readonly dataset: Record<string, string> = {};
  readonly style: Record<string, string> = {};
  readonly attributes: Record<string, string> = {};
  readonly classList = { toggle() {} };
  readonly #parts = new Map<string, FakeElement>();
  querySelector(selector: string): FakeElement {
    if (!this.#parts.has(selector)) this.#parts.set(selector, new FakeElement());
    return this.#parts.get(selector)!;
  }
  setAttribute(name: string, value: string) {
    this.attributes[name] = value;
  }
  getAttribute(name: string): string | undefined {
    return this.attributes[name];
  }
  append(...nodes: FakeElement[]) {
    this.children.push(...nodes);
  }
  prepend(...nodes: FakeElement[]) {
    this.children.unshift(...nodes);
  }
  replaceChildren(...nodes: FakeElement[]) {
    this.children = nodes;
  }
  addEventListener() {}
}

/** Runs the dashboard script as the HTML report does (data inline) and returns its elements. */
async function renderReport(config: ReturnType<typeof runConfig>, state: "running" | "done") {
  const results = buildResults(new Aggregate(), {
    provider: "vllm",
    model: "m",
    config,
    startedAt: 0,
    endedAt: 300,
    durationMs: 300,
    warnings: [],
  });
  const data = {
    results: dashboardResults(results, { state }),
    timeseries: dashboardTimeseries(new TimeSeries(), { state, startedAt: 0 }),
  };
  const elements = new Map<string, FakeElement>();
  const byId = (id: string) => {
    if (!elements.has(id)) elements.set(id, new FakeElement());
    return elements.get(id)!;
  };
  byId("llmload-data").textContent = JSON.stringify(data);
  const document = {
    body: new FakeElement(),
    getElementById: byId,
    createElement: () => new FakeElement(),
    createElementNS: () => new FakeElement(),
  };
  const script = await Deno.readTextFile(new URL("../output/dashboard/app.js", import.meta.url));
  new Function("document", script)(document);
  return byId;
}

Deno.test("the report of a run too short for a time series says so, and 1 user", async () => {
  const emptyNote = (byId: (id: string) => FakeElement) =>
    byId("chart-requests").querySelector(".plot").children
      .find((node) => node.className === "empty")?.textContent;
  const byId = await renderReport(runConfig(["-u", "1", "-m", "m"]), "done");
  assert.equal(emptyNote(byId), "run too short for a time series");
  assert.equal(byId("tile-load").querySelector(".value").textContent, "1 user");
  // A run still going has simply not recorded its first second yet.
  assert.equal(emptyNote(await renderReport(runConfig(["-m", "m"]), "running")), "no data yet");
  const more = await renderReport(runConfig(["-u", "3", "-m", "m"]), "done");
  assert.equal(more("tile-load").querySelector(".value").textContent, "3 users");
});
