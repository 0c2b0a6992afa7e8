import assert from "node:assert/strict";
import { withMock, withTempDir } from "./_harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];

function llmload(args: string[], options: { cwd?: string } = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, MAIN, ...args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "" },
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
 * Spawns llmload, waits until its stderr shows `marker`, sends SIGINT `signals` times (300 ms
 * apart), and collects the exit status and everything it printed.
 */
async function interrupt(args: string[], marker: string, signals: number) {
  const child = llmload(args).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(marker)) {
    const { value, done } = await stderr.read();
    if (done) break;
    seen += value;
  }
  for (let i = 0; i < signals; i++) {
    if (signals > 1) await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGINT");
  }
  const [status, stdout] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    (async () => {
      while (!(await stderr.read()).done);
    })(),
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
