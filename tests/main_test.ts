import assert from "node:assert/strict";
import { withMock, withTempDir } from "./_harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];

function llmload(args: string[], options: { cwd?: string } = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, MAIN, ...args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "", LLMLOAD_HISTORY: "off" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
}

async function run(args: string[], options: { cwd?: string } = {}) {
  const output = await llmload(args, options).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Spawns llmload, waits until its stderr shows `marker` (or until `ready` resolves), sends
 * `signal` (SIGINT by default) `signals` times, 300 ms apart, and collects the exit status and
 * everything it printed.
 */
async function interrupt(
  args: string[],
  marker: string,
  signals: number,
  options: { signal?: Deno.Signal; ready?: Promise<unknown> } = {},
) {
  const child = llmload(args).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const reading = (async () => {
    while (true) {
      const { value, done } = await stderr.read();
      if (done) return;
      seen += value;
    }
  })();
  if (options.ready) await options.ready;
  while (!seen.includes(marker)) await new Promise((resolve) => setTimeout(resolve, 20));
  for (let i = 0; i < signals; i++) {
    if (signals > 1) await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill(options.signal ?? "SIGINT");
  }
  const [status, stdout] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    reading,
  ]);
  return { code: status.code, stdout, stderr: seen };
}

Deno.test("--help and --version exit 0", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--max-tokens-distribution/);
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^llmload \d+\.\d+\.\d+ \(deno 2\.\d+\.\d+, v8 /);
});

Deno.test("a usage error exits 2 with one line naming the option", async () => {
  const result = await run(["-u", "0"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr.trim().split("\n").length, 1);
  assert.match(result.stderr, /^llmload: .*--users '0'/);
});

Deno.test("a server that fails every request: exit 1 after the full output", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json({ error: { message: "model overloaded" } }, { status: 503 }),
  );
  try {
    const { port } = server.addr as Deno.NetAddr;
    const result = await run([
      "-H",
      `http://127.0.0.1:${port}`,
      "-m",
      "m",
      "--provider",
      "openai",
      "-t",
      "1s",
      "-u",
      "2",
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /http_5xx/);
    assert.match(result.stdout, /model overloaded/);
    assert.match(result.stdout, /={80}\n*$/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("nothing listening at start: one clear line, exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const result = await run(["-H", `http://127.0.0.1:${port}`, "-m", "m", "-t", "500ms"]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  assert.match(
    result.stderr,
    /^llmload: Cannot connect to http:\/\/127\.0\.0\.1:\d+ .*is the server running\?/,
  );
});

Deno.test("SIGINT: the summary is printed and the files are written", async () => {
  await withTempDir(async (dir) => {
    await withMock({ ttftMs: 5, itlMs: 5 }, async (mock) => {
      const { code, stdout, stderr } = await interrupt(
        [
          "-H",
          mock.url,
          "-u",
          "2",
          "-o",
          "8",
          "--summary-file",
          `${dir}/s.csv`,
          "--json",
          `${dir}/r.json`,
        ],
        "Stats reset",
        1,
      );
      assert.equal(code, 0, stderr);
      assert.match(stdout, /Num Requests\s+: [1-9]/);
      assert.match(stdout, /={80}\n$/);
      const csv = await Deno.readTextFile(`${dir}/s.csv`);
      assert.equal(csv.trim().split("\n").length, 2);
      const results = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
      assert.ok(results.requests.ok > 0);
    });
  });
});

Deno.test("Ctrl+C twice: requests are cut off, results still written and marked partial", async () => {
  await withTempDir(async (dir) => {
    // Responses take far longer than the test: only a second Ctrl+C can end the run quickly.
    await withMock({ ttftMs: 30_000, itlMs: 5 }, async (mock) => {
      const { code, stdout } = await interrupt(
        [
          "-H",
          mock.url,
          "-m",
          "mock-model",
          "-u",
          "3",
          "--json",
          `${dir}/r.json`,
        ],
        "Load:",
        2,
      );
      assert.equal(code, 1, "no request completed");
      assert.match(stdout, /Num Requests\s+: 0/);
      const results = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
      assert.equal(results.partial, true);
    });
  });
});

Deno.test("SIGTERM: a graceful stop, the summary is printed and the files are written", async () => {
  if (Deno.build.os === "windows") return;
  await withTempDir(async (dir) => {
    await withMock({ ttftMs: 5, itlMs: 5 }, async (mock) => {
      const { code, stdout, stderr } = await interrupt(
        ["-H", mock.url, "-u", "2", "-o", "8", "--json", `${dir}/r.json`],
        "Stats reset",
        1,
        { signal: "SIGTERM" },
      );
      assert.equal(code, 0, stderr);
      assert.match(stderr, /Stopping: waiting for requests in flight/);
      assert.match(stdout, /Num Requests\s+: [1-9]/);
      const results = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
      assert.ok(results.requests.ok > 0);
      assert.equal(results.partial, false);
    });
  });
});

Deno.test("a second SIGTERM before the load starts quits at once, without a summary", async () => {
  if (Deno.build.os === "windows") return;
  // /v1/models never answers, so llmload is still resolving the model when the signals come.
  let asked: () => void = () => {};
  const modelsAsked = new Promise<void>((resolve) => asked = resolve);
  const hang = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, signal: hang.signal },
    (request) => {
      asked();
      return new Promise<Response>((resolve) =>
        request.signal.addEventListener("abort", () => resolve(new Response(null)))
      );
    },
  );
  try {
    const { port } = server.addr as Deno.NetAddr;
    const { code, stdout, stderr } = await interrupt(
      ["-H", `http://127.0.0.1:${port}`, "--provider", "openai", "-t", "5s"],
      "",
      2,
      { signal: "SIGTERM", ready: modelsAsked },
    );
    assert.equal(code, 1, stderr);
    assert.equal(stdout, "");
    assert.match(stderr, /Stopping: the load will not start/);
    assert.match(stderr, /Stopped before the load started/);
  } finally {
    hang.abort();
    await server.finished;
  }
});

Deno.test("without -m, a key with a line break is refused before /v1/models is asked", async () => {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return Response.json({ data: [{ id: "m", owned_by: "openai" }] });
  });
  try {
    const { port } = server.addr as Deno.NetAddr;
    const result = await run(["-H", `http://127.0.0.1:${port}`, "-k", "sk-secret\nX-I: 1"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr.trim(),
      "llmload: Invalid --api-key: character 10 is a line break (CR or LF); an API key holds " +
        "only printable ASCII, no spaces",
    );
    assert.equal(requests, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("warnings about settings are printed before the run", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...PERMISSIONS, MAIN, "-H", `${mock.url}/v1`, "-m", "mock-model", "-t", "1s"],
      env: {
        NO_COLOR: "1",
        LLMLOAD_API_KEY: "",
        OPENAI_API_KEY: "",
        LLMLOAD_HISTORY: "off",
        LLMLOAD_USER: "3",
      },
      stdout: "piped",
      stderr: "piped",
    });
    const output = await child.output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.match(
      stderr,
      /^Warning: Unknown environment variable LLMLOAD_USER \(ignored\): did you mean LLMLOAD_USERS\?\n/m,
    );
    assert.match(stderr, /Warning: --host ends in \/v1, which llmload adds itself/);
  });
});
