import assert from "node:assert/strict";
import { checkFileLimit, FILE_HEADROOM, openFileLimit } from "../run/limits.ts";
import { UsageError } from "../common/errors.ts";
import { createResultsApp } from "../output/server.ts";
import { runConfig } from "./_fixtures.ts";
import { aggregateOf, liveView, requestRecord } from "./_server_harness.ts";
import { runAgainst, withMock } from "./_harness.ts";
import type { CapturedRun } from "./_harness.ts";
import { capWarning } from "../run/rules.ts";
import { needing, toolPath } from "./_tools.ts";

Deno.test("the open-file limit is read from /proc/self/limits, else from the shell", async () => {
  const sample = "Limit                     Soft Limit           Hard Limit           Units\n" +
    "Max open files            1024                 524288               files\n";
  const noShell = () => Promise.resolve(undefined);
  assert.equal(await openFileLimit({ readTextFile: () => sample, shellUlimit: noShell }), 1024);
  assert.equal(
    await openFileLimit({
      readTextFile: () => sample.replace("1024 ", "unlimited"),
      shellUlimit: noShell,
    }),
    undefined,
  );
  const denied = () => {
    throw new Deno.errors.NotCapable("Requires all access");
  };
  assert.equal(await openFileLimit({ readTextFile: denied, shellUlimit: noShell }), undefined);
  assert.equal(
    await openFileLimit({ readTextFile: denied, shellUlimit: () => Promise.resolve("4096\n") }),
    4096,
  );
});

Deno.test(needing(["sh"], {
  name: "the real open-file limit is learnt where /proc cannot be read, from sh",
  ignore: Deno.build.os !== "linux",
  // The test task grants --allow-run but not --allow-all, so run/limits.ts spawns sh.
  fn: async () => assert.ok((await openFileLimit())! > 0),
}));

Deno.test("too many users for the limit is a usage error that says how to raise it", () => {
  checkFileLimit(1024 - FILE_HEADROOM, 1024);
  checkFileLimit(1e6, undefined);
  assert.throws(
    () => checkFileLimit(20000, 1024),
    (error: unknown) =>
      error instanceof UsageError &&
      /open-file limit is 1024 and this run needs about 20064; raise it first \(e\.g\. 'ulimit -n 65536'/
        .test(error.message),
  );
});

Deno.test(needing(["bash"], {
  name: "llmload -u 20000 under 'ulimit -n 256' refuses before the run",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const main = new URL("../main.ts", import.meta.url).pathname;
    const script =
      `ulimit -n 256 && exec "${Deno.execPath()}" run -A "${main}" -H http://127.0.0.1:9 ` +
      `-m m -u 20000 -t 1s`;
    const output = await new Deno.Command(toolPath("bash")!, {
      args: ["-c", script],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.match(stderr, /^llmload: Cannot open 20000 connections: the open-file limit is 256/);
  },
}));

Deno.test("POST /api/load refuses more users than the open-file limit allows, naming it", async () => {
  const config = runConfig(["-u", "4", "-m", "m", "--serve", "0", "--serve-token", "t"]);
  const loads: unknown[] = [];
  const app = createResultsApp(config, { openFileLimit: () => Promise.resolve(1024) });
  app.setControl({ stop() {}, setLoad: (load) => loads.push(load) });
  app.update(liveView(config));
  async function setUsers(users: number) {
    const response = await app.app.request("/api/load", {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify({ users }),
    });
    return { status: response.status, body: await response.json() };
  }
  assert.deepEqual(await setUsers(5000), {
    status: 400,
    body: {
      error: "Cannot set users to 5000: the open-file limit is 1024 and this run needs about " +
        "5064; raise it and restart llmload",
    },
  });
  assert.equal((await setUsers(1024 - FILE_HEADROOM)).status, 202);
  assert.deepEqual(loads, [{ users: 1024 - FILE_HEADROOM }]);
});

/** The cap warnings of a run, live log lines and those kept in the results, without prefix. */
function capWarnings(run: CapturedRun): string[] {
  return [...run.log, ...run.results.warnings]
    .filter((line) => /caps requests in flight|in flight were all busy/.test(line))
    .map((line) => line.replace(/^Warning: /, ""));
}

Deno.test("a QPS load far under the in-flight cap never warns of it", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["--qps", "40", "-u", "50", "-t", "1s", "-o", "8"]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    assert.ok(run.results.requests.ok >= 20, `${run.results.requests.ok} requests`);
    assert.equal(run.results.capped, 0);
    assert.deepEqual(capWarnings(run), []);
  });
});

Deno.test("a QPS load that fills the in-flight cap warns once, with the users it needs", async () => {
  await withMock({ ttftMs: 150, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["--qps", "40", "-u", "2", "-t", "1500ms", "-o", "2"]);
    assert.ok(run.results.capped > 0, "no send waited for a slot");
    const warnings = capWarnings(run);
    const live = warnings[0];
    assert.ok(live, run.log.join("\n"));
    // One sentence, the same in the log and in the results file.
    assert.deepEqual(new Set(warnings), new Set([live]));
    assert.ok(run.results.warnings.includes(live));
    const needed = Number(live.match(/about (\d+) users would be needed/)?.[1]);
    assert.ok(needed >= 6 && needed <= 12, `${needed} users for 40 req/s × ~0.15 s`);
    assert.match(live, /^--users 2 caps requests in flight below what --qps 40 needs/);
    assert.match(live, /\(40 req\/s × 0\.1\d s mean latency\)/);
  });
});

Deno.test("a cap filled by slow requests, with users enough on average, says so", () => {
  const records = [10, 10, 10, 10, 2000].map((totalMs) => requestRecord(totalMs, { tokens: 1 }));
  const aggregate = aggregateOf(records, [], 3);
  const warning = capWarning(runConfig(["--qps", "100", "-u", "200"]), aggregate);
  assert.match(
    warning,
    /^--users 200 in flight were all busy although about 41 users would do on average \(100 req\/s × 0\.41 s mean latency\): so far 3 sends waited for a free slot; slow requests filled the slots \(total latency p99 2\.\d\d s\)/,
  );
});
