import assert from "node:assert/strict";
import { completionRecords, runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runLoadTest } from "../run/coordinator.ts";
import { runConfig } from "./_fixtures.ts";

type Body = Record<string, unknown>;

Deno.test("every generation option reaches the server as the API expects", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-m",
      "mock-model",
      "-k",
      "sk-test-secret",
      "--header",
      "x-team:bench",
      "-u",
      "2",
      "-r",
      "100",
      "-t",
      "1s",
      "--chat",
      "--no-stream",
      "--logprobs",
      "3",
      "--temperature",
      "0.2",
      "-o",
      "7",
      "--prompt-text",
      "Say hello",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completionRecords(mock.records());
    assert.ok(records.length >= 2);
    for (const record of records) {
      const body = record.body as Body;
      assert.equal(record.path, "/v1/chat/completions");
      assert.equal(record.headers.authorization, "Bearer sk-test-secret");
      assert.equal(record.headers["x-team"], "bench");
      assert.equal(body.model, "mock-model");
      assert.deepEqual(body.messages, [{ role: "user", content: "Say hello" }]);
      assert.equal(body.max_tokens, 7);
      assert.equal(body.temperature, 0.2);
      assert.equal(body.stream, false);
      assert.equal(body.logprobs, true);
      assert.equal(body.top_logprobs, 3);
    }
    assert.ok(!run.out.includes("sk-test-secret") && !run.log.join("").includes("sk-test-secret"));
    assert.match(run.out, /Stream\s+: False/);
    assert.match(run.out, /Time To First Token\s+: \n/);
  });
});

Deno.test("completions with -p builds a prompt and streams; the model comes from /v1/models", async () => {
  await withMock({ ttftMs: 5, itlMs: 1, models: ["served-model"] }, async (mock) => {
    const run = await runAgainst(mock, ["-u", "1", "-t", "1s", "-p", "64", "-o", "5"]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    assert.ok(
      run.log.some((line) => /model served-model \(first of 1 from \/v1\/models\)/.test(line)),
    );
    const records = completionRecords(mock.records());
    const body = records[0].body as Body;
    assert.equal(records[0].path, "/v1/completions");
    assert.equal(body.model, "served-model");
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(typeof body.prompt, "string");
    assert.match(run.out, /Model\s+: served-model/);
    assert.match(run.out, /Num Tokens\s+: 5\.0/);
  });
});

Deno.test("max-tokens distribution and jitter vary the max_tokens the server sees", async () => {
  await withMock({ ttftMs: 0, itlMs: 0 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-u",
      "4",
      "-r",
      "100",
      "-t",
      "1s",
      "-o",
      "20",
      "--max-tokens-distribution",
      "uniform",
      "--max-tokens-range",
      "0.5",
      "--max-tokens-jitter",
      "2",
      "--seed",
      "7",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0);
    const asked = completionRecords(mock.records()).map((record) => record.maxTokens);
    assert.ok(asked.length > 50, `only ${asked.length} requests`);
    assert.ok(Math.min(...asked) >= 8 && Math.max(...asked) <= 32, `range ${asked}`);
    assert.ok(new Set(asked).size > 10, "max_tokens barely varied");
    const mean = asked.reduce((sum, value) => sum + value, 0) / asked.length;
    assert.ok(Math.abs(mean - 20) < 2, `mean ${mean}`);
  });
});

Deno.test("fixed QPS: 50 requests/s held within 5% over 5 s, send lag recorded", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--qps",
      "50",
      "-u",
      "100",
      "-r",
      "100",
      "-t",
      "5s",
      "-o",
      "4",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const arrivals = completionRecords(mock.records()).map((record) => record.receivedAt);
    const first = Math.min(...arrivals);
    const inWindow = arrivals.filter((at) => at < first + 5000).length;
    assert.ok(Math.abs(inWindow - 250) <= 12, `${inWindow} requests in 5 s, expected 250 ± 5%`);
    assert.match(run.out, /send_lag/);
    assert.match(run.out, /ttft_intended/);
    assert.match(run.out, /Concurrency\s+: QPS 50\.0 constant/);
  });
});

