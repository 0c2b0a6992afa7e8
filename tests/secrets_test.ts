/**
 * The API key and the serve token never leave llmload: a spawned run with both, against a mock
 * whose 401 answers echo the `Authorization` header, and every output path searched for them:
 * stdout and stderr (table, summary, failure messages, probe, `--show-response`), the summary
 * CSV, the results JSON, the HTML report, and every route of the results server, live and after
 * the run.
 */
import assert from "node:assert/strict";
import { withMock, withTempDir } from "./_harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const KEY = "sk-live-4f9c2e7a1b8d6053e1f0";
const TOKEN = "serve-token-93b1d7c4e2a6f805";
/** Pieces that would betray a partial leak (a key cut short, a token split by formatting). */
const NEEDLES = [KEY, TOKEN, KEY.slice(8, 20), TOKEN.slice(12, 24)];

function assertClean(label: string, text: string) {
  for (const needle of NEEDLES) {
    assert.ok(!text.includes(needle), `${label} contains ${needle === KEY ? "the key" : needle}`);
  }
}

/** Reads a process's stream into `sink.text` and resolves `waitFor` promises as text appears. */
function collect(stream: ReadableStream<Uint8Array<ArrayBuffer>>) {
  const sink = { text: "" };
  const waiters: Array<{ pattern: RegExp; resolve: (match: RegExpMatchArray) => void }> = [];
  const done = (async () => {
    for await (const piece of stream.pipeThrough(new TextDecoderStream())) {
      sink.text += piece;
      for (const waiter of [...waiters]) {
        const match = sink.text.match(waiter.pattern);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    }
  })();
  function waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    const match = sink.text.match(pattern);
    if (match) return Promise.resolve(match);
    return new Promise((resolve) => waiters.push({ pattern, resolve }));
  }
  return { sink, waitFor, done };
}

/** GETs every route of the results server (and a refused control call); returns the bodies. */
async function fetchAll(base: string): Promise<Record<string, string>> {
  const bodies: Record<string, string> = {};
  for (const path of ["/", "/api/results", "/api/timeseries", "/metrics", "/healthz"]) {
    const response = await fetch(`${base}${path}`);
    assert.equal(response.status, 200, path);
    bodies[path] = await response.text();
  }
  const refused = await fetch(`${base}/api/stop`, {
    method: "POST",
    headers: { authorization: "Bearer wrong-token" },
  });
  assert.equal(refused.status, 401);
  bodies["POST /api/stop"] = await refused.text();
  return bodies;
}

Deno.test("the API key and the serve token appear in no output, file or endpoint", async () => {
  const faults = [{ kind: "http_401" as const, rate: 0.3 }];
  await withMock({ ttftMs: 2, itlMs: 2, faults, seed: 5 }, async (mock) => {
    // The mock really does quote the key back, so a leak would show.
    let echoed = "";
    while (!echoed.includes(KEY)) {
      const response = await fetch(`${mock.url}/v1/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ prompt: "hi", max_tokens: 1 }),
      });
      echoed = await response.text();
    }
    await withTempDir(async (dir) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          ...["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"],
          ...[MAIN, "-H", mock.url, "-m", "mock-model", "-k", KEY, "--serve-token", TOKEN],
          ...[
            "--serve",
            "127.0.0.1:0",
            "--serve-linger",
            "30s",
            "-t",
            "2s",
            "-u",
            "2",
            "-r",
            "100",
          ],
          ...["-o", "4", "--warmup", "0", "--show-response", "--preflight"],
          ...["--summary-file", `${dir}/summary.csv`, "--json", `${dir}/results.json`],
          ...["--html", `${dir}/report.html`],
        ],
        env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stdout = collect(child.stdout);
      const stderr = collect(child.stderr);
      const [, base] = await stderr.waitFor(/dashboard (http:\/\/127\.0\.0\.1:\d+)\//);
      await stderr.waitFor(/\nLoad: /);
      const live = await fetchAll(base);
      await stderr.waitFor(/Serving the final results/);
      const final = await fetchAll(base);
      child.kill("SIGINT");
      const [status] = await Promise.all([child.status, stdout.done, stderr.done]);

      assert.equal(status.code, 1, "the injected 401s fail the run");
      assert.match(stdout.sink.text, /HTTP 401: Incorrect API key provided: \*\*\*/);
      assert.match(stdout.sink.text, /---\n the of/, "--show-response printed replies");
      assert.match(stderr.sink.text, /Probe of vllm/);
      assertClean("stdout", stdout.sink.text);
      assertClean("stderr", stderr.sink.text);
      for (const file of ["summary.csv", "results.json", "report.html"]) {
        const text = await Deno.readTextFile(`${dir}/${file}`);
        assert.ok(text.length > 0, file);
        assertClean(file, text);
      }
      assert.match(await Deno.readTextFile(`${dir}/results.json`), /Incorrect API key provided/);
      for (const [path, body] of Object.entries(live)) assertClean(`live ${path}`, body);
      for (const [path, body] of Object.entries(final)) assertClean(`final ${path}`, body);
      assert.match(final["/api/results"], /Incorrect API key provided: \*\*\*/);
    });
  });
});
