import assert from "node:assert/strict";
import { parseCommandLine } from "../cli/command_line.ts";
import { formatProbeTable, PROBE_TOKENS, probeTarget, probeWarnings } from "../run/probe.ts";
import { runProbeCommand } from "../cli/probe.ts";
import type { ProbeReport } from "../run/probe.ts";
import type { MockOptions } from "../mock/server.ts";
import type { RunConfig } from "../options/types.ts";
import { withMock } from "./_harness.ts";

function probeConfig(host: string, args: string[] = []): RunConfig {
  const parsed = parseCommandLine(["probe", "-H", host, ...args], { env: {}, version: "test" });
  if (parsed.kind !== "probe") throw new Error(`Expected probe, got ${parsed.kind}`);
  return parsed.config;
}

function verdicts(report: ProbeReport): Record<string, string> {
  return Object.fromEntries(report.rows.map((row) => [row.feature, row.verdict]));
}

async function probe(options: MockOptions, args: string[] = []) {
  return await withMock({ ttftMs: 1, itlMs: 1, seed: 1, ...options }, async (mock) => {
    const report = await probeTarget(probeConfig(mock.url, args));
    return { report, records: mock.records().filter((record) => record.path !== "/v1/models") };
  });
}

Deno.test("a server that honours ignore_eos: every mode yes, one request each", async () => {
  const { report, records } = await probe({ stopEarly: true });
  assert.equal(report.target.provider, "vllm");
  assert.deepEqual(verdicts(report), {
    "streaming": "yes",
    "usage in streams": "yes",
    "ignore_eos/min_tokens": "yes",
    "logprobs": "yes",
    "chat": "yes",
    "images": "yes",
    "responses API": "yes",
    "non-streamed": "yes",
    "/v1/embeddings": "yes",
    "/v1/rerank": "yes",
  });
  assert.equal(report.answered, true);
  const generation = records.filter((record) =>
    !["/v1/embeddings", "/v1/rerank"].includes(record.path)
  );
  assert.equal(generation.length, 6, "streamed, whole, logprobs, chat, images, responses requests");
  assert.equal(records.length, 8, "and one embeddings and one rerank request");
  assert.ok(generation.every((record) => record.maxTokens === PROBE_TOKENS));
  assert.deepEqual(probeWarnings(report), []);
  const length = report.rows.find((row) => row.feature === "ignore_eos/min_tokens")!;
  assert.equal(
    length.detail,
    `${PROBE_TOKENS} of ${PROBE_TOKENS} tokens asked (sent ignore_eos; counted from usage)`,
  );
});

Deno.test("a server that ignores ignore_eos is caught, and the run is warned", async () => {
  const { report } = await probe({ stopEarly: true, ignoreLengthControls: true });
  const length = report.rows.find((row) => row.feature === "ignore_eos/min_tokens")!;
  assert.equal(length.verdict, "no");
  assert.match(
    length.detail,
    new RegExp(`^\\d+ of ${PROBE_TOKENS} tokens asked \\(sent ignore_eos`),
  );
  const [warning] = probeWarnings(report);
  assert.match(warning, /^The server does not generate max_tokens when asked/);
  assert.match(formatProbeTable(report), /ignore_eos\/min_tokens\s+no\s+\d+ of 32 tokens asked/);
});

