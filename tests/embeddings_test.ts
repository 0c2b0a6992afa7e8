import assert from "node:assert/strict";
import { parseCommandLine } from "../cli/command_line.ts";
import { UsageError } from "../common/errors.ts";
import { probeTarget } from "../run/probe.ts";
import type { MockRecord } from "../mock/server.ts";
import type { RunConfig } from "../options/types.ts";
import { formatMetricTable } from "../output/report.ts";
import { summaryRow } from "../output/summary_csv.ts";
import { formatPrometheus, RunMetrics } from "../output/prometheus.ts";
import { createProvider } from "../providers/mod.ts";
import type { RequestRecord } from "../request/types.ts";
import { runAgainst, withMock } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { aggregateOf, liveView, requestRecord } from "./_server_harness.ts";

const FAST = { ttftMs: 5, itlMs: 1, seed: 1 } as const;
const PROVIDER_BASE = { model: "m", chat: false, stream: true, temperature: 1 };
const PROMPTS = "tests/testdata/workloads/prompts.jsonl";
/** The rows of {@link PROMPTS} that are kept (the blank one is dropped), in order. */
const PROMPT_ROWS = [
  "What is the capital of France?",
  "Write a haiku about the sea.",
  "Explain TCP slow start in two sentences.",
];

function answered(records: readonly MockRecord[], path: string): MockRecord[] {
  return records.filter((record) => record.path === path && record.status === 200);
}

function sum(values: readonly (number | undefined)[]): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

Deno.test("--mode embeddings sends batches of -p inputs and counts what the mock recorded", async () => {
  await withMock(FAST, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--mode", "embeddings", "--embeddings-batch-size", "4", "--embeddings-dimensions", "8"],
      ...["-p", "32", "-u", "2", "-r", "100", "--max-requests", "6", "--warmup", "0", "-t", "30s"],
    ]);
    assert.equal(run.exitCode, 0, run.out);
    const records = answered(mock.records(), "/v1/embeddings");
    assert.equal(records.length, 6);
    for (const record of records) {
      const body = record.body as { input: string[]; dimensions: number; encoding_format: string };
      assert.equal(record.inputs, 4);
      assert.equal(body.input.length, 4);
      assert.equal(body.dimensions, 8);
      assert.equal(body.encoding_format, "float");
      assert.equal(record.promptTokens, 4 * 32, "four prompts of -p tokens each");
    }
    const { results } = run;
    assert.equal(results.requests.ok, 6);
    assert.equal(results.tokens.inputs, 24);
    assert.equal(results.tokens.prompt, sum(records.map((record) => record.promptTokens)));
    assert.equal(results.tokens.promptMismatches.count, 0, "server and local counts agree");
    assert.deepEqual(results.tokens.sources, { usage: 0, logprobs: 0, tokenizer: 0 });
    assert.equal(results.tokens.mismatches.count, 0, "nothing is generated, nothing mismatches");
    assert.equal(results.tokens.empty, 0);
    const seconds = results.durationMs / 1000;
    assert.equal(results.throughput.inputsPerSec, 24 / seconds);
    assert.equal(results.throughput.promptTokensPerSec, results.tokens.prompt / seconds);
    assert.equal(results.throughput.documentsPerSec, undefined);
    assert.deepEqual(Object.keys(results.metrics).sort(), ["prompt_tokens", "total_latency"]);
    assert.ok(results.metrics.total_latency!.min >= FAST.ttftMs, "the mock's delay is measured");
    assert.match(run.out, /Throughput: [\d.]+ requests\/s, [\d.]+ inputs\/s, [\d.]+ prompt tokens/);
    assert.doesNotMatch(run.out, /Output tokens counted from|^ttft|^itl/m);
    assert.match(run.out, /^Stream {19}: False$/m, "never streamed, whatever --stream says");
    const row = summaryRow(results, {
      generationTokens: "0",
      users: 2,
      qpsDistribution: "constant",
      stream: false,
      temperature: 1,
      promptTokens: 32,
    });
    assert.equal(Number(row["Inputs Per Sec"]), results.throughput.inputsPerSec);
    assert.equal(Number(row["Prompt Tokens Per Sec"]), results.throughput.promptTokensPerSec);
    assert.equal(row["Documents Per Sec"], undefined);
  });
});

