/**
 * The API key and the serve token never leave llmload: a spawned run with both, against a mock
 * whose 401 answers echo the `Authorization` header, and every output path searched for them:
 * stdout and stderr (table, summary, failure messages, probe, `--show-response`), the summary
 * CSV, the results JSON, the HTML report, and every route of the results server, live and after
 * the run.
 */
import assert from "node:assert/strict";
import { withMock, withTempDir } from "./_harness.ts";
import { oneSecondRun, runConfig } from "./_fixtures.ts";
import { UsageError } from "../common/errors.ts";
import { runCommand } from "../cli/run.ts";
import {
  CREDENTIAL_HEADERS,
  credentialsIn,
  maskError,
  maskSecrets,
  maskUrl,
  redactConfig,
  scrubSecrets,
  secretsOf,
  urlCredentials,
} from "../common/secrets.ts";
import { resolveTarget } from "../run/target.ts";
import { buildResults } from "../output/results.ts";
import { dashboardResults } from "../output/html_report.ts";
import { aggregateOf, requestRecord } from "./_server_harness.ts";

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

/** A key whose URL-encoded, base64 and base64url forms all differ from it and each other. */
const ODD_KEY = "sk-Live/4f9c+2e7a~1b8d??>x7";
const BASIC_PASSWORD = "hunter2/pw+x?";

function base64url(text: string): string {
  return btoa(text).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
}

/** Every echoed form the README promises to mask, as a server might quote it. */
const ECHOES = [
  ODD_KEY.toUpperCase(),
  ODD_KEY.toLowerCase(),
  encodeURIComponent(ODD_KEY),
  btoa(ODD_KEY),
  base64url(ODD_KEY),
  BASIC_PASSWORD.toUpperCase(),
  `bob:${BASIC_PASSWORD}`,
  encodeURIComponent(BASIC_PASSWORD),
  btoa(BASIC_PASSWORD),
  base64url(`bob:${BASIC_PASSWORD}`),
];

Deno.test("maskSecrets masks a key in any case, URL-encoded, base64 and base64url", () => {
  const secrets = credentialsIn({
    authorization: `Bearer ${ODD_KEY}`,
    "proxy-authorization": `Basic ${btoa(`bob:${BASIC_PASSWORD}`)}`,
  });
  for (const echo of ECHOES) {
    const expected = echo.startsWith("bob:") ? "said [bob:***]" : "said [***]";
    assert.equal(maskSecrets(`said [${echo}]`, secrets), expected, echo);
  }
  assert.equal(maskSecrets(`padded ${btoa(ODD_KEY)}.`, secrets), "padded ***.");
  // A cut echo at the end goes in any case too.
  assert.equal(maskSecrets(`cut ${ODD_KEY.toUpperCase().slice(0, 9)}`, secrets), "cut ");
  assert.equal(maskSecrets("nothing secret here", secrets), "nothing secret here");
  // A password in the host URL: fetch sends it as Basic base64(user:password).
  const inUrl = urlCredentials(`http://bob:${encodeURIComponent(BASIC_PASSWORD)}@127.0.0.1:1`);
  const header = `Basic ${btoa(`bob:${BASIC_PASSWORD}`)}`;
  assert.equal(
    maskSecrets(`echo ${header} bob:${BASIC_PASSWORD}`, inUrl),
    "echo Basic *** bob:***",
  );
});

