import assert from "node:assert/strict";
import { buildPrompt, PROMPT_REQUEST } from "../lib/prompt.ts";
import { createRandom } from "../lib/random.ts";
import { loadTokenizer, TIKTOKEN_ENCODINGS } from "../lib/tokenizer.ts";

const LENGTHS = [1, 5, 10, 100, 512, 4000];

Deno.test("prompts have exactly the asked number of tokens", async () => {
  for (const name of TIKTOKEN_ENCODINGS) {
    const tokenizer = await loadTokenizer(name);
    for (const tokens of LENGTHS) {
      assert.equal(tokenizer.count(buildPrompt(tokens, tokenizer)), tokens, `${name} ${tokens}`);
    }
  }
});

Deno.test("every length from 1 to 200 is exact, across the seam with the request", async () => {
  for (const name of TIKTOKEN_ENCODINGS) {
    const tokenizer = await loadTokenizer(name);
    for (let tokens = 1; tokens <= 200; tokens++) {
      assert.equal(tokenizer.count(buildPrompt(tokens, tokenizer)), tokens, `${name} ${tokens}`);
    }
  }
});

Deno.test("a prompt is padding then the code-generation request", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  const prompt = buildPrompt(512, tokenizer);
  assert.ok(prompt.startsWith("Pad Pad "), prompt.slice(0, 20));
  assert.ok(prompt.endsWith(` ${PROMPT_REQUEST}`));
  assert.equal(buildPrompt(512, tokenizer), prompt);
});

Deno.test("a prompt shorter than the request is the request cut by tokens", async () => {
  for (const name of TIKTOKEN_ENCODINGS) {
    const tokenizer = await loadTokenizer(name);
    const requestTokens = tokenizer.count(PROMPT_REQUEST);
    assert.equal(buildPrompt(requestTokens, tokenizer), PROMPT_REQUEST);
    for (const tokens of [1, 5, 10]) {
      const prompt = buildPrompt(tokens, tokenizer);
      assert.ok(PROMPT_REQUEST.startsWith(prompt), `${name} ${tokens}: ${prompt}`);
    }
  }
});

Deno.test("random prefixes differ between prompts but keep the exact length", async () => {
  for (const name of TIKTOKEN_ENCODINGS) {
    const tokenizer = await loadTokenizer(name);
    const random = createRandom(11);
    for (const tokens of [...LENGTHS, 20, 40]) {
      const first = buildPrompt(tokens, tokenizer, { randomPrefix: random });
      const second = buildPrompt(tokens, tokenizer, { randomPrefix: random });
      assert.equal(tokenizer.count(first), tokens, `${name} ${tokens}`);
      assert.equal(tokenizer.count(second), tokens, `${name} ${tokens}`);
      if (tokens >= 5) assert.notEqual(first, second, `${name} ${tokens}`);
      if (tokens >= 100) {
        // Differing from the very first words is what defeats a prefix cache.
        assert.notEqual(
          first.split(" ").slice(0, 4).join(" "),
          second.split(" ").slice(0, 4).join(" "),
        );
        assert.ok(first.endsWith(PROMPT_REQUEST));
      }
    }
  }
});

Deno.test("random prefixes are reproducible from the seed", async () => {
  const tokenizer = await loadTokenizer("cl100k_base");
  const a = buildPrompt(300, tokenizer, { randomPrefix: createRandom(3) });
  const b = buildPrompt(300, tokenizer, { randomPrefix: createRandom(3) });
  assert.equal(a, b);
  assert.ok(!a.startsWith("Pad"));
});

Deno.test("long prompts are exact too", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  assert.equal(tokenizer.count(buildPrompt(100_000, tokenizer)), 100_000);
  const random = buildPrompt(100_000, tokenizer, { randomPrefix: createRandom(1) });
  assert.equal(tokenizer.count(random), 100_000);
});

Deno.test("a length below 1 or not whole is refused", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  assert.throws(() => buildPrompt(0, tokenizer), RangeError);
  assert.throws(() => buildPrompt(2.5, tokenizer), RangeError);
});