Deno.test("fixed QPS with too few users warns with the number needed", async () => {
  await withMock({ ttftMs: 200, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["--qps", "20", "-u", "1", "-t", "1500ms", "-o", "2"]);
    const warning = run.log.find((line) => line.includes("caps requests in flight"));
    assert.ok(warning, run.log.join("\n"));
    assert.match(warning, /about \d+ users would be needed/);
  });
});

Deno.test("burst: all users fire together once per period", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-u",
      "6",
      "-r",
      "100",
      "--burst",
      "0.5",
      "-t",
      "1600ms",
      "-o",
      "2",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const arrivals = completionRecords(mock.records()).map((record) => record.receivedAt)
      .sort((a, b) => a - b);
    const bursts: number[][] = [];
    for (const at of arrivals) {
      const last = bursts.at(-1);
      if (last && at - last[0] < 100) last.push(at);
      else bursts.push([at]);
    }
    assert.ok(bursts.length >= 3, `${bursts.length} bursts`);
    for (const burst of bursts) {
      assert.equal(burst.length, 6, `a burst had ${burst.length} requests`);
      assert.ok(burst.at(-1)! - burst[0] < 20, "a burst was spread over 20 ms or more");
    }
    for (let i = 1; i < bursts.length; i++) {
      const gap = bursts[i][0] - bursts[i - 1][0];
      assert.ok(Math.abs(gap - 500) < 50, `bursts ${gap} ms apart`);
    }
  });
});

Deno.test("ramp-up: users start at the spawn rate", async () => {
  // Each response takes longer than the run, so every user sends exactly once.
  await withMock({ ttftMs: 800, itlMs: 1 }, async (mock) => {
    await runAgainst(mock, ["-u", "3", "-r", "4", "-t", "700ms", "-o", "2", "--warmup", "0"]);
    const arrivals = completionRecords(mock.records()).map((record) => record.receivedAt);
    assert.equal(arrivals.length, 3);
    // User 0's first request also pays for the first connection, so it can arrive late:
    // the spacing after it is the spawn rate's, and user 1 never comes along with user 0.
    assert.ok(Math.abs(arrivals[2] - arrivals[1] - 250) < 40, `users 1 and 2: ${arrivals}`);
    assert.ok(arrivals[1] - arrivals[0] > 150, `users 0 and 1: ${arrivals}`);
  });
});

Deno.test("summary CSV and results JSON are written and agree with the run", async () => {
  await withTempDir(async (dir) => {
    await withMock({ ttftMs: 2, itlMs: 1 }, async (mock) => {
      const csv = `${dir}/summary.csv`;
      const json = `${dir}/results.json`;
      for (let i = 0; i < 2; i++) {
        const run = await runAgainst(mock, [
          "-u",
          "2",
          "-t",
          "700ms",
          "-o",
          "3",
          "-k",
          "sk-never-written",
          "--summary-file",
          csv,
          "--json",
          json,
        ]);
        assert.equal(run.exitCode, 0);
      }
      const lines = (await Deno.readTextFile(csv)).trim().split("\n");
      assert.equal(lines.length, 3, "one header and two rows");
      assert.ok(lines[0].startsWith("Provider,Model,Prompt Tokens,Generation Tokens,Stream"));
      const text = await Deno.readTextFile(json);
      assert.ok(!text.includes("sk-never-written"));
      const results = JSON.parse(text);
      assert.equal(results.schemaVersion, 1);
      assert.equal(results.requests.failed, 0);
      assert.ok(results.requests.ok > 0);
      assert.equal(results.metrics.num_tokens.mean, 3);
      assert.equal(typeof results.histograms.ttft, "string");
    });
  });
});

