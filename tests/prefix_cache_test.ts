import assert from "node:assert/strict";
import { createPrefixCache, prefillMs } from "../mock/prefix_cache.ts";
import { resolveMockOptions } from "../mock/options.ts";
import { UsageError } from "../common/errors.ts";
import { type CapturedRun, completionRecords, runAgainst, withMock } from "./_harness.ts";
import type { MockServer } from "../mock/server.ts";

const MOONCAKE = "tests/testdata/traces/mooncake.jsonl";

/** `n` token ids counting up from `from`. */
function ids(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

Deno.test("the prefix cache serves the leading full blocks it has seen", () => {
  const cache = createPrefixCache({ blocks: 100, blockTokens: 4 });
  assert.equal(cache.admit(ids(10)), 0);
  assert.equal(cache.size(), 2);
  // Same first 9 tokens, then a different tail: blocks 0 and 1 hit.
  assert.equal(cache.admit([...ids(9), 99, 98, 97]), 8);
  // A different first token changes every block's name, even where later tokens agree.
  assert.equal(cache.admit([7, ...ids(11, 1)]), 0);
  // A block is named by its whole prefix: block 1's tokens after another block 0 miss.
  assert.equal(cache.admit([...ids(4, 50), ...ids(4, 4)]), 0);
});

Deno.test("the prefix cache always computes a prompt's last token", () => {
  const cache = createPrefixCache({ blocks: 100, blockTokens: 4 });
  assert.equal(cache.admit(ids(8)), 0);
  // Seen in full: the block holding the last token is computed again, as vLLM does.
  assert.equal(cache.admit(ids(8)), 4);
  assert.equal(cache.admit(ids(9)), 8);
  // Shorter than a block: nothing to cache.
  assert.equal(cache.admit(ids(3)), 0);
  assert.equal(cache.admit(ids(3)), 0);
});

Deno.test("the prefix cache evicts the least recently used blocks", () => {
  const cache = createPrefixCache({ blocks: 2, blockTokens: 2 });
  cache.admit(ids(3)); // block a
  cache.admit(ids(3, 10)); // block b
  cache.admit(ids(3)); // a hit: a is now the most recent
  cache.admit(ids(3, 20)); // block c evicts b
  assert.equal(cache.size(), 2);
  assert.equal(cache.admit(ids(3)), 2);
  assert.equal(cache.admit(ids(3, 10)), 0);
  assert.throws(() => createPrefixCache({ blocks: 0, blockTokens: 16 }), RangeError);
});

Deno.test("prefill time counts only the uncached prompt tokens", () => {
  assert.equal(prefillMs(1000, { cachedTokens: 992, usPerToken: 500 }), 4);
  assert.equal(prefillMs(1000, { cachedTokens: 0, usPerToken: 500 }), 500);
  assert.equal(prefillMs(10, { cachedTokens: 0, usPerToken: 0 }), 0);
});

Deno.test("llmload mock takes --prefix-cache, --prefix-cache-block and --prefill-us", () => {
  const options = resolveMockOptions({ "prefix-cache": "4096", "prefill-us": "200" });
  assert.deepEqual(options.prefixCache, { blocks: 4096, blockTokens: 16 });
  assert.equal(options.prefillUs, 200);
  const small = resolveMockOptions({ "prefix-cache": "8", "prefix-cache-block": "32" });
  assert.deepEqual([small.prefixCache, small.prefillUs], [
    { blocks: 8, blockTokens: 32 },
    undefined,
  ]);
  assert.equal(resolveMockOptions({}).prefixCache, undefined);
  for (
    const [flags, message] of [
      [
        { "prefix-cache": "0" },
        "Invalid --prefix-cache '0': expected a whole number of at least 1",
      ],
      [{ "prefill-us": "-1" }, "Invalid --prefill-us '-1': expected a whole number of at least 0"],
      [
        { "prefix-cache": "8", "prompt-cache": true },
        "Cannot use --prompt-cache with --prefix-cache: the prefix cache already serves " +
        "repeated prompts; drop --prompt-cache",
      ],
    ] as const
  ) {
    assert.throws(
      () => resolveMockOptions(flags),
      (error) => error instanceof UsageError && error.message === message,
    );
  }
});

/** Posts a streamed completion of `prompt` and returns the usage chunk's cached tokens. */
async function cachedTokensOf(mock: MockServer, prompt: string): Promise<number | undefined> {
  const response = await fetch(`${mock.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      prompt,
      max_tokens: 2,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  const text = await response.text();
  const usage =
    text.split("\n\n").map((event) => event.slice(6)).filter((data) =>
      data.startsWith("{") && data.includes('"usage":{')
    ).map((data) => JSON.parse(data).usage)[0];
  return usage?.prompt_tokens_details?.cached_tokens;
}

Deno.test("the mock reports the cached prefix in usage and in its records, and prefills the rest", async () => {
  // Each " the" is one o200k_base token, so prompts are exact token counts.
  const words = (n: number, word = " the") => word.repeat(n);
  await withMock(
    { ttftMs: 1, itlMs: 1, prefixCache: { blocks: 64, blockTokens: 16 }, prefillUs: 2000 },
    async (mock) => {
      assert.equal(await cachedTokensOf(mock, words(40)), 0);
      assert.equal(await cachedTokensOf(mock, words(40) + words(10, " of")), 32);
      assert.equal(await cachedTokensOf(mock, words(10, " of") + words(40)), 0);
      const records = completionRecords(mock.records());
      assert.deepEqual(records.map((record) => [record.promptTokens, record.cachedTokens]), [
        [40, 0],
        [50, 32],
        [50, 0],
      ]);
      // 2 ms per uncached token: 80 ms, 36 ms, 100 ms before the first token.
      assert.deepEqual(records.map((record) => record.prefillMs), [80, 36, 100]);
      for (const record of records) {
        const waited = record.firstTokenAt! - record.receivedAt;
        assert.ok(waited >= record.prefillMs!, `first token after ${waited} ms`);
      }
    },
  );
});

/** The cached tokens the mock reported, request by request in arrival order. */
function cachedByMock(mock: MockServer): number[] {
  return completionRecords(mock.records())
    .sort((a, b) => a.receivedAt - b.receivedAt)
    .map((record) => record.cachedTokens!);
}

/** A generated load of 12 requests, one at a time, over prompts of 200 tokens. */
function prefixedLoad(extra: string[]): string[] {
  return [
    "-p",
    "200",
    "--prefix-tokens",
    "100",
    "--prefix-groups",
    "2",
    "-u",
    "1",
    "--max-requests",
    "12",
    "-o",
    "2",
    "--seed",
    "3",
    ...extra,
  ];
}

/** Checks that the run's prompt-cache counts and TTFT split are the mock's, request for request. */
function assertSameAsMock(run: CapturedRun, cached: readonly number[]): void {
  assert.equal(run.exitCode, 0, run.log.join("\n"));
  const hits = cached.filter((tokens) => tokens > 0).length;
  const { promptCache } = run.results.tokens;
  assert.equal(promptCache.requests, cached.length);
  assert.equal(promptCache.hits, hits);
  assert.equal(promptCache.cachedTokens, cached.reduce((sum, tokens) => sum + tokens, 0));
  assert.equal(run.results.metrics.ttft_cache_hit?.count, hits || undefined);
  assert.equal(run.results.metrics.ttft_cache_miss?.count, cached.length - hits || undefined);
  const line = run.out.split("\n").find((text) => text.startsWith("Prompt cache:"));
  assert.ok(line?.includes(`${hits} of ${cached.length} requests hit it`), line);
}

const CACHED_MOCK = { ttftMs: 1, itlMs: 1, prefixCache: { blocks: 4096, blockTokens: 16 } };

Deno.test("end to end: shared prefixes are cached to the last full block, and --prompt-randomize keeps the suffix uncached", async () => {
  await withMock(CACHED_MOCK, async (mock) => {
    const run = await runAgainst(mock, prefixedLoad(["--prompt-randomize"]));
    const cached = cachedByMock(mock);
    // Each group's first request misses; later ones hit the prefix's 6 full blocks, no more.
    assert.deepEqual(cached.filter((tokens) => tokens !== 96), [0, 0]);
    assertSameAsMock(run, cached);
    assert.match(run.out, /Prompt cache: 960 of 2400 prompt tokens \(40\.0%\)/);
  });
  await withMock(CACHED_MOCK, async (mock) => {
    // Without --prompt-randomize each group's prompt repeats whole: all but its last block hit.
    const run = await runAgainst(mock, prefixedLoad([]));
    const cached = cachedByMock(mock);
    assert.deepEqual(cached.filter((tokens) => tokens !== 192), [0, 0]);
    assertSameAsMock(run, cached);
  });
});

Deno.test("end to end: a trace's hash_ids blocks hit the cache where they repeat", async () => {
  await withMock({ ...CACHED_MOCK, ttftMs: 5 }, async (mock) => {
    const run = await runAgainst(mock, ["--trace", MOONCAKE, "-u", "8", "--workers", "2"]);
    // Request 2 repeats blocks 0 and 1 of request 0 (1,024 tokens); request 3 repeats block 0.
    const cached = cachedByMock(mock);
    assert.deepEqual(cached, [0, 0, 1024, 512, 0, 0]);
    assertSameAsMock(run, cached);
  });
});

Deno.test("end to end: with --prefill-us a cache hit's first token comes sooner than a miss's", async () => {
  await withMock({ ...CACHED_MOCK, prefillUs: 500 }, async (mock) => {
    const run = await runAgainst(mock, prefixedLoad(["--prompt-randomize"]));
    const records = completionRecords(mock.records());
    assertSameAsMock(run, cachedByMock(mock));
    // 200 uncached tokens cost 100 ms; a hit leaves 104 of them, 52 ms.
    for (const record of records) {
      assert.equal(record.prefillMs, record.cachedTokens === 0 ? 100 : 52);
      assert.ok(record.firstTokenAt! - record.receivedAt >= record.prefillMs!);
    }
    const { ttft_cache_hit: hit, ttft_cache_miss: miss } = run.results.metrics;
    assert.ok(hit!.max < miss!.min, `hit max ${hit!.max} ms, miss min ${miss!.min} ms`);
  });
});

Deno.test("end to end: a session's later turns hit the blocks of the history before them", async () => {
  await withMock(CACHED_MOCK, async (mock) => {
    const run = await runAgainst(mock, [
      "--chat",
      "--turns",
      "3",
      "-u",
      "1",
      "--max-requests",
      "3",
      "-p",
      "40",
      "--prompt-randomize",
      "-o",
      "8",
      "--warmup",
      "0",
    ]);
    const records = completionRecords(mock.records()).sort((a, b) => a.receivedAt - b.receivedAt);
    // Each turn's prompt starts with the previous turn's messages, whose full blocks it finds.
    const previous = records.map((record) => record.promptTokens!);
    assert.deepEqual(
      records.map((record) => record.cachedTokens),
      [0, Math.floor(previous[0] / 16) * 16, Math.floor(previous[1] / 16) * 16],
    );
    assertSameAsMock(run, cachedByMock(mock));
    const turns = run.results.turns!;
    assert.deepEqual(
      turns.map((
        turn,
      ) => [turn.metrics.ttft_cache_miss?.count, turn.metrics.ttft_cache_hit?.count]),
      [[1, undefined], [undefined, 1], [undefined, 1]],
    );
  });
});
