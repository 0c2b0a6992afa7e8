import assert from "node:assert/strict";
import { latencyDistributions } from "../output/distributions.ts";
import type { RunControl } from "../run/types.ts";
import { UsageError } from "../common/errors.ts";
import { buildResults } from "../output/results.ts";
import {
  createResultsApp,
  etagMatches,
  parseLoadChange,
  startResultsServer,
} from "../output/server.ts";
import type { ResultsApp } from "../output/server.ts";
import type { MockRecord } from "../mock/server.ts";
import { withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import {
  aggregateOf,
  liveView,
  pause,
  requestRecord,
  startServedRun,
  waitFor,
} from "./_server_harness.ts";

const API_KEY = "sk-llmload-test-key-7f3a9c";
const TOKEN = "serve-token-4b1d";

/** A control that records what it was asked; the real one is exercised by the runs below. */
function recordingControl() {
  const calls: string[] = [];
  const control: RunControl = {
    stop: () => calls.push("stop"),
    setLoad: (load) => calls.push(`load ${JSON.stringify(load)}`),
  };
  return { calls, control };
}

async function get(app: ResultsApp, path: string, headers: Record<string, string> = {}) {
  return await app.app.request(path, { headers });
}

async function post(app: ResultsApp, path: string, body: unknown, token?: string) {
  return await app.app.request(path, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

Deno.test("every route answers through starting, running, stopping and done", async () => {
  const config = runConfig(["-u", "4", "-m", "mock-model", "--serve", "0"]);
  const app = createResultsApp(config);

  const health = await (await get(app, "/healthz")).json();
  assert.deepEqual(health, { status: "ok", state: "starting" });
  const starting = await (await get(app, "/api/results")).json();
  assert.equal(starting.schemaVersion, 1);
  assert.equal(starting.state, "starting");
  assert.equal(starting.requests.total, 0);
  assert.equal(starting.model, "mock-model");
  assert.deepEqual((await (await get(app, "/api/timeseries")).json()).points, []);
  assert.match(
    await (await get(app, "/metrics")).text(),
    /^llmload_run_state\{state="starting"\} 1$/m,
  );

  const page = await get(app, "/");
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(await page.text(), /<script src="assets\/app.js"><\/script>/);
  const script = await get(app, "/assets/app.js");
  assert.match(script.headers.get("content-type")!, /^text\/javascript/);
  assert.match(await script.text(), /api\/timeseries/);
  const style = await get(app, "/assets/style.css");
  assert.match(style.headers.get("content-type")!, /^text\/css/);
  assert.match(await style.text(), /\.chart/);
  for (
    const [path, type] of [["/assets/uplot.js", /^text\/javascript/], [
      "/assets/uplot.css",
      /^text\/css/,
    ]]
  ) {
    const chartAsset = await get(app, path as string);
    assert.match(chartAsset.headers.get("content-type")!, type as RegExp);
    assert.match(await chartAsset.text(), /uplot/i);
  }
  const missing = await get(app, "/nope");
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "No route GET /nope" });

  const startedAt = 1_800_000_000_000;
  const first = aggregateOf([requestRecord(40), requestRecord(60)]);
  app.update(liveView(config, {
    startedAt,
    now: startedAt + 1000,
    aggregate: first,
    interval: first,
    inFlight: 4,
  }));
  const running = await (await get(app, "/api/results")).json();
  assert.equal(running.state, "running");
  assert.equal(running.partial, true);
  assert.equal(running.requests.ok, 2);
  assert.equal(running.throughput.requestsPerSec, 2);
  assert.equal(running.live.inFlight, 4);
  assert.equal(running.live.users, 4);
  assert.equal(running.live.targetQps, null);
  assert.equal(running.live.elapsedMs, 1000);
  assert.equal(typeof running.histograms.ttft, "string");
  const metricsText = await (await get(app, "/metrics")).text();
  assert.match(metricsText, /^llmload_requests_total\{.*outcome="ok",status="2xx"\} 2$/m);
  assert.match(metricsText, /^llmload_run_state\{.*state="running"\} 1$/m);

  app.update(liveView(config, { state: "stopping", startedAt, now: startedAt + 2000 }));
  assert.equal((await (await get(app, "/healthz")).json()).state, "stopping");
  const total = aggregateOf([requestRecord(40), requestRecord(60), requestRecord(50)]);
  app.update(liveView(config, {
    state: "done",
    startedAt,
    now: startedAt + 2500,
    aggregate: total,
    interval: aggregateOf([requestRecord(50)]),
  }));
  const timeseries = await (await get(app, "/api/timeseries")).json();
  assert.equal(timeseries.state, "done");
  assert.equal(timeseries.startedAt, startedAt);
  assert.deepEqual(timeseries.points.map((p: { requests: number }) => p.requests), [2, 0, 1]);

  const final = buildResults(total, {
    provider: "vllm",
    model: "mock-model",
    config,
    startedAt,
    endedAt: startedAt + 2400,
    durationMs: 2400,
  });
  app.finish(final);
  app.update(liveView(config, { state: "running", startedAt, now: startedAt + 9000 }));
  const done = await (await get(app, "/api/results")).json();
  assert.equal(done.state, "done");
  assert.equal(done.partial, false);
  assert.equal(done.durationMs, 2400);
  assert.equal(done.requests.ok, 3);
  assert.equal(done.live.inFlight, 0);
  const { state: _state, live: _live, distributions, ...rest } = done;
  assert.deepEqual(rest, JSON.parse(JSON.stringify(final)));
  assert.deepEqual(distributions, latencyDistributions(final));
  assert.match(
    await (await get(app, "/metrics")).text(),
    /^llmload_run_state\{.*state="done"\} 1$/m,
  );
});

Deno.test("ETags let pollers ask cheaply: 304 until the next view", async () => {
  const config = runConfig(["-u", "2", "--serve", "0"]);
  const app = createResultsApp(config);
  app.update(liveView(config));
  for (const path of ["/api/results", "/api/timeseries"]) {
    const first = await get(app, path);
    const etag = first.headers.get("etag")!;
    assert.match(etag, /^"[0-9a-f]{8}-\d+"$/);
    assert.equal(first.headers.get("cache-control"), "no-cache");
    await first.body?.cancel();
    const again = await get(app, path, { "if-none-match": etag });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    const weak = await get(app, path, { "if-none-match": `"other", W/${etag}` });
    assert.equal(weak.status, 304);
  }
  const before = (await get(app, "/api/results")).headers.get("etag")!;
  app.update(liveView(config, { now: 1_800_000_002_000 }));
  const after = await get(app, "/api/results", { "if-none-match": before });
  assert.equal(after.status, 200);
  assert.notEqual(after.headers.get("etag"), before);
  await after.body?.cancel();
  assert.ok(etagMatches("*", '"x"'));
  assert.ok(!etagMatches(undefined, '"x"'));
  assert.ok(!etagMatches('"y"', '"x"'));
});

Deno.test("control routes refuse without --serve-token, and without the right bearer token", async () => {
  const open = createResultsApp(runConfig(["-u", "2", "--serve", "0"]));
  open.setControl(recordingControl().control);
  for (const path of ["/api/stop", "/api/load"]) {
    const response = await post(open, path, { users: 3 }, "anything");
    assert.equal(response.status, 403);
    assert.match((await response.json()).error, /start llmload with --serve-token/);
  }

  const config = runConfig(["-u", "2", "--serve", "0", "--serve-token", TOKEN]);
  const app = createResultsApp(config);
  const noToken = await post(app, "/api/stop", {});
  assert.equal(noToken.status, 401);
  assert.equal(noToken.headers.get("www-authenticate"), 'Bearer realm="llmload"');
  await noToken.body?.cancel();
  for (const header of [`Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN.slice(1)}`]) {
    const response = await app.app.request("/api/stop", {
      method: "POST",
      headers: { authorization: header },
    });
    assert.equal(response.status, 401, header);
    await response.body?.cancel();
  }
  const early = await post(app, "/api/stop", {}, TOKEN);
  assert.equal(early.status, 409);
  assert.deepEqual(await early.json(), { error: "The run has not started yet" });

  const { calls, control } = recordingControl();
  app.setControl(control);
  app.update(liveView(config));
  const bad = [
    ["{users: 3}", /Cannot parse the request body/],
    [[3], /Cannot read the request body/],
    [{}, /Cannot change the load/],
    [{ users: 0 }, /Cannot set users to 0: expected a whole number from 1 to 100000/],
    [{ users: 2.5 }, /Cannot set users to 2.5/],
    [{ qps: 3 }, /Cannot set qps: this run is not in QPS mode/],
    [{ users: 3, rate: 1 }, /Cannot change 'rate'/],
  ] as const;
  for (const [body, message] of bad) {
    const response = await post(app, "/api/load", body, TOKEN);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.match((await response.json()).error, message);
  }
  const load = await post(app, "/api/load", { users: 8 }, TOKEN);
  assert.equal(load.status, 202);
  assert.deepEqual(await load.json(), { load: { users: 8, qps: null } });
  const stop = await post(app, "/api/stop", {}, TOKEN);
  assert.equal(stop.status, 202);
  assert.deepEqual(await stop.json(), { state: "stopping" });
  assert.deepEqual(calls, ['load {"users":8}', "stop"]);
  assert.equal((await (await get(app, "/healthz")).json()).state, "stopping");
  // A view taken just before the stop does not bring "running" back.
  app.update(liveView(config, { state: "running" }));
  assert.equal(app.state, "stopping");
  const late = await post(app, "/api/load", { users: 2 }, TOKEN);
  assert.equal(late.status, 409);
  assert.deepEqual(await late.json(), { error: "The run is stopping" });
});

Deno.test("QPS changes are accepted in QPS mode", () => {
  assert.deepEqual(parseLoadChange('{"qps": 2.5}', { qpsMode: true }), { qps: 2.5 });
  assert.deepEqual(parseLoadChange('{"qps": 4, "users": 9}', { qpsMode: true }), {
    qps: 4,
    users: 9,
  });
  assert.match(
    (parseLoadChange('{"qps": -1}', { qpsMode: true }) as { error: string }).error,
    /Cannot set qps to -1: expected a number above 0/,
  );
});

Deno.test("the API key and the serve token appear in no response", async () => {
  const config = runConfig([
    "-u",
    "2",
    "-k",
    API_KEY,
    "--header",
    `x-api-key:${API_KEY}`,
    "--header",
    "x-team:bench",
    "--serve",
    "0",
    "--serve-token",
    TOKEN,
  ]);
  const app = createResultsApp(config);
  const aggregate = aggregateOf([requestRecord(10)], [
    { kind: "http_4xx", message: `Incorrect API key provided: ${API_KEY}`, status: 401 },
  ]);
  app.setControl(recordingControl().control);
  app.update(liveView(config, {
    aggregate,
    interval: aggregate,
    warnings: [`Server rejected key ${API_KEY} and ${TOKEN}`],
  }));
  const responses: Response[] = [];
  for (
    const path of [
      "/",
      "/assets/app.js",
      "/assets/style.css",
      "/api/results",
      "/api/timeseries",
      "/metrics",
      "/healthz",
      "/nope",
    ]
  ) {
    responses.push(await get(app, path));
  }
  responses.push(await post(app, "/api/load", { users: "x" }, TOKEN));
  responses.push(await post(app, "/api/load", { users: 3 }, TOKEN));
  responses.push(await post(app, "/api/stop", {}, "wrong"));
  responses.push(await post(app, "/api/stop", {}, TOKEN));
  app.finish(buildResults(aggregate, {
    provider: "vllm",
    model: "mock-model",
    config,
    startedAt: 0,
    endedAt: 1000,
    durationMs: 1000,
    warnings: [`key ${API_KEY}`],
  }));
  responses.push(await get(app, "/api/results"));
  let results = "";
  for (const response of responses) {
    const text = await response.text();
    const headers = JSON.stringify([...response.headers]);
    for (const secret of [API_KEY, TOKEN]) {
      assert.ok(!text.includes(secret), `${response.url} leaks ${secret}: ${text.slice(0, 200)}`);
      assert.ok(!headers.includes(secret));
    }
    if (text.includes('"schemaVersion"')) results = text;
  }
  const final = JSON.parse(results);
  assert.deepEqual(final.config.headers, { "x-team": "bench" });
  assert.deepEqual(final.failures.http_4xx.messages, ["Incorrect API key provided: ***"]);
  assert.deepEqual(final.warnings, ["key ***"]);
});

function arrivals(records: MockRecord[], from: number, to: number): number {
  return records.filter((r) => r.path !== "/v1/models" && r.receivedAt >= from && r.receivedAt < to)
    .length;
}

Deno.test("POST /api/load changes the rate the mock receives; POST /api/stop ends the run", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = startServedRun(mock, [
      "--qps",
      "10",
      "-u",
      "50",
      "-o",
      "4",
      "--warmup",
      "0",
      "--serve",
      "127.0.0.1:0",
      "--serve-token",
      TOKEN,
    ]);
    const url = await run.url;
    const control = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
    await waitFor("the first request", () => mock.records().length > 1 ? true : undefined);
    const now = () => performance.timeOrigin + performance.now();
    const slowFrom = now();
    await pause(1500);
    const slowTo = now();
    const changed = await control("/api/load", { qps: 40 });
    assert.equal(changed.status, 202);
    assert.deepEqual(await changed.json(), { load: { users: 50, qps: 40 } });
    await pause(300);
    const fastFrom = now();
    await pause(1500);
    const fastTo = now();
    const live = await (await fetch(`${url}/api/results`)).json();
    assert.equal(live.live.targetQps, 40);
    const stopped = await control("/api/stop", {});
    assert.equal(stopped.status, 202);
    await stopped.body?.cancel();
    // Without -t, a run stopped over HTTP keeps serving until Ctrl+C.
    await waitFor(
      "the linger notice",
      () => run.log.some((l) => /Serving the final results .* until Ctrl\+C/.test(l)) || undefined,
    );
    run.stop();
    const { exitCode, log } = await run.finished;
    assert.equal(exitCode, 0, log.join("\n"));

    const slow = arrivals(mock.records(), slowFrom, slowTo) / ((slowTo - slowFrom) / 1000);
    const fast = arrivals(mock.records(), fastFrom, fastTo) / ((fastTo - fastFrom) / 1000);
    assert.ok(slow > 7 && slow < 13, `before the change: ${slow.toFixed(1)} req/s`);
    assert.ok(fast > 34 && fast < 46, `after the change: ${fast.toFixed(1)} req/s`);
    assert.ok(log.some((line) => /Load changed: 40 QPS/.test(line)), log.join("\n"));
  });
});