Deno.test("--mode rerank sends dataset rows as documents, top_n and the query", async () => {
  await withMock(FAST, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--mode", "rerank", "--num-documents", "3", "--rerank-top-n", "2"],
      ...["--rerank-query", "Which is about networks?", "--dataset", PROMPTS],
      ...["-u", "1", "--max-requests", "4", "--warmup", "0", "-t", "30s"],
    ]);
    assert.equal(run.exitCode, 0, run.out);
    const records = answered(mock.records(), "/v1/rerank");
    assert.equal(records.length, 4);
    for (const record of records) {
      const body = record.body as { query: string; documents: string[]; top_n: number };
      assert.equal(record.documents, 3);
      assert.deepEqual(body.documents, PROMPT_ROWS, "one user cycles through the rows in order");
      assert.equal(body.query, "Which is about networks?");
      assert.equal(body.top_n, 2);
    }
    const { results } = run;
    assert.equal(results.requests.ok, 4);
    assert.equal(results.tokens.inputs, 12);
    assert.equal(results.tokens.prompt, sum(records.map((record) => record.promptTokens)));
    assert.equal(results.throughput.documentsPerSec, 12 / (results.durationMs / 1000));
    assert.equal(results.throughput.inputsPerSec, undefined);
    assert.match(formatMetricTable(results), /[\d.]+ documents\/s, [\d.]+ prompt tokens\/s/);
  });
});

Deno.test("--tokens-per-document sets the length of each generated rerank document", async () => {
  await withMock(FAST, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--mode", "rerank", "--num-documents", "5", "--tokens-per-document", "20"],
      ...["-u", "1", "--max-requests", "2", "--warmup", "0", "-t", "30s"],
    ]);
    assert.equal(run.exitCode, 0, run.out);
    const [record] = answered(mock.records(), "/v1/rerank");
    const query = run.config.rerankQuery;
    const queryTokens = (record.promptTokens! - 5 * 20) / 5;
    assert.ok(Number.isInteger(queryTokens) && queryTokens > 0, `query of ${query}`);
    assert.equal(run.results.tokens.inputs, 10);
  });
});

Deno.test("failing embeddings requests are counted by kind, never as successes", async () => {
  const faults = [{ kind: "http_500", rate: 0.5 }, { kind: "malformed_json", rate: 0.25 }] as const;
  await withMock({ ...FAST, faults }, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--mode", "embeddings", "--embeddings-batch-size", "2", "-p", "16"],
      ...["-u", "2", "-r", "100", "--max-requests", "40", "--warmup", "0", "-t", "30s"],
    ]);
    const records = mock.records().filter((record) => record.path === "/v1/embeddings");
    const faulted = (kind: string) => records.filter((record) => record.fault === kind).length;
    const { results } = run;
    assert.equal(records.length, 40);
    assert.equal(results.failures.http_5xx?.count, faulted("http_500"));
    assert.equal(results.failures.bad_response?.count, faulted("malformed_json"));
    assert.equal(results.requests.ok, 40 - faulted("http_500") - faulted("malformed_json"));
    assert.equal(results.tokens.inputs, 2 * results.requests.ok);
  });
});

function parseRun(args: string[]): RunConfig {
  const parsed = parseCommandLine(args, { env: {}, version: "test" });
  if (parsed.kind !== "run") throw new Error(`Expected a run, got ${parsed.kind}`);
  return parsed.config;
}

function usageError(args: string[]): string {
  try {
    parseRun(args);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`${args.join(" ")} was accepted`);
}

Deno.test("bad --mode input gets one line naming what would be right", () => {
  assert.equal(
    usageError(["--mode", "rank"]),
    "Invalid --mode 'rank': expected generate, embeddings or rerank",
  );
  assert.equal(
    usageError(["--mode", "embeddings", "--embeddings-batch-size", "0"]),
    "Invalid --embeddings-batch-size '0': expected a whole number of at least 1",
  );
  assert.equal(
    usageError(["--mode", "rerank", "--tokens-per-document", "8", "-p", "16"]),
    "Cannot use --tokens-per-document together with --prompt-tokens: both set the length of " +
      "each rerank document, choose one",
  );
  assert.match(
    usageError(["--mode", "embeddings", "--chat", "--turns", "2"]),
    /^Cannot use --turns with --mode embeddings: it sends single requests/,
  );
});

