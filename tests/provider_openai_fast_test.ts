import assert from "node:assert/strict";
import fc from "fast-check";
import { scanPlainText } from "../providers/_openai_fast.ts";

/** The text a full parse reads from an OpenAI event. */
function fullText(data: string): string | undefined {
  const choice = JSON.parse(data).choices?.[0];
  return choice?.text ?? choice?.delta?.content ?? undefined;
}

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 12, unit: "grapheme" }),
  fc.constantFrom(" the", "", "\n", 'say "hi"', "a\\b", "\u0000", "é", "😀"),
);
const chunk = fc.record({
  kind: fc.constantFrom("completion", "chat"),
  text,
  role: fc.boolean(),
  usage: fc.constantFrom(undefined, null, { prompt_tokens: 3, completion_tokens: 1 }),
  logprobs: fc.constantFrom(undefined, null, { tokens: ["x"] }),
  reasoning: fc.constantFrom(undefined, "hm"),
  choices: fc.integer({ min: 0, max: 2 }),
  finish: fc.constantFrom(null, "length"),
});

Deno.test("the fast path reads exactly what a full parse reads, or declines", () => {
  fc.assert(
    fc.property(chunk, (c) => {
      const choice = c.kind === "completion"
        ? { index: 0, text: c.text, logprobs: c.logprobs, finish_reason: c.finish }
        : {
          index: 0,
          delta: {
            ...(c.role ? { role: "assistant" } : {}),
            content: c.text,
            ...(c.reasoning ? { reasoning_content: c.reasoning } : {}),
          },
          logprobs: c.logprobs,
          finish_reason: c.finish,
        };
      const choices = Array.from({ length: c.choices }, (_, index) => ({ ...choice, index }));
      const data = JSON.stringify({ id: "x", object: "chunk", choices, usage: c.usage });
      const fast = scanPlainText(data);
      if (fast !== undefined) assert.equal(fast, fullText(data), data);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("the fast path takes plain token events and declines rich ones", () => {
  const plain = '{"id":"c","choices":[{"index":0,"text":" the","logprobs":null}],"usage":null}';
  assert.equal(scanPlainText(plain), " the");
  assert.equal(
    scanPlainText('{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}'),
    "",
  );
  for (
    const rich of [
      '{"choices":[],"usage":{"completion_tokens":3}}',
      '{"choices":[{"text":"a","logprobs":{"tokens":["a"]}}]}',
      '{"choices":[{"delta":{"reasoning_content":"hm"}}]}',
      '{"choices":[{"text":"a\\nb"}]}',
      '{"choices":[{"index":0,"text":"a"},{"index":1,"text":"b"}]}',
      '{"choices":[{"text":"a"',
      '{"error":{"message":"boom"}}',
    ]
  ) assert.equal(scanPlainText(rich), undefined, rich);
});