Deno.test("without -t, a run stopped over HTTP keeps serving until Ctrl+C", async () => {
  await withMock({ ttftMs: 2, itlMs: 1 }, async (mock) => {
    const run = startServedRun(mock, [
      "-u",
      "1",
      "-o",
      "2",
      "--warmup",
      "0",
      "--serve",
      "127.0.0.1:0",
      "--serve-token",
      TOKEN,
    ]);
    const url = await run.url;
    await waitFor("a request", () => mock.records().length > 2 ? true : undefined);
    const stopped = await fetch(`${url}/api/stop`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(stopped.status, 202);
    await stopped.body?.cancel();
    await waitFor(
      "the linger notice",
      () => run.log.some((l) => /Serving the final results .* until Ctrl\+C/.test(l)) || undefined,
    );
    const done = await (await fetch(`${url}/api/results`)).json();
    assert.equal(done.state, "done");
    assert.ok(done.requests.ok > 0);
    run.stop();
    const { exitCode } = await run.finished;
    assert.equal(exitCode, 0);
    await assert.rejects(fetch(`${url}/healthz`));
  });
});

Deno.test("--serve-linger serves the final results, the same as --json, then stops", async () => {
  await withMock({ ttftMs: 2, itlMs: 1 }, async (mock) => {
    await withTempDir(async (dir) => {
      const run = startServedRun(mock, [
        "-u",
        "2",
        "-o",
        "3",
        "-t",
        "1s",
        "--warmup",
        "0",
        "--json",
        `${dir}/results.json`,
        "--serve",
        "127.0.0.1:0",
        "--serve-linger",
        "3s",
      ]);
      const url = await run.url;
      await waitFor(
        "the linger notice",
        () => run.log.some((l) => /Serving the final results .* for 3s/.test(l)) || undefined,
      );
      const served = await (await fetch(`${url}/api/results`)).json();
      const written = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
      const { state, live: _live, distributions, ...rest } = served;
      assert.equal(state, "done");
      assert.deepEqual(rest, written);
      assert.deepEqual(distributions, latencyDistributions(written));
      const health = await (await fetch(`${url}/healthz`)).json();
      assert.equal(health.state, "done");
      run.stop(); // Ctrl+C ends the linger early.
      const { exitCode, out } = await run.finished;
      assert.equal(exitCode, 0);
      assert.match(out, / Summary =+$/m);
      await assert.rejects(fetch(`${url}/healthz`));
    });
  });
});

Deno.test("a port already taken is a usage error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  try {
    const config = runConfig(["--serve", `127.0.0.1:${port}`]);
    await assert.rejects(
      startResultsServer(config),
      (error: Error) =>
        error instanceof UsageError &&
        error.message.startsWith(`Cannot serve on 127.0.0.1:${port}:`),
    );
  } finally {
    listener.close();
  }
});