Deno.test("options of another mode are ignored with a warning", () => {
  const parsed = parseCommandLine(
    ["--num-documents", "4", "--mode", "embeddings", "-o", "9", "--chat"],
    { env: {}, version: "test" },
  );
  assert.equal(parsed.kind, "run");
  assert.deepEqual(parsed.kind === "run" && parsed.warnings, [
    "--num-documents is ignored without --mode rerank",
    "--chat is ignored with --mode embeddings: it generates no text",
    "--max-tokens is ignored with --mode embeddings: it generates no text",
  ]);
});

Deno.test("--mode rerank with a provider that has no /v1/rerank exits 2 naming those that do", async () => {
  await withMock(FAST, async (mock) => {
    const run = await runAgainst(mock, ["--mode", "rerank", "--provider", "openai", "-t", "1s"])
      .catch((error) => error);
    assert.ok(run instanceof UsageError, String(run));
    assert.equal(
      run.message,
      "The openai dialect has no /v1/rerank route; --mode rerank needs --provider vllm, sglang, " +
        "together or llamacpp",
    );
    assert.equal(mock.records().filter((record) => record.path === "/v1/rerank").length, 0);
  });
});

Deno.test("probe reports the /v1/embeddings and /v1/rerank routes: yes, no, n/a", async () => {
  const probe = (host: string, args: string[] = []) =>
    probeTarget(parseProbe(["-H", host, ...args]));
  await withMock(FAST, async (mock) => {
    const report = await probe(mock.url);
    const rows = Object.fromEntries(report.rows.map((row) => [row.feature, row]));
    assert.equal(rows["/v1/embeddings"].verdict, "yes");
    assert.match(rows["/v1/embeddings"].detail, /^2 inputs embedded, \d+ prompt tokens, in /);
    assert.equal(rows["/v1/rerank"].verdict, "yes");
    assert.match(rows["/v1/rerank"].detail, /^2 documents ranked, \d+ prompt tokens, in /);
    const seen = mock.records();
    assert.equal(seen.filter((record) => record.path === "/v1/embeddings").length, 1);
    assert.equal(seen.find((record) => record.path === "/v1/rerank")?.documents, 2);

    const openai = await probe(mock.url, ["--provider", "openai"]);
    const rerank = openai.rows.find((row) => row.feature === "/v1/rerank")!;
    assert.deepEqual(rerank, {
      feature: "/v1/rerank",
      verdict: "n/a",
      detail: "the openai dialect has no /v1/rerank route",
    });

    // A server with the generation routes only: its 404s say it has neither route.
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/v1/embeddings" || path === "/v1/rerank") {
        return new Response(JSON.stringify({ error: { message: "Not Found" } }), { status: 404 });
      }
      return fetch(`${mock.url}${path}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
    });
    try {
      const bare = await probe(`http://127.0.0.1:${server.addr.port}`, ["--provider", "vllm"]);
      for (const feature of ["/v1/embeddings", "/v1/rerank"]) {
        const row = bare.rows.find((candidate) => candidate.feature === feature)!;
        assert.equal(row.verdict, "no", feature);
        assert.match(row.detail, /^HTTP 404/, feature);
      }
      assert.equal(bare.answered, true, "generation still answers");
    } finally {
      await server.shutdown();
    }
  });
});

function parseProbe(args: string[]): RunConfig {
  const parsed = parseCommandLine(["probe", ...args], { env: {}, version: "test" });
  if (parsed.kind !== "probe") throw new Error(`Expected probe, got ${parsed.kind}`);
  return parsed.config;
}

Deno.test("/metrics counts the texts of embeddings requests in llmload_inputs_total", () => {
  const config = runConfig(["--mode", "embeddings", "--embeddings-batch-size", "4"]);
  const embedded: RequestRecord = {
    start: 1_000_000,
    totalLatency: 20,
    itl: [],
    outputTokens: 0,
    tokenSource: "usage",
    promptTokens: 64,
    chars: 0,
    maxTokens: 0,
    inputs: 4,
  };
  const metrics = new RunMetrics();
  metrics.observe(liveView(config, { interval: aggregateOf([embedded, embedded]) }));
  const text = formatPrometheus(metrics.families("running"));
  const labels = 'provider="vllm",model="mock-model"';
  assert.match(text, new RegExp(`\\nllmload_inputs_total\\{${labels}\\} 8\\n`));
  assert.match(text, new RegExp(`llmload_tokens_total\\{${labels},direction="input"\\} 128\\n`));
  assert.match(text, new RegExp(`llmload_total_latency_seconds_count\\{${labels}\\} 2\n`));
  assert.doesNotMatch(text, /llmload_ttft_seconds_count\{[^}]*\} [1-9]/, "no first token");

  const generation = new RunMetrics();
  generation.observe(liveView(runConfig(), { interval: aggregateOf([requestRecord(10)]) }));
  assert.doesNotMatch(formatPrometheus(generation.families("running")), /llmload_inputs_total/);
});

