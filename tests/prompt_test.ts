import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildPrefix,
  buildPrefixedPrompt,
  buildPrompt,
  buildServerPrompt,
  createPromptSource,
  MAX_ROUND_TRIPS,
  PROMPT_REQUEST,
} from "../load/prompt.ts";
import { createRandom } from "../load/random.ts";
import { loadTokenizer, TIKTOKEN_ENCODINGS } from "../load/tokenizer.ts";
import type { Tokenizer } from "../load/tokenizer.ts";
import { metricMean, runDialect } from "./_dialect_harness.ts";
import { syntheticPool } from "../load/pool_builder.ts";

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

const HF_FIXTURE = new URL("./testdata/hf_tokenizer/tokenizer.json", import.meta.url).pathname;

Deno.test("-p is exact under a Hugging Face tokenizer.json too, for every length to 150", async () => {
  const tokenizer = await loadTokenizer(HF_FIXTURE);
  for (const tokens of [...Array.from({ length: 150 }, (_, i) => i + 1), 512, 2000]) {
    assert.equal(tokenizer.count(buildPrompt(tokens, tokenizer)), tokens, `${tokens}`);
    const random = buildPrompt(tokens, tokenizer, { randomPrefix: createRandom(tokens) });
    assert.equal(tokenizer.count(random), tokens, `random ${tokens}`);
  }
});

Deno.test("a prompt source gives a fresh random prefix per request at the exact length", async () => {
  for (const spec of [...TIKTOKEN_ENCODINGS, HF_FIXTURE]) {
    const tokenizer = await loadTokenizer(spec);
    for (const tokens of [3, 40, 512]) {
      const fixed = createPromptSource(tokens, tokenizer);
      assert.equal(fixed.next(), fixed.next());
      assert.equal(fixed.next(), buildPrompt(tokens, tokenizer));
      const source = createPromptSource(tokens, tokenizer, { random: createRandom(5) });
      const prompts = Array.from({ length: 20 }, () => source.next());
      assert.equal(new Set(prompts).size, 20, `${spec} ${tokens}: every prompt differs`);
      for (const prompt of prompts) {
        assert.equal(tokenizer.count(prompt), tokens, `${spec} ${tokens}`);
      }
      if (tokens >= 40) {
        const starts = new Set(prompts.map((prompt) => prompt.split(" ").slice(0, 3).join(" ")));
        assert.ok(starts.size > 15, "prompts differ from their first words");
      }
    }
  }
});

Deno.test("drawing the next random prompt encodes nothing", async () => {
  const real = await loadTokenizer("o200k_base");
  let calls = 0;
  const spy: Tokenizer = {
    ...real,
    count: (text) => (calls++, real.count(text)),
    encode: (text) => (calls++, real.encode(text)),
  };
  const source = createPromptSource(20_000, spy, { random: createRandom(9) });
  const before = calls;
  for (let i = 0; i < 50; i++) source.next();
  assert.equal(calls, before);
});

Deno.test("--prompt-randomize sends every request its own prompt of the same length", async () => {
  const { records } = await runDialect({}, ["--prompt-randomize", "-p", "64", "-u", "2"], {
    requests: 8,
  });
  const prompts = records.map((record) => (record.body as { prompt: string }).prompt);
  assert.equal(prompts.length, 8);
  assert.equal(new Set(prompts).size, 8, "no two requests share a prompt");
  const tokenizer = await loadTokenizer("o200k_base");
  for (const prompt of prompts) assert.equal(tokenizer.count(prompt), 64);
});

const BOS_FIXTURE = new URL("./testdata/hf_tokenizer/llama3_bos/tokenizer.json", import.meta.url)
  .pathname;

Deno.test("-p N under a tokenizer that adds BOS is N tokens as the server counts them", async () => {
  const tokenizer = await loadTokenizer(BOS_FIXTURE);
  for (const tokens of [2, 3, 10, 40, 150, 512]) {
    const prompt = buildPrompt(tokens, tokenizer);
    assert.equal(tokenizer.count(prompt), tokens - 1, `${tokens}: one token is the BOS`);
    assert.equal(tokenizer.countPrompt(prompt), tokens, `${tokens}`);
    const source = createPromptSource(tokens, tokenizer, { random: createRandom(tokens) });
    for (let i = 0; i < 5; i++) assert.equal(tokenizer.countPrompt(source.next()), tokens);
  }
  assert.throws(() => buildPrompt(1, tokenizer), {
    name: "UsageError",
    message:
      /^Cannot build a prompt of 1 tokens: the server adds 1 special token \(BOS\) .*expected -p of at least 2$/,
  });
});

Deno.test("no prompt mismatch alarm against a server whose tokenizer adds BOS", async () => {
  const { run } = await runDialect({ tokenizer: BOS_FIXTURE }, ["--tokenizer", BOS_FIXTURE]);
  assert.doesNotMatch(run.out, /Prompt tokens mismatch/);
  assert.equal(metricMean(run, "prompt_tokens"), 40, "the server counts -p 40 as 40");
});