Deno.test("a dialect without a length field says so when the model stops early", async () => {
  const { report } = await probe({ stopEarly: true, dialect: "openai" }, ["--provider", "openai"]);
  const length = report.rows.find((row) => row.feature === "ignore_eos/min_tokens")!;
  assert.equal(length.verdict, "no");
  assert.match(length.detail, /the openai dialect sends neither ignore_eos nor min_tokens/);
  // /v1/models names an openai server, which has no length field: the generic advice.
  assert.match(
    length.detail,
    /a --provider that sends one, if the server accepts it \(min_tokens: fireworks; ignore_eos: vllm, sglang, together, llamacpp\)$/,
  );
  const [warning] = probeWarnings(report);
  assert.match(warning, /^The server does not generate max_tokens \(/, "nothing was asked");
});

Deno.test("the length advice names the dialect that sends a field to this server", async () => {
  // A llama.cpp server probed as plain openai: /v1/models says owned_by llamacpp.
  const { report } = await probe(
    { stopEarly: true, dialect: "llamacpp", models: ["tiny.gguf"] },
    ["--provider", "openai"],
  );
  const length = report.rows.find((row) => row.feature === "ignore_eos/min_tokens")!;
  assert.equal(length.verdict, "no");
  assert.match(
    length.detail,
    /; \/v1\/models names a llamacpp server: --provider llamacpp sends ignore_eos$/,
  );
  assert.match(probeWarnings(report)[0], /--provider llamacpp sends ignore_eos/);
});

Deno.test("modes a dialect lacks are n/a; counts fall back to the tokenizer", async () => {
  const { report, records } = await probe(
    { models: ["ensemble"] },
    ["--provider", "triton-infer"],
  );
  assert.deepEqual(verdicts(report), {
    "streaming": "n/a",
    "usage in streams": "n/a",
    "ignore_eos/min_tokens": "yes",
    "logprobs": "n/a",
    "chat": "n/a",
    "images": "n/a",
    "responses API": "n/a",
    "non-streamed": "yes",
    "/v1/embeddings": "n/a",
    "/v1/rerank": "n/a",
  });
  assert.equal(records.length, 1);
  // Full length without a field to ask for it: said without contradicting the "yes".
  assert.equal(
    report.rows[2].detail,
    "32 of 32 tokens asked, though the triton-infer dialect sends neither ignore_eos nor " +
      "min_tokens: the model ran to the end on its own (counted from tokenizer)",
  );
  assert.equal(report.answered, true);
});

Deno.test("usage missing from a stream is reported with the source used instead", async () => {
  const { report } = await probe({}, ["--provider", "tgi"]);
  assert.equal(verdicts(report)["usage in streams"], "yes", "TGI's details count");
  const { report: triton } = await probe(
    { models: ["ensemble"] },
    ["--provider", "triton-generate"],
  );
  const usage = triton.rows.find((row) => row.feature === "usage in streams")!;
  assert.equal(usage.verdict, "no");
  assert.equal(usage.detail, "no token count in the stream; counted from tokenizer");
  assert.deepEqual(probeWarnings(triton), [`Streams carry no usage (${usage.detail})`]);
});

Deno.test("llmload probe prints the table and exits 1 when nothing answers", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const out: string[] = [];
    const log: string[] = [];
    const code = await runProbeCommand(probeConfig(mock.url), {
      out: (text) => out.push(text),
      log: (line) => log.push(line),
    });
    assert.equal(code, 0);
    assert.match(log[0], /^Provider vllm \(\/v1\/models says mock-model is owned_by 'vllm'\)/);
    assert.match(
      out.join("\n"),
      /^Probe of vllm .*model mock-model: what the server honours\n {2}streaming /,
    );
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("overloaded", { status: 503 }),
  );
  try {
    const report = await probeTarget(
      probeConfig(`http://127.0.0.1:${server.addr.port}`, ["--provider", "vllm", "-m", "m"]),
    );
    assert.equal(report.answered, false);
    assert.ok(report.rows.every((row) => row.verdict === "failed"));
    assert.match(report.rows[0].detail, /^HTTP 503: overloaded/);
    const code = await runProbeCommand(
      probeConfig(`http://127.0.0.1:${server.addr.port}`, ["--provider", "vllm", "-m", "m"]),
      { out: () => {}, log: () => {} },
    );
    assert.equal(code, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a probe whose requests get HTTP 401 says they failed and why, and warns of nothing else", async () => {
  const { report } = await probe({ faults: [{ kind: "http_401", rate: 1 }] }, ["-k", "sk-secret"]);
  assert.equal(report.answered, false);
  for (const row of report.rows) {
    assert.equal(row.verdict, "failed", row.feature);
    assert.match(row.detail, /HTTP 401/, row.feature);
    assert.doesNotMatch(row.detail, /sk-secret/, row.feature);
  }
  assert.deepEqual(probeWarnings(report), [], "no 'requests stop early', no missing usage");
  assert.match(formatProbeTable(report), /\n {2}streaming {14}failed {2}HTTP 401: /);
});

Deno.test("an empty chat reply makes the chat row inconclusive, not no", async () => {
  // Completions answer normally; chat answers 200 with a stream that carries no text, as a model
  // that stops at once does.
  const emptyChat = "data: " + JSON.stringify({ choices: [{ delta: { role: "assistant" } }] }) +
    "\n\ndata: " + JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }] }) +
    "\n\ndata: [DONE]\n\n";
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/v1/chat/completions") {
        return new Response(emptyChat, { headers: { "content-type": "text/event-stream" } });
      }
      return fetch(`${mock.url}${path}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
    });
    try {
      const report = await probeTarget(
        probeConfig(`http://127.0.0.1:${server.addr.port}`, ["--provider", "vllm"]),
      );
      const chat = report.rows.find((row) => row.feature === "chat")!;
      assert.deepEqual(chat, {
        feature: "chat",
        verdict: "inconclusive",
        detail: "empty reply (HTTP 200)",
      });
      assert.equal(verdicts(report)["streaming"], "yes");
      assert.match(formatProbeTable(report), /\n {2}chat {19}inconclusive {2}empty reply/);
    } finally {
      await server.shutdown();
    }
  });
  const { report } = await probe({ faults: [{ kind: "empty_200", rate: 1 }] });
  assert.ok(report.rows.every((row) => row.verdict === "inconclusive"), "an empty body too");
  assert.deepEqual(probeWarnings(report), []);
});
