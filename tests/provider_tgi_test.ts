import assert from "node:assert/strict";
import { createTgiProvider } from "../providers/tgi.ts";
import {
  parseRecordedStream,
  runDialect,
  testdata,
  tokenSources,
  totals,
} from "./_dialect_harness.ts";

const settings = { model: "tgi", temperature: 0.8, chat: false, stream: true };

Deno.test("tgi request body: inputs, parameters.max_new_tokens and details", () => {
  const stream = createTgiProvider(settings).request({ prompt: "Hi", maxTokens: 7 });
  assert.equal(stream.path, "/generate_stream");
  assert.equal(
    stream.body,
    '{"inputs":"Hi","parameters":{"max_new_tokens":7,"do_sample":true,"temperature":0.8,' +
      '"details":true}}',
  );
  const greedy = createTgiProvider({ ...settings, stream: false, temperature: 0, logprobs: 2 });
  const whole = greedy.request({ prompt: "Hi", maxTokens: 7 });
  assert.equal(whole.path, "/generate");
  assert.deepEqual(JSON.parse(whole.body), {
    inputs: "Hi",
    parameters: { max_new_tokens: 7, do_sample: false, details: true, top_n_tokens: 2 },
  });
});

Deno.test("tgi chat goes to the Messages API in the OpenAI shape", () => {
  const chat = createTgiProvider({ ...settings, chat: true });
  assert.equal(chat.name, "tgi");
  assert.equal(chat.request({ prompt: "Hi", maxTokens: 2 }).path, "/v1/chat/completions");
});

Deno.test("tgi stream: one token per event, the special EOS token is not text, details count", () => {
  const chunks = parseRecordedStream(createTgiProvider(settings), "tgi/generate_stream.txt");
  assert.deepEqual(chunks.map((chunk) => chunk?.text), [" Blue", ".", ""]);
  const sum = totals(chunks);
  assert.equal(sum.logprobTokens, 3);
  assert.deepEqual(sum.usage, { promptTokens: 12, completionTokens: 3 });
});

Deno.test("tgi body: generated_text, tokens listed, generated_tokens as usage", () => {
  const chunk = createTgiProvider({ ...settings, stream: false }).parseBody(
    testdata("tgi/generate.json"),
  );
  assert.equal(chunk.text, " Blue sky");
  assert.equal(chunk.logprobTokens, 2);
  assert.deepEqual(chunk.usage, { promptTokens: undefined, completionTokens: 2 });
  assert.throws(
    () =>
      createTgiProvider(settings).parseEvent(
        '{"error":"Input validation error","error_type":"validation"}',
      ),
    /Input validation error/,
  );
});

Deno.test("tgi end to end, streamed and whole: details give the counts", async () => {
  for (const stream of [true, false]) {
    const { run, records } = await runDialect(
      { dialect: "tgi" },
      ["--provider", "tgi", ...(stream ? [] : ["--no-stream"])],
    );
    assert.equal(records[0].path, stream ? "/generate_stream" : "/generate");
    const body = records[0].body as { parameters: Record<string, unknown> };
    assert.equal(body.parameters.max_new_tokens, 12);
    assert.equal(body.parameters.details, true);
    assert.deepEqual(tokenSources(run), { usage: 3 });
    assert.match(run.log.join("\n"), /model tgi \(default of tgi/);
  }
});