Deno.test("the http1, node:http and fetch transports measure the same run alike", async () => {
  // Behaviour, not speed: both count exactly what the mock served, the same tokens, and never
  // a TTFT below the mock's own delay.
  await withMock({ ttftMs: 20, itlMs: 5 }, async (mock) => {
    for (const transport of ["http1", "node", "fetch"]) {
      mock.clearRecords();
      const run = await runAgainst(mock, [
        "--transport",
        transport,
        "-u",
        "2",
        "-t",
        "1s",
        "-o",
        "8",
        "--warmup",
        "0",
      ]);
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      const served = completionRecords(mock.records()).filter((record) => record.doneAt).length;
      assert.equal(run.results.requests.ok, served, transport);
      assert.equal(run.results.metrics.num_tokens?.mean, 8);
      const ttftMin = run.results.metrics.ttft?.min ?? 0;
      assert.ok(ttftMin >= 20, `${transport}: TTFT min ${ttftMin} ms below the mock's 20 ms`);
    }
  });
});

Deno.test("a graceful stop mid-run still reports everything measured", async () => {
  await withMock({ ttftMs: 5, itlMs: 5 }, async (mock) => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 800);
    const run = await runAgainst(mock, ["-u", "3", "-o", "10", "--warmup", "0"], {
      stopSignal: stop.signal,
    });
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    assert.match(run.out, /={35} Summary ={36}/);
    const served = completionRecords(mock.records()).filter((record) => record.doneAt).length;
    assert.equal(run.results.requests.ok, served, "every request the mock completed is reported");
  });
});

Deno.test("--preflight probes the server first and a run that ignores length controls says so", async () => {
  await withMock(
    { ttftMs: 1, itlMs: 1, stopEarly: true, ignoreLengthControls: true },
    async (mock) => {
      const run = await runAgainst(mock, ["--preflight", "-u", "1", "-t", "500ms", "-o", "16"]);
      assert.ok(
        run.log.some((line) => /ignore_eos\/min_tokens\s+no/.test(line)),
        run.log.join("\n"),
      );
      assert.ok(
        run.log.some((line) =>
          /Warning: The server does not generate max_tokens when asked/.test(line)
        ),
        run.log.join("\n"),
      );
    },
  );
});

/** A server whose replies carry `texts` as separate chunks and report `tokens` in `usage`. */
async function withChunkServer<T>(
  texts: readonly string[],
  tokens: number,
  body: (url: string) => Promise<T>,
): Promise<T> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/v1/models") {
      return Response.json({
        object: "list",
        data: [{ id: "m", object: "model", owned_by: "vllm" }],
      });
    }
    await request.arrayBuffer();
    const event = (choice: string, usage?: object) =>
      `data: ${
        JSON.stringify({
          id: "c",
          object: "text_completion",
          model: "m",
          choices: usage ? [] : [{ index: 0, text: choice, finish_reason: null }],
          ...(usage ? { usage } : {}),
        })
      }\n\n`;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const encoder = new TextEncoder();
        for (const text of texts) {
          controller.enqueue(encoder.encode(event(text)));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        controller.enqueue(
          encoder.encode(event("", { prompt_tokens: 16, completion_tokens: tokens })),
        );
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  });
  try {
    return await body(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("tpot needs decode time: none for one token, nor for two with one text-less", async () => {
  const cases: Array<[string[], number, boolean]> = [
    [[" the"], 1, false], // one token: no decode at all
    [[" the", ""], 2, false], // one text token and a text-less EOS token: nothing decoded between
    [[" the", " cat"], 2, true], // two text chunks 20 ms apart: tpot ≈ 20 ms/token
  ];
  for (const [texts, tokens, hasTpot] of cases) {
    await withChunkServer(texts, tokens, async (url) => {
      const config = runConfig(["-H", url, "-u", "1", "-o", String(tokens), "--max-requests", "3"]);
      const outcome = await runLoadTest(config, { log: () => {} });
      const label = `${JSON.stringify(texts)} with ${tokens} tokens`;
      assert.equal(outcome.aggregate.counts().ok, 3, label);
      const tpot = outcome.aggregate.metric("tpot");
      assert.equal(tpot !== undefined, hasTpot, `${label}: tpot ${JSON.stringify(tpot)}`);
      if (tpot) assert.ok(tpot.p50 >= 15, `${label}: tpot p50 ${tpot.p50} ms`);
      assert.ok(outcome.aggregate.metric("latency_per_token") !== undefined, label);
    });
  }
});
