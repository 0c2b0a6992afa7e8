import assert from "node:assert/strict";
import { createLlamacppProvider } from "../providers/llamacpp.ts";
import {
  parseRecordedStream,
  runDialect,
  testdata,
  tokenSources,
  totals,
} from "./_dialect_harness.ts";

const settings = { model: "llama", temperature: 0.8, chat: false, stream: true };

Deno.test("llamacpp request body: native /completion with n_predict and ignore_eos", () => {
  const spec = createLlamacppProvider(settings).request({ prompt: "Hi", maxTokens: 5 });
  assert.equal(spec.path, "/completion");
  assert.equal(
    spec.body,
    '{"prompt":"Hi","n_predict":5,"temperature":0.8,"stream":true,"ignore_eos":true}',
  );
  const probs = createLlamacppProvider({ ...settings, logprobs: 0 });
  assert.equal(JSON.parse(probs.request({ prompt: "Hi", maxTokens: 5 }).body).n_probs, 1);
  const chat = createLlamacppProvider({ ...settings, chat: true }).request({
    prompt: "Hi",
    maxTokens: 5,
  });
  assert.equal(chat.path, "/v1/chat/completions");
  assert.deepEqual(JSON.parse(chat.body), {
    model: "llama",
    messages: [{ role: "user", content: "Hi" }],
    max_tokens: 5,
    temperature: 0.8,
    stream: true,
    stream_options: { include_usage: true },
    ignore_eos: true,
  });
});

Deno.test("llamacpp native stream: probabilities per token, counts on the stop event", () => {
  const chunks = parseRecordedStream(
    createLlamacppProvider(settings),
    "llamacpp/completion_stream.txt",
  );
  assert.deepEqual(chunks.map((chunk) => chunk?.usage), [
    undefined,
    undefined,
    // 9 prompt tokens evaluated, of which timings.prompt_n 4 were not in the prompt cache.
    { promptTokens: 9, completionTokens: 2, cachedPromptTokens: 5 },
  ]);
  const sum = totals(chunks);
  assert.equal(sum.text, " Blue sky");
  assert.equal(sum.logprobTokens, 2);
});

Deno.test("llamacpp native body and OpenAI chat stream with reasoning", () => {
  const body = createLlamacppProvider({ ...settings, stream: false }).parseBody(
    testdata("llamacpp/completion.json"),
  );
  assert.equal(body.text, " Blue sky.");
  assert.deepEqual(body.usage, { promptTokens: 9, completionTokens: 3, cachedPromptTokens: 0 });
  const chat = totals(
    parseRecordedStream(
      createLlamacppProvider({ ...settings, chat: true }),
      "llamacpp/chat_stream.txt",
    ),
  );
  assert.equal(chat.text, "Blue");
  assert.equal(chat.reasoning, "Sky");
  assert.deepEqual(chat.usage, { promptTokens: 15, completionTokens: 2 });
});

Deno.test("llamacpp end to end: native completions and OpenAI chat", async () => {
  for (const chat of [false, true]) {
    const { run, records } = await runDialect(
      { dialect: "llamacpp", stopEarly: true },
      ["--provider", "llamacpp", ...(chat ? ["--chat"] : [])],
    );
    assert.equal(records[0].path, chat ? "/v1/chat/completions" : "/completion");
    for (const record of records) {
      assert.equal((record.body as { ignore_eos?: boolean }).ignore_eos, true);
      assert.equal(record.tokens, 12, "ignore_eos keeps an early-stopping model going");
    }
    assert.deepEqual(tokenSources(run), { usage: 3 });
    assert.match(run.out, /Num Tokens\s+: 12\.0/);
  }
});

Deno.test("llamacpp -n 2: OpenAI routes with n and ignore_eos, both choices counted", async () => {
  const spec = createLlamacppProvider({ ...settings, n: 2 }).request({
    prompt: "Hi",
    maxTokens: 5,
  });
  assert.equal(spec.path, "/v1/completions");
  assert.deepEqual(JSON.parse(spec.body), {
    model: "llama",
    prompt: "Hi",
    max_tokens: 5,
    temperature: 0.8,
    stream: true,
    stream_options: { include_usage: true },
    n: 2,
    ignore_eos: true,
  });
  for (const mode of [[], ["--chat"], ["--no-stream"]]) {
    const { run, records } = await runDialect(
      { dialect: "llamacpp" },
      ["--provider", "llamacpp", "-n", "2", ...mode],
    );
    assert.equal(
      records[0].path,
      mode[0] === "--chat" ? "/v1/chat/completions" : "/v1/completions",
    );
    assert.equal((records[0].body as { n?: number }).n, 2);
    assert.deepEqual(tokenSources(run), { usage: 3 });
    // Two choices of 12 tokens each, and no max-tokens mismatch against 12 × 2.
    assert.match(run.out, /Num Tokens\s+: 24\.0/, mode.join(" "));
    assert.doesNotMatch(run.out + run.log.join("\n"), /mismatch/i);
  }
});
