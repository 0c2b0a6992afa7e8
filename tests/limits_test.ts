import assert from "node:assert/strict";
import { checkFileLimit, FILE_HEADROOM, openFileLimit } from "../run/limits.ts";
import { UsageError } from "../common/errors.ts";
import { createResultsApp } from "../output/server.ts";
import { runConfig } from "./_fixtures.ts";
import { liveView } from "./_server_harness.ts";
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
