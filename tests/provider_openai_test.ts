import assert from "node:assert/strict";
import { createOpenAIProvider } from "../providers/openai.ts";
import type { Chunk } from "../providers/types.ts";
import { parseRecordedStream, runDialect } from "./_dialect_harness.ts";

const base = { model: "m", temperature: 0.5 };

function parseStream(file: string, chat: boolean): Array<Chunk | null> {
  const provider = createOpenAIProvider({ ...base, chat, stream: true });
  return parseRecordedStream(provider, `openai/${file}`);
}

Deno.test("openai chat request body asks for usage in the stream", () => {
  const provider = createOpenAIProvider({ ...base, chat: true, stream: true, logprobs: 2 });
  const spec = provider.request({ prompt: "Hi", maxTokens: 16 });
  assert.equal(spec.path, "/v1/chat/completions");
  assert.equal(spec.stream, true);
  assert.deepEqual(JSON.parse(spec.body), {
    model: "m",
    messages: [{ role: "user", content: "Hi" }],
    max_tokens: 16,
    temperature: 0.5,
    stream: true,
    stream_options: { include_usage: true },
    logprobs: true,
    top_logprobs: 2,
  });
});

Deno.test("openai completions request body without streaming has no stream_options", () => {
  const provider = createOpenAIProvider({ ...base, chat: false, stream: false, logprobs: 1 });
  const spec = provider.request({ prompt: "Hi", maxTokens: 7 });
  assert.equal(spec.path, "/v1/completions");
  assert.deepEqual(JSON.parse(spec.body), {
    model: "m",
    prompt: "Hi",
    max_tokens: 7,
    temperature: 0.5,
    stream: false,
    logprobs: 1,
  });
});

Deno.test("openai chat stream: role-only chunk carries no text, usage read from the last chunk", () => {
  const chunks = parseStream("chat_stream.txt", true);
  assert.equal(chunks.length, 6);
  assert.deepEqual(chunks[0], {
    text: "",
    reasoning: "",
    logprobTokens: undefined,
    usage: undefined,
  });
  assert.equal(chunks[1]?.text, "Hello");
  assert.equal(chunks[2]?.text, " world");
  assert.deepEqual(chunks[4]?.usage, { promptTokens: 9, completionTokens: 2 });
  assert.equal(chunks[5], null);
});

Deno.test("openai completion stream: logprob tokens counted per chunk", () => {
  const chunks = parseStream("completion_stream.txt", false);
  assert.deepEqual(chunks.map((chunk) => chunk?.logprobTokens), [1, 1, undefined]);
  assert.deepEqual(chunks.map((chunk) => chunk?.text), [" the", " of", undefined]);
});

Deno.test("openai reasoning deltas are read as reasoning, not text", () => {
  const provider = createOpenAIProvider({ ...base, chat: true, stream: true });
  const a = provider.parseEvent(
    JSON.stringify({ choices: [{ delta: { reasoning_content: "hm" } }] }),
  );
  const b = provider.parseEvent(JSON.stringify({ choices: [{ delta: { reasoning: "so" } }] }));
  assert.deepEqual([a?.text, a?.reasoning, b?.reasoning], ["", "hm", "so"]);
});

Deno.test("openai non-streamed body gives text and usage", () => {
  const provider = createOpenAIProvider({ ...base, chat: true, stream: false });
  const chunk = provider.parseBody(JSON.stringify({
    choices: [{ message: { role: "assistant", content: "Hi there" } }],
    usage: { prompt_tokens: 3, completion_tokens: 2 },
  }));
  assert.equal(chunk.text, "Hi there");
  assert.deepEqual(chunk.usage, { promptTokens: 3, completionTokens: 2 });
});

Deno.test("openai error events and non-objects are rejected", () => {
  const provider = createOpenAIProvider({ ...base, chat: true, stream: true });
  assert.throws(() => provider.parseEvent('{"error":{"message":"overloaded"}}'), /overloaded/);
  assert.throws(() => provider.parseEvent("42"), /JSON object/);
  assert.throws(() => provider.parseEvent("{not json"), SyntaxError);
});

Deno.test("openai -n above 1 is sent, and every choice of a body is counted", async () => {
  const provider = createOpenAIProvider({ ...base, chat: false, stream: false, n: 2 });
  assert.equal(JSON.parse(provider.request({ prompt: "Hi", maxTokens: 3 }).body).n, 2);
  const chunk = provider.parseBody(JSON.stringify({
    choices: [{ index: 0, text: " a" }, { index: 1, text: " b" }],
    usage: { prompt_tokens: 1, completion_tokens: 6 },
  }));
  assert.equal(chunk.text, " a b");
  const { records } = await runDialect({}, ["-n", "2", "--provider", "openai"]);
  assert.equal((records[0].body as { n?: number }).n, 2);
});

Deno.test("openai plain token events take the fast path and read the same", () => {
  const provider = createOpenAIProvider({ ...base, chat: true, stream: true });
  const event = '{"id":"x","choices":[{"index":0,"delta":{"content":" hi"},"finish_reason":null}]}';
  assert.deepEqual(provider.parseEvent(event), {
    text: " hi",
    reasoning: "",
    logprobTokens: undefined,
    usage: undefined,
  });
});
