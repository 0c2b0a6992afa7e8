/**
 * Permission parity: the binary gets exactly the permissions of the `deno compile` argument list,
 * so the same entry point under `deno run` with the same permission flags, no more, must do what
 * the binary has to do: type-check, serve the mock, run a load test with Worker shards, build an
 * exact-length prompt with tiktoken's WASM, write result files, and serve `--serve`. And each
 * permission must be needed by something.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadTokenizer } from "../load/tokenizer.ts";
import { compileArgs, ENTRY_POINT, INCLUDES } from "../tools/compile.ts";
import { needing, toolPath } from "./_tools.ts";

const ROOT = new URL("../", import.meta.url);
const decoder = new TextDecoder();

/** The permission flags of the compile argument list, taken from the list itself. */
const PERMISSION_FLAGS = compileArgs({ output: "dist/llmload" }).filter((arg) =>
  /^--(allow|deny)-/.test(arg)
);

/** Output of a finished process. */
interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `deno <subcommand> --frozen <flags> main.ts <args>` at the repository root, time-bounded. */
async function deno(subcommand: string, flags: string[], args: string[]): Promise<Finished> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [subcommand, "--frozen", ...flags, ENTRY_POINT, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "", LLMLOAD_HISTORY: "off" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs llmload from source with exactly `flags` as its permissions. */
function llmload(flags: string[], args: string[]): Promise<Finished> {
  return deno("run", flags, args);
}

/** `llmload mock` in a subprocess with the compile permissions, on a port it picks itself. */
async function startMockProcess(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--frozen",
      ...PERMISSION_FLAGS,
      ENTRY_POINT,
      "mock",
      "--port",
      "0",
      "--itl",
      "5ms",
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  const deadline = setTimeout(() => child.kill(), 20_000);
  try {
    while (!/listening on (\S+)/.test(printed)) {
      const { value, done } = await lines.read();
      if (done) {
        await child.status;
        throw new Error(`llmload mock did not start: ${printed}${await stderr}`);
      }
      printed += value;
    }
  } finally {
    clearTimeout(deadline);
  }
  async function stop() {
    child.kill("SIGTERM");
    await child.status;
    await lines.cancel();
    await stderr;
  }
  return { url: printed.match(/listening on (\S+)/)![1], stop };
}

/** Local modules reachable from the entry point. */
async function reachableModules(): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ENTRY_POINT],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(decoder.decode(output.stdout)) as { modules: { specifier: string }[] };
  return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"));
}

/**
 * True once `--serve` is wired up: a module the entry point reaches, other than the mock, starts
 * an HTTP server. Until then the option is parsed but serves nothing.
 */