Deno.test("the context check holds each text, not the batch, to the server's limit", async () => {
  await withMock({ ...FAST, context: 100 }, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--mode", "embeddings", "--embeddings-batch-size", "4", "-p", "90"],
      ...["-u", "1", "--max-requests", "2", "--warmup", "0", "-t", "30s"],
    ]);
    assert.equal(run.exitCode, 0, run.out);
    assert.equal(answered(mock.records(), "/v1/embeddings").length, 2, "360 tokens, 90 a text");
    const refused = await runAgainst(mock, ["--mode", "embeddings", "-p", "120", "-t", "1s"])
      .catch((error) => error);
    assert.ok(refused instanceof UsageError, String(refused));
    assert.match(refused.message, /^Prompt 120 tokens exceed the server's context of 100 /);
    assert.match(refused.message, /: lower -p$/);
  });
});

Deno.test("a chat dataset's rows are embedded as their messages' text, without --chat", async () => {
  await withMock(FAST, async (mock) => {
    const run = await runAgainst(mock, [
      ...["--mode", "embeddings", "--embeddings-batch-size", "2"],
      ...["--dataset", "tests/testdata/workloads/chat.jsonl"],
      ...["-u", "1", "--max-requests", "1", "--warmup", "0", "-t", "30s"],
    ]);
    assert.equal(run.exitCode, 0, run.out);
    const [record] = answered(mock.records(), "/v1/embeddings");
    assert.deepEqual((record.body as { input: string[] }).input, [
      "You are terse.\n\nName a prime.",
      "Hi\n\nHello!\n\nTell me a joke.",
    ]);
    assert.equal(run.results.tokens.promptMismatches.count, 0);
  });
});

Deno.test("replies not of the mode's shape are refused with what was expected", () => {
  const embeddings = createProvider("vllm", { ...PROVIDER_BASE, dimensions: 3 }, "embeddings");
  const request = embeddings.request({ prompt: "a", inputs: ["a", "b"], maxTokens: 0 });
  assert.deepEqual(
    { path: request.path, stream: request.stream, body: JSON.parse(request.body) },
    {
      path: "/v1/embeddings",
      stream: false,
      body: { model: "m", input: ["a", "b"], encoding_format: "float", dimensions: 3 },
    },
  );
  assert.deepEqual(
    embeddings.parseBody(
      '{"data":[{"embedding":[0.5]},{"embedding":"AAA="}],"usage":{"prompt_tokens":4}}',
    ),
    { text: "", reasoning: "", usage: { promptTokens: 4, completionTokens: 0 } },
  );
  assert.throws(
    () => embeddings.parseBody('{"data":[]}'),
    /^Error: Expected embeddings in data\[\]/,
  );
  assert.throws(() => embeddings.parseBody('{"data":[{"index":0}]}'), /an embedding in each/);
  assert.throws(() => embeddings.parseBody('{"error":{"message":"no"}}'), /Server sent an error/);
  assert.throws(() => embeddings.parseEvent("{}"), /does not stream/);

  const rerank = createProvider("llamacpp", { ...PROVIDER_BASE, query: "q", topN: 1 }, "rerank");
  assert.deepEqual(
    JSON.parse(rerank.request({ prompt: "a", inputs: ["a", "b"], maxTokens: 0 }).body),
    { model: "m", query: "q", documents: ["a", "b"], top_n: 1 },
  );
  assert.deepEqual(
    rerank.parseBody('{"results":[{"index":1,"relevance_score":0.9}],"usage":{"total_tokens":7}}'),
    { text: "", reasoning: "", usage: { promptTokens: 7, completionTokens: 0 } },
  );
  assert.throws(() => rerank.parseBody("[]"), /Expected a JSON object/);
  assert.throws(() => rerank.parseBody('{"results":[{"index":0}]}'), /relevance_score in each/);
  assert.equal(rerank.name, "llamacpp");
});
