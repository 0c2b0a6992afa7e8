import assert from "node:assert/strict";
import { createAnyscaleProvider } from "../providers/anyscale.ts";
import { createOpenAIProvider } from "../providers/openai.ts";
import { parseRecordedStream, runDialect, tokenSources, totals } from "./_dialect_harness.ts";

const settings = {
  model: "meta-llama/Llama-2-7b-chat-hf",
  temperature: 1,
  chat: true,
  stream: true,
};

Deno.test("anyscale request body is the plain OpenAI body", () => {
  const provider = createAnyscaleProvider(settings);
  assert.equal(provider.name, "anyscale");
  const spec = provider.request({ prompt: "Hi", maxTokens: 3 });
  assert.equal(spec.path, "/v1/chat/completions");
  assert.equal(
    spec.body,
    createOpenAIProvider(settings).request({ prompt: "Hi", maxTokens: 3 }).body,
  );
  assert.equal(
    spec.body,
    '{"model":"meta-llama/Llama-2-7b-chat-hf","messages":[{"role":"user","content":"Hi"}],' +
      '"max_tokens":3,"temperature":1,"stream":true,"stream_options":{"include_usage":true}}',
  );
});

Deno.test("anyscale stream: usage on the finish chunk", () => {
  const sum = totals(
    parseRecordedStream(createAnyscaleProvider(settings), "anyscale/chat_stream.txt"),
  );
  assert.equal(sum.text, " Blue");
  assert.deepEqual(sum.usage, { promptTokens: 20, completionTokens: 1 });
});

Deno.test("anyscale and openai end to end against mocks of their own", async () => {
  for (const provider of ["anyscale", "openai"]) {
    const { run, records } = await runDialect({ dialect: provider }, [
      "--provider",
      provider,
      "--chat",
    ]);
    assert.equal(records[0].path, "/v1/chat/completions");
    assert.equal("ignore_eos" in (records[0].body as object), false);
    assert.deepEqual(tokenSources(run), { usage: 3 }, provider);
  }
});
