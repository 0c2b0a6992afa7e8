import assert from "node:assert/strict";
import { createTogetherProvider } from "../providers/together.ts";
import { parseRecordedStream, runDialect, tokenSources, totals } from "./_dialect_harness.ts";

const settings = { model: "meta-llama/Llama-3-8b", temperature: 0.7, chat: false, stream: true };

Deno.test("together request body: OpenAI route with ignore_eos", () => {
  const spec = createTogetherProvider(settings).request({ prompt: "Hi", maxTokens: 5 });
  assert.equal(spec.path, "/v1/completions");
  assert.equal(
    spec.body,
    '{"model":"meta-llama/Llama-3-8b","prompt":"Hi","max_tokens":5,"temperature":0.7,' +
      '"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true}',
  );
});

Deno.test("together stream: text counted once although it is in text and delta; usage last", () => {
  const chunks = parseRecordedStream(
    createTogetherProvider(settings),
    "together/completion_stream.txt",
  );
  assert.deepEqual(chunks.map((chunk) => chunk?.text ?? null), [" the", " of", null]);
  const sum = totals(chunks);
  assert.equal(sum.text, " the of");
  assert.deepEqual(sum.usage, { promptTokens: 6, completionTokens: 2 });
});

Deno.test("together end to end: token objects in every chunk, usage on the last", async () => {
  const { run, records } = await runDialect({ dialect: "together" }, ["--provider", "together"]);
  for (const record of records) {
    assert.equal((record.body as { ignore_eos?: boolean }).ignore_eos, true);
  }
  assert.deepEqual(tokenSources(run), { usage: 3 });
  assert.match(run.out, /Num Tokens\s+: 12\.0/);
});
