import assert from "node:assert/strict";
import { createVllmProvider } from "../providers/vllm.ts";
import { createSglangProvider } from "../providers/sglang.ts";
import { parseRecordedStream, runDialect, tokenSources, totals } from "./_dialect_harness.ts";

const settings = { model: "m", temperature: 0.5, chat: false, stream: true };

Deno.test("vllm request body: ignore_eos, usage in the stream, n only above 1", () => {
  const spec = createVllmProvider(settings).request({ prompt: "Hi", maxTokens: 16 });
  assert.equal(spec.path, "/v1/completions");
  assert.equal(
    spec.body,
    '{"model":"m","prompt":"Hi","max_tokens":16,"temperature":0.5,"stream":true,' +
      '"stream_options":{"include_usage":true},"ignore_eos":true}',
  );
  const chat = createVllmProvider({ ...settings, chat: true, stream: false, n: 2, logprobs: 1 });
  assert.deepEqual(JSON.parse(chat.request({ prompt: "Hi", maxTokens: 4 }).body), {
    model: "m",
    messages: [{ role: "user", content: "Hi" }],
    max_tokens: 4,
    temperature: 0.5,
    stream: false,
    n: 2,
    logprobs: true,
    top_logprobs: 1,
    ignore_eos: true,
  });
});

Deno.test("vllm reasoning deltas (reasoning_content and reasoning) count as generated", () => {
  const provider = createVllmProvider({ ...settings, chat: true });
  const chunks = parseRecordedStream(provider, "vllm/chat_reasoning_stream.txt");
  assert.equal(chunks.at(-1), null, "[DONE] ends the stream");
  assert.deepEqual(chunks.map((chunk) => chunk?.reasoning ?? null).slice(0, 4), [
    "",
    "The user",
    " asks.",
    " Answer",
  ]);
  const sum = totals(chunks);
  assert.equal(sum.text, "Blue.");
  assert.equal(sum.reasoning, "The user asks. Answer");
  assert.deepEqual(sum.usage, { promptTokens: 14, completionTokens: 6 });
});

Deno.test("sglang: same body as vllm under its own name; the empty first chunk carries nothing", () => {
  const provider = createSglangProvider(settings);
  assert.equal(provider.name, "sglang");
  assert.equal(
    provider.request({ prompt: "Hi", maxTokens: 3 }).body,
    createVllmProvider(settings).request({ prompt: "Hi", maxTokens: 3 }).body,
  );
  const chunks = parseRecordedStream(provider, "sglang/completion_stream.txt");
  assert.deepEqual(chunks[0], {
    text: "",
    reasoning: "",
    logprobTokens: undefined,
    usage: undefined,
  });
  const sum = totals(chunks);
  assert.equal(sum.text, " the of");
  assert.deepEqual(sum.usage, { promptTokens: 5, completionTokens: 2 });
});

Deno.test("vllm end to end: ignore_eos reaches the mock, usage counts every token", async () => {
  const { run, records } = await runDialect({ dialect: "vllm" }, ["--provider", "vllm"]);
  assert.equal(records.length, 3);
  for (const record of records) {
    assert.equal(record.path, "/v1/completions");
    assert.equal((record.body as { ignore_eos?: boolean }).ignore_eos, true);
  }
  assert.deepEqual(tokenSources(run), { usage: 3 });
  assert.match(run.out, /Provider\s+: vllm/);
  assert.doesNotMatch(run.out, /mismatch/i);
});

Deno.test("sglang end to end: the empty first chunk does not start TTFT early", async () => {
  const { run, records } = await runDialect({ dialect: "sglang", ttftMs: 40 }, [
    "--provider",
    "sglang",
  ]);
  assert.equal(records[0].path, "/v1/completions");
  assert.deepEqual(tokenSources(run), { usage: 3 });
  const ttft = Number(run.out.match(/^ttft\s+ms\s+\d+\s+([\d.]+)/m)?.[1]);
  assert.ok(ttft >= 40, `ttft ${ttft} ms counts from the first real token`);
});