Deno.test("an upper-cased, URL-encoded or base64 echo of a credential reaches no output", async () => {
  let replies = 0;
  // Two forms per reply keep each quoted message under the 200-character message cap, so a form
  // that escaped the masking could not be cut off instead.
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    await request.body?.cancel();
    // Only the load's requests are echoed; what llmload asks before the load finds nothing.
    if (request.method !== "POST") return new Response(null, { status: 404 });
    const pair = (replies++ % (ECHOES.length / 2)) * 2;
    const message = `echo ${pair}: ${ECHOES[pair]} ${ECHOES[pair + 1]}`;
    return Response.json({ error: { message } }, { status: 401 });
  });
  try {
    await withTempDir(async (dir) => {
      const config = runConfig([
        ...["-H", `http://127.0.0.1:${server.addr.port}`, "-m", "m", "--provider", "vllm"],
        ...[
          "-k",
          ODD_KEY,
          "--header",
          `Proxy-Authorization: Basic ${btoa(`bob:${BASIC_PASSWORD}`)}`,
        ],
        ...["-u", "1", "--max-requests", "10", "--warmup", "0", "-t", "20s"],
        ...["--json", `${dir}/results.json`, "--html", `${dir}/report.html`],
      ]);
      const printed: string[] = [];
      const { exitCode } = await runCommand(config, {
        out: (text) => printed.push(text),
        log: (line) => printed.push(line),
      });
      assert.equal(exitCode, 1, printed.join("\n"));
      const outputs = {
        console: printed.join("\n"),
        json: await Deno.readTextFile(`${dir}/results.json`),
        html: await Deno.readTextFile(`${dir}/report.html`),
      };
      for (const [label, text] of Object.entries(outputs)) {
        for (const echo of ECHOES) assert.ok(!text.includes(echo), `${label} holds ${echo}`);
        const lower = text.toLowerCase();
        assert.ok(!lower.includes(ODD_KEY.toLowerCase()), `${label} holds the key`);
        assert.ok(!lower.includes(BASIC_PASSWORD.toLowerCase()), `${label} holds the password`);
      }
      // The messages themselves are kept, each echo masked.
      const results = JSON.parse(outputs.json);
      assert.deepEqual(results.failures.http_4xx.messages.slice(0, 2), [
        "HTTP 401: echo 0: *** ***",
        "HTTP 401: echo 2: *** ***",
      ]);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("a password in the host URL is masked in every message that shows the URL", async () => {
  const PASSWORD = "pw-7c1e9b";
  const answers: Record<string, () => Response> = {
    "401": () => new Response("no", { status: 401 }),
    "not JSON": () => new Response("<html>"),
    "no data": () => Response.json({ models: [] }),
    "empty": () => Response.json({ data: [] }),
    "unknown owner": () => Response.json({ data: [{ id: "m", owned_by: "someone" }] }),
  };
  let answer = answers["401"];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => answer());
  const host = `http://bob:${PASSWORD}@127.0.0.1:${server.addr.port}`;
  const shown = `http://bob:***@127.0.0.1:${server.addr.port}`;
  try {
    const expected: Record<string, string> = {
      "401": `Cannot list models at ${shown}/v1/models: HTTP 401`,
      "not JSON": `Cannot read the model list at ${shown}/v1/models: not JSON`,
      "no data": `Cannot read the model list at ${shown}/v1/models: no data array`,
      "empty": `No model given and ${shown}/v1/models lists none`,
      "unknown owner": `Cannot tell which API dialect ${shown} speaks`,
    };
    for (const [name, respond] of Object.entries(answers)) {
      answer = respond;
      const error = await resolveTarget(runConfig(["-H", host])).catch((error) => error);
      assert.ok(error instanceof UsageError, `${name}: ${error}`);
      assert.ok(error.message.startsWith(expected[name]), `${name}: ${error.message}`);
      assert.ok(!error.message.includes(PASSWORD), error.message);
    }
  } finally {
    await server.shutdown();
  }
  const refused = await resolveTarget(runConfig(["-H", `http://bob:${PASSWORD}@127.0.0.1:9`]))
    .catch((error) => error);
  assert.match(refused.message, /^Cannot reach http:\/\/bob:\*\*\*@127\.0\.0\.1:9\/v1\/models /);
  assert.ok(!refused.message.includes(PASSWORD), refused.message);
  // A rejected value is quoted back, masked too.
  assert.throws(
    () => runConfig(["-H", `ftp://bob:${PASSWORD}@host`]),
    (error: Error) =>
      error.message.startsWith("Invalid --host 'ftp://bob:***@host': expected") &&
      !error.message.includes(PASSWORD),
  );
  assert.equal(redactConfig(runConfig(["-H", host, "-m", "m"])).host, shown);
});

/** A run with every kind of secret: key, serve token, Basic header, a header holding the key. */
const BASIC = `Basic ${btoa(`ann:${BASIC_PASSWORD}`)}`;
const SOURCE = {
  host: "http://bob:pw%2F1@127.0.0.1:1",
  headers: {
    "Proxy-Authorization": BASIC,
    "x-note": `key=${ODD_KEY}`,
    Cookie: 'sid="a1"',
    accept: "text/plain",
  },
  apiKey: ODD_KEY,
  serveToken: TOKEN,
};

Deno.test("secretsOf lists every secret of a run, longest first, once per source", () => {
  const secrets = secretsOf(SOURCE);
  const expected = [
    BASIC,
    btoa(`ann:${BASIC_PASSWORD}`),
    BASIC_PASSWORD,
    "pw/1",
    btoa("bob:pw/1"),
    `key=${ODD_KEY}`,
    ODD_KEY,
    TOKEN,
    'sid="a1"',
    'sid=\\"a1\\"', // JSON-escaped, as a client's error may quote a header value
  ];
  assert.deepEqual([...secrets].sort(), [...expected].sort());
  for (let i = 1; i < secrets.length; i++) {
    assert.ok(secrets[i - 1].length >= secrets[i].length, `longest first: ${secrets}`);
  }
  assert.equal(secretsOf(SOURCE), secrets, "one array per source, so one mask pattern");
  // A request context: the key arrives as the Bearer header it is sent in.
  const context = { host: "http://127.0.0.1:1", headers: { authorization: `Bearer ${KEY}` } };
  assert.deepEqual(secretsOf(context), [`Bearer ${KEY}`, KEY]);
  // A run config from the command line fits as it is; empty values are no secret.
  const config = runConfig(["-k", KEY, "--serve-token", TOKEN, "--header", "x-empty:"]);
  assert.deepEqual([...secretsOf(config)].sort(), [KEY, TOKEN].sort());
  assert.deepEqual(secretsOf({ host: "not a url", headers: { authorization: " " } }), []);
});

Deno.test("text masked with a run's secrets shows none of them, in any form", () => {
  const text = [
    `password ${BASIC_PASSWORD}`,
    `encoded ${encodeURIComponent(ODD_KEY)}`,
    `header key=${ODD_KEY}`,
    `token ${TOKEN}`,
    "url pw/1",
    "kept text/plain",
  ].join("; ");
  assert.equal(
    maskSecrets(text, secretsOf(SOURCE)),
    "password ***; encoded ***; header ***; token ***; url ***; kept text/plain",
  );
});

Deno.test("credentialsIn, urlCredentials and maskUrl find and mask credentials", () => {
  assert.ok(["authorization", "x-api-key", "cookie"].every((name) => CREDENTIAL_HEADERS.has(name)));
  assert.deepEqual(
    credentialsIn({ "X-Api-Key": "k-1", Authorization: BASIC, accept: "text/plain" }),
    [BASIC, btoa(`ann:${BASIC_PASSWORD}`), BASIC_PASSWORD, "k-1"],
  );
  assert.deepEqual(urlCredentials("http://bob:pw%2F1@h:1"), ["pw/1", btoa("bob:pw/1")]);
  assert.deepEqual(urlCredentials("http://bob@h:1"), []);
  assert.deepEqual(urlCredentials("not a url"), []);
  assert.equal(
    maskUrl("GET http://bob:pw%2F1@h:1/v1 and https://h/x"),
    "GET http://bob:***@h:1/v1 and https://h/x",
  );
});

Deno.test("redactConfig drops the key, the serve token and secret headers, and masks the URL", () => {
  const redacted = redactConfig(SOURCE);
  assert.deepEqual(redacted, {
    host: "http://bob:***@127.0.0.1:1",
    headers: { accept: "text/plain" },
  });
  const config = runConfig([
    ...["-k", KEY, "--serve-token", TOKEN],
    ...["--header", "X-API-KEY: k-2", "--header", `x-note: for ${KEY}`, "--header", "x-ok: 1"],
  ]);
  const fromConfig = redactConfig(config);
  assert.ok(!("apiKey" in fromConfig) && !("serveToken" in fromConfig));
  assert.deepEqual(fromConfig.headers, { "x-ok": "1" });
  assert.equal(fromConfig.users, config.users, "the rest is kept");
});

Deno.test("secrets are scrubbed from every text value but the kept keys", () => {
  const scrubbed = scrubSecrets(
    {
      warnings: ["key sk-1 rejected"],
      nested: { list: [{ message: "sk-1sk-1" }], "sk-1": 1 },
      histograms: { ttft: "abcsk-1" },
      count: 3,
    },
    ["sk-1"],
    { keep: ["histograms"] },
  );
  assert.deepEqual(scrubbed, {
    warnings: ["key *** rejected"],
    nested: { list: [{ message: "******" }], "***": 1 },
    histograms: { ttft: "abcsk-1" },
    count: 3,
  });
  const value = { message: "sk-1" };
  assert.equal(scrubSecrets(value, []), value, "nothing to scrub: the value itself");
});

Deno.test("the dashboard's results are scrubbed of a run's secrets, histograms kept", () => {
  const config = runConfig(["-k", KEY, "--serve-token", TOKEN, "-m", "m"]);
  const results = buildResults(
    aggregateOf([requestRecord(30)]),
    oneSecondRun(config, { warnings: [`echoed ${KEY} and ${TOKEN}`] }),
  );
  const shown = dashboardResults(results, { state: "done", secrets: secretsOf(config) });
  assert.deepEqual(shown.warnings, ["echoed *** and ***"]);
  assert.ok(Object.keys(results.histograms).length > 0);
  assert.deepEqual(shown.histograms, results.histograms);
});

Deno.test("a shard's error report masks the credentials, stack included", () => {
  const error = new Error(`stream failed for Bearer ${KEY}`);
  const text = maskError(error, [`Bearer ${KEY}`, KEY], { stack: true });
  assert.match(text, /stream failed for \*\*\*/);
  assert.match(text, /secrets_test\.ts/, "the stack is kept");
  assert.ok(!text.includes(KEY));
  assert.equal(maskError(`thrown ${KEY}`, secretsOf(runConfig(["-k", KEY]))), "thrown ***");
});
