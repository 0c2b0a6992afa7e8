import assert from "node:assert/strict";
import { createFireworksProvider } from "../providers/fireworks.ts";
import { parseRecordedStream, runDialect, tokenSources, totals } from "./_dialect_harness.ts";

const settings = { model: "accounts/f/models/m", temperature: 1, chat: true, stream: true };

Deno.test("fireworks request body: min_tokens equals max_tokens", () => {
  const spec = createFireworksProvider(settings).request({ prompt: "Hi", maxTokens: 9 });
  assert.equal(spec.path, "/v1/chat/completions");
  assert.equal(
    spec.body,
    '{"model":"accounts/f/models/m","messages":[{"role":"user","content":"Hi"}],' +
      '"max_tokens":9,"temperature":1,"stream":true,"stream_options":{"include_usage":true},' +
      '"min_tokens":9}',
  );
});

Deno.test("fireworks stream: usage arrives on the finish chunk", () => {
  const chunks = parseRecordedStream(
    createFireworksProvider(settings),
    "fireworks/chat_stream.txt",
  );
  assert.equal(chunks.length, 5);
  assert.equal(chunks[0]?.text, "", "a role chunk without content carries nothing");
  assert.equal(chunks[3]?.text, "");
  assert.deepEqual(chunks[3]?.usage, { promptTokens: 19, completionTokens: 2 });
  assert.equal(totals(chunks).text, "Blue sky");
});

Deno.test("fireworks end to end (chat): min_tokens honoured, usage from the finish chunk", async () => {
  const { run, records } = await runDialect(
    { dialect: "fireworks", stopEarly: true },
    ["--provider", "fireworks", "--chat"],
    { tokens: 20 },
  );
  for (const record of records) {
    assert.equal(record.path, "/v1/chat/completions");
    assert.equal((record.body as { min_tokens?: number }).min_tokens, record.maxTokens);
    assert.equal(record.tokens, 20, "a mock that stops early still honours min_tokens");
  }
  assert.deepEqual(tokenSources(run), { usage: 3 });
  assert.doesNotMatch(run.out, /mismatch/i);
});
