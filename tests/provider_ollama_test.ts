import assert from "node:assert/strict";
import { createOllamaProvider } from "../providers/ollama.ts";
import {
  parseRecordedStream,
  runDialect,
  testdata,
  tokenSources,
  totals,
} from "./_dialect_harness.ts";

const settings = { model: "llama3.2", temperature: 0.6, chat: false, stream: true };

Deno.test("ollama request body: raw generate or chat, options.num_predict", () => {
  const generate = createOllamaProvider(settings);
  assert.equal(generate.framing, "ndjson");
  const spec = generate.request({ prompt: "Hi", maxTokens: 8 });
  assert.equal(spec.path, "/api/generate");
  assert.equal(
    spec.body,
    '{"model":"llama3.2","prompt":"Hi","raw":true,"stream":true,' +
      '"options":{"num_predict":8,"temperature":0.6}}',
  );
  const chat = createOllamaProvider({ ...settings, chat: true, stream: false, logprobs: 3 });
  const chatSpec = chat.request({ prompt: "Hi", maxTokens: 8 });
  assert.equal(chatSpec.path, "/api/chat");
  assert.deepEqual(JSON.parse(chatSpec.body), {
    model: "llama3.2",
    messages: [{ role: "user", content: "Hi" }],
    stream: false,
    options: { num_predict: 8, temperature: 0.6 },
    logprobs: true,
    top_logprobs: 3,
  });
});

Deno.test("ollama streams: pieces, thinking as reasoning, eval counts on the done object", () => {
  const generate = totals(
    parseRecordedStream(createOllamaProvider(settings), "ollama/generate_stream.ndjson"),
  );
  assert.equal(generate.text, " Blue sky");
  assert.equal(generate.logprobTokens, 1);
  assert.deepEqual(generate.usage, { promptTokens: 11, completionTokens: 2 });
  const chat = totals(
    parseRecordedStream(
      createOllamaProvider({ ...settings, chat: true }),
      "ollama/chat_stream.ndjson",
    ),
  );
  assert.equal(chat.text, "Blue");
  assert.equal(chat.reasoning, "Sky colour");
  assert.deepEqual(chat.usage, { promptTokens: 17, completionTokens: 4 });
});

Deno.test("ollama whole body and error objects", () => {
  const provider = createOllamaProvider({ ...settings, stream: false });
  const chunk = provider.parseBody(testdata("ollama/generate.json"));
  assert.equal(chunk.text, " Blue sky.");
  assert.deepEqual(chunk.usage, { promptTokens: 11, completionTokens: 3 });
  assert.throws(() => provider.parseEvent('{"error":"model \\"x\\" not found"}'), /not found/);
});

Deno.test("ollama end to end over NDJSON, generate and chat", async () => {
  for (const chat of [false, true]) {
    const { run, records } = await runDialect(
      { dialect: "ollama" },
      ["--provider", "ollama", ...(chat ? ["--chat"] : [])],
    );
    assert.equal(records[0].path, chat ? "/api/chat" : "/api/generate");
    const options = (records[0].body as { options: Record<string, number> }).options;
    assert.equal(options.num_predict, 12);
    assert.deepEqual(tokenSources(run), { usage: 3 });
    assert.match(run.out, /Num Tokens\s+: 12\.0/);
  }
});