async function serveIsWired(): Promise<boolean> {
  for (const specifier of await reachableModules()) {
    if (/\/lib\/mock[^/]*\.ts$/.test(specifier)) continue;
    const text = await Deno.readTextFile(new URL(specifier));
    if (/Deno\.serve\(|from\s+["']hono["']/.test(text)) return true;
  }
  return false;
}

/** A loopback port nobody listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Fails on any sign of a missing permission in a run's output. */
function assertNoPermissionError(result: Finished) {
  assert.doesNotMatch(result.stderr, /NotCapable|Requires \w+ access/, result.stderr);
}

Deno.test("the entry point and its Worker modules type-check under the compile configuration", async () => {
  const modules = INCLUDES.filter((path) => path.endsWith(".ts"));
  const result = await deno("check", [], modules);
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("the compile permissions suffice for the mock and a load test with 2 Worker shards, -p 100, result files and the history", async () => {
  const mock = await startMockProcess();
  const dir = await Deno.makeTempDir({ prefix: "llmload-permissions-" });
  try {
    const result = await llmload(PERMISSION_FLAGS, [
      ...["-H", mock.url, "-t", "2s", "--workers", "2", "-u", "4", "-r", "100"],
      ...["-p", "100", "-o", "8", "--json", `${dir}/results.json`],
      ...["--summary-file", `${dir}/summary.csv`, "--history", `${dir}/runs.db`],
    ]);
    assert.equal(result.code, 0, result.stderr);
    assertNoPermissionError(result);
    assert.match(result.stderr, /on 2 worker shards/);

    const results = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
    assert.ok(results.requests.ok > 0, JSON.stringify(results.requests));
    assert.equal(results.requests.failed, 0);
    assert.match(await Deno.readTextFile(`${dir}/summary.csv`), /\n.*mock-model/);
    // node:sqlite writes and reads the history with these permissions too.
    const runs = await llmload(PERMISSION_FLAGS, ["runs", "--history", `${dir}/runs.db`, "--json"]);
    assert.equal(runs.code, 0, runs.stderr);
    assert.equal(JSON.parse(runs.stdout)[0].ok, results.requests.ok);

    // The prompt was built with tiktoken's WASM inside the restricted process: it must be
    // exactly 100 tokens under the same encoding here.
    const received: { body?: { prompt?: string } }[] = await (await fetch(
      `${mock.url}/mock/requests`,
    )).json();
    const prompt = received.find((record) => typeof record.body?.prompt === "string")?.body?.prompt;
    assert.ok(prompt !== undefined, "the mock recorded no completion request");
    const tokenizer = await loadTokenizer("o200k_base");
    assert.equal(tokenizer.count(prompt), 100);
  } finally {
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

const serveWired = await serveIsWired();

Deno.test({
  name: serveWired
    ? "the compile permissions suffice for --serve: /api/results and /metrics answer during a run"
    : "the compile permissions suffice for --serve (skipped: --serve is parsed but no module " +
      "main.ts reaches starts a server yet)",
  ignore: !serveWired,
  fn: async () => {
    const mock = await startMockProcess();
    const port = freePort();
    try {
      const run = llmload(PERMISSION_FLAGS, [
        ...["-H", mock.url, "-t", "3s", "--workers", "2", "-u", "2", "-r", "100", "-p", "100"],
        ...["-o", "8", "--serve", `127.0.0.1:${port}`],
      ]);
      const base = `http://127.0.0.1:${port}`;
      let results: Response | undefined;
      const deadline = Date.now() + 4_000;
      while (!results?.ok && Date.now() < deadline) {
        results = await fetch(`${base}/api/results`).catch(() => undefined);
        if (!results?.ok) {
          await results?.body?.cancel();
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assert.equal(results?.status, 200, `GET ${base}/api/results did not answer 200 in time`);
      assert.equal(typeof (await results!.json()), "object");
      const metrics = await fetch(`${base}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^# (HELP|TYPE) /m);
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const finished = await run;
      assert.equal(finished.code, 0, finished.stderr);
      assertNoPermissionError(finished);
    } finally {
      await mock.stop();
    }
  },
});

Deno.test("each compile permission is needed: without it llmload fails", async () => {
  const mock = await startMockProcess();
  const dir = await Deno.makeTempDir({ prefix: "llmload-permissions-" });
  const without = (flag: string) => PERMISSION_FLAGS.filter((f) => f !== flag);
  const shortRun = ["-H", mock.url, "-t", "1s", "-u", "1", "--workers", "1", "-o", "4"];
  try {
    // What each permission is for; a new permission needs a case here saying why.
    const cases: Record<string, Promise<Finished>> = {
      "--allow-net": llmload(without("--allow-net"), ["mock", "--port", "0"]),
      "--allow-read": llmload(without("--allow-read"), [...shortRun, "-p", "100"]),
      "--allow-write": llmload(without("--allow-write"), [...shortRun, "--json", `${dir}/r.json`]),
      "--allow-env": llmload(without("--allow-env"), ["--version"]),
    };
    // --allow-run=sh only reads the open-file limit; its own test is below.
    assert.deepEqual(
      Object.keys(cases).sort(),
      PERMISSION_FLAGS.filter((flag) => flag !== "--allow-run=sh").sort(),
    );
    for (const [flag, pending] of Object.entries(cases)) {
      const result = await pending;
      const name = flag.replace("--allow-", "");
      // A result file that cannot be written is reported but does not fail the run, so the
      // evidence is the message, not the exit code.
      assert.match(
        result.stderr,
        new RegExp(`Requires ${name} access|tiktoken_bg\\.wasm`),
        `llmload without ${flag} did not miss it:\n${result.stderr}`,
      );
    }
  } finally {
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(needing(["sh"], {
  name: "--allow-run=sh is what lets llmload refuse -u beyond the open-file limit before the run",
  ignore: Deno.build.os === "windows",
  async fn() {
    const underUlimit = async (flags: string[]) => {
      const command = [Deno.execPath(), "run", "--frozen", ...flags, ENTRY_POINT]
        .map((word) => `'${word}'`).join(" ");
      const output = await new Deno.Command(toolPath("sh")!, {
        args: ["-c", `ulimit -n 256 && exec ${command} -H http://127.0.0.1:9 -m m -u 20000 -t 1s`],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      return { code: output.code, stderr: decoder.decode(output.stderr) };
    };
    const granted = await underUlimit([...PERMISSION_FLAGS]);
    assert.equal(granted.code, 2, granted.stderr);
    assert.match(granted.stderr, /open-file limit is 256/);
    const withheld = await underUlimit(PERMISSION_FLAGS.filter((f) => f !== "--allow-run=sh"));
    assert.doesNotMatch(withheld.stderr, /open-file limit/);
  },
}));