Deno.test("a prompt mismatch with a tokenizer.json does not advise passing a tokenizer.json", async () => {
  const { run } = await runDialect({ tokenizer: BOS_FIXTURE }, ["--tokenizer", HF_FIXTURE]);
  const line = run.out.split("\n").find((text) => text.startsWith("Prompt tokens mismatch"));
  assert.ok(line, run.out);
  assert.match(
    line,
    /\(server 41 local 40; .*\); the server counts every prompt 1 token more than /,
  );
  assert.match(line, /pass --tokenizer server/);
  assert.doesNotMatch(line, /model's tokenizer\.json/);
});

Deno.test("a server-counted prompt hits every length, whatever the server's tokenizer", async () => {
  const base = await loadTokenizer("o200k_base");
  for (const spec of ["cl100k_base", HF_FIXTURE, BOS_FIXTURE]) {
    const server = await loadTokenizer(spec);
    const lowest = server.specialTokens + 1;
    for (const tokens of [...Array.from({ length: 120 }, (_, i) => i + lowest), 512, 4000]) {
      let trips = 0;
      const prompt = await buildServerPrompt(tokens, base, (text) => {
        trips++;
        return Promise.resolve(server.countPrompt(text));
      });
      assert.equal(server.countPrompt(prompt), tokens, `${spec} ${tokens}`);
      assert.ok(trips <= MAX_ROUND_TRIPS, `${spec} ${tokens}: ${trips} round trips`);
    }
  }
});

Deno.test("a length the server cannot count is a usage error after bounded round trips", async () => {
  const base = await loadTokenizer("o200k_base");
  let trips = 0;
  // Every word two tokens plus a BOS: no prompt has an even count.
  const odd = (text: string) => (trips++, Promise.resolve(2 * text.split(" ").length + 1));
  await assert.rejects(() => buildServerPrompt(12, base, odd), {
    name: "UsageError",
    message: /^Cannot build a prompt of exactly 12 tokens with the server's tokenizer/,
  });
  assert.ok(trips <= MAX_ROUND_TRIPS, `${trips}`);
});

Deno.test("a prefixed prompt starts with its prefix and has exactly the asked tokens", async () => {
  for (const spec of [...TIKTOKEN_ENCODINGS, HF_FIXTURE, BOS_FIXTURE]) {
    const tokenizer = await loadTokenizer(spec);
    for (const prefixTokens of [1, 16, 200]) {
      const prefix = buildPrefix(prefixTokens, tokenizer, createRandom(prefixTokens));
      assert.equal(tokenizer.count(prefix), prefixTokens, `${spec} prefix ${prefixTokens}`);
      const shortest = prefixTokens + tokenizer.specialTokens + 1;
      for (const tokens of [shortest, shortest + 1, shortest + 37, 1024]) {
        const prompt = buildPrefixedPrompt(tokens, tokenizer, { prefix, prefixTokens });
        assert.ok(prompt.startsWith(prefix + " "));
        assert.equal(tokenizer.countPrompt(prompt), tokens, `${spec} ${prefixTokens}+ ${tokens}`);
      }
      // --prompt-randomize redraws the suffix; prefix, space and suffix still add up exactly.
      const suffixTokens = 300 - prefixTokens;
      const source = createPromptSource(suffixTokens, tokenizer, { random: createRandom(2) });
      for (let i = 0; i < 5; i++) {
        assert.equal(tokenizer.countPrompt(`${prefix} ${source.next()}`), 300, `${spec} random`);
      }
    }
  }
});

Deno.test("two prefix sources give different prefixes; no room for a suffix is refused", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  const random = createRandom(1);
  const first = buildPrefix(50, tokenizer, random);
  const second = buildPrefix(50, tokenizer, random);
  assert.notEqual(
    first.split(" ")[0] + first.split(" ")[1],
    second.split(" ")[0] + second.split(" ")[1],
  );
  assert.throws(() => buildPrefixedPrompt(50, tokenizer, { prefix: first, prefixTokens: 50 }), {
    name: "UsageError",
    message: /after a 50-token prefix under o200k_base: expected -p of at least 51$/,
  });
});

Deno.test("property: drawn lengths and shared prefixes keep every prompt at exactly its count", async () => {
  const tokenizers = await Promise.all(
    [...TIKTOKEN_ENCODINGS, HF_FIXTURE, BOS_FIXTURE].map((spec) => loadTokenizer(spec)),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...tokenizers),
      fc.constantFrom("constant", "uniform", "normal", "exponential" as const),
      fc.integer({ min: 2, max: 400 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.option(
        fc.record({
          tokens: fc.integer({ min: 1, max: 60 }),
          groups: fc.integer({ min: 1, max: 4 }),
        }),
      ),
      fc.integer({ min: 0, max: 1000 }),
      (tokenizer, distribution, mean, alpha, prefix, seed) => {
        const { pool } = syntheticPool(
          { distribution, mean, alpha, jitter: 0 },
          tokenizer,
          createRandom(seed),
          prefix ?? undefined,
        );
        pool.prompts.forEach((prompt, index) => {
          assert.equal(tokenizer.countPrompt(prompt), pool.promptTokens[index]);
          if (prefix) assert.ok(prompt.startsWith(pool.prefix!.texts[index % prefix.groups] + " "));
        });
      },
    ),
    { numRuns: 25, seed: 14 },
  );
});
