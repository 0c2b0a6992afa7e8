import assert from "node:assert/strict";
import { readDataset } from "../load/dataset.ts";
import { datasetPool, describeWorkload, syntheticPool } from "../load/pool_builder.ts";
import { createPoolDraw, tokenSpread } from "../load/prompt_pool.ts";
import type { PromptPool } from "../load/prompt_pool.ts";
import { createRandom } from "../load/random.ts";
import { loadTokenizer } from "../load/tokenizer.ts";
import { UsageError } from "../common/errors.ts";
import { datasetChoice, datasetFields } from "../options/dataset_parsers.ts";
import type { MockRecord } from "../mock/server.ts";
import { completionRecords, runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { resolveRunConfig } from "../options/config.ts";

const DIR = new URL("./testdata/workloads/", import.meta.url).pathname;
const LIMIT = { limit: 1000 };

type Body = Record<string, unknown>;

function completionBodies(records: MockRecord[]): Body[] {
  return completionRecords(records).map((record) => record.body as Body);
}

async function rejects(path: string, pattern: RegExp, options = LIMIT) {
  await assert.rejects(readDataset(DIR + path, options), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("JSONL: prompts, max_tokens and ids; blank lines skipped, empty prompts dropped", async () => {
  const read = await readDataset(DIR + "prompts.jsonl", LIMIT);
  assert.deepEqual(read.rows, [
    { id: "a", prompt: "What is the capital of France?", maxTokens: 5 },
    { id: "b", prompt: "Write a haiku about the sea." },
    { id: "d", prompt: "Explain TCP slow start in two sentences.", maxTokens: 9 },
  ]);
  assert.equal(read.read, 4);
  assert.deepEqual(read.dropped, { empty: 1, unreadable: 0 });
});

Deno.test("JSONL: messages rows keep the history and carry its text as the prompt", async () => {
  const { rows } = await readDataset(DIR + "chat.jsonl", LIMIT);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1].messages, [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello!" },
    { role: "user", content: "Tell me a joke." },
  ]);
  assert.equal(rows[1].maxTokens, 7);
  assert.equal(rows[0].prompt, "You are terse.\n\nName a prime.");
});

Deno.test("ShareGPT: the first human turn is the prompt; a conversation without one is dropped", async () => {
  const read = await readDataset(DIR + "sharegpt.json", LIMIT);
  assert.deepEqual(read.rows, [
    { id: "s1", prompt: "How do I sort a list in Python?" },
    { id: "s3", prompt: "What is a monad?" },
  ]);
  assert.deepEqual(read.dropped, { empty: 0, unreadable: 1 });
});

Deno.test("CSV: --dataset-field maps columns; quoted commas and quotes survive", async () => {
  const read = await readDataset(DIR + "questions.csv", {
    limit: 10,
    fields: datasetFields("prompt=question,max_tokens=limit"),
  });
  assert.deepEqual(read.rows.map((row) => [row.prompt, row.maxTokens]), [
    ["What is 2+2?", 3],
    ['Summarise "War and Peace", briefly', 8],
    ["Translate 'hello, world' to German", undefined],
  ]);
});

Deno.test("Parquet: columns mapped like CSV; an empty prompt is dropped", async () => {
  const read = await readDataset(DIR + "questions.parquet", {
    limit: 10,
    fields: datasetFields("prompt=question,max_tokens=limit"),
  });
  assert.deepEqual(read.rows, [{ prompt: "What is 2+2?", maxTokens: 3 }, {
    prompt: "Name a colour.",
  }]);
  assert.deepEqual(read.dropped, { empty: 1, unreadable: 0 });
  await rejects("questions.parquet", /no column 'prompt', expected one of question, limit/);
  await rejects("not_parquet.parquet", /'.*not_parquet\.parquet': not a Parquet file/);
});

Deno.test("the limit stops the read early; a shuffle samples the whole file, the same per seed", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/many.jsonl`;
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ prompt: `row ${i}` }));
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    const first = await readDataset(path, { limit: 3 });
    assert.deepEqual(first.rows.map((row) => row.prompt), ["row 0", "row 1", "row 2"]);
    assert.equal(first.read, 3);
    const shuffled = await readDataset(path, { limit: 100, shuffle: createRandom(7) });
    const again = await readDataset(path, { limit: 100, shuffle: createRandom(7) });
    assert.equal(shuffled.read, 5000);
    assert.equal(shuffled.rows.length, 100);
    assert.deepEqual(shuffled.rows, again.rows);
    // A uniform sample of 5000 rows reaches past the first few hundred.
    const indices = shuffled.rows.map((row) => Number(row.prompt.slice(4)));
    assert.ok(Math.max(...indices) > 2500, String(indices));
    assert.equal(new Set(indices).size, 100);
  });
});

Deno.test("bad dataset input: one line naming the file, the line and what was expected", async () => {
  await rejects("missing.jsonl", /Cannot read --dataset '.*missing\.jsonl': no such file/);
  await rejects("bad_json.jsonl", /bad_json\.jsonl:2: it is not JSON, expected one JSON object/);
  await rejects("no_prompt.jsonl", /no_prompt\.jsonl:2: it has no prompt, expected a "prompt"/);
  await rejects("negative.jsonl", /negative\.jsonl:1: it has max_tokens -3, expected a whole/);
  await rejects("../help.txt", /unknown file type, expected a name ending in \.jsonl/);
  await rejects(
    "questions.csv",
    /no column 'prompt', expected one of question, limit, topic \(map columns with --dataset-field/,
  );
});

Deno.test("option values: FILE:WEIGHT and the field map, with clear refusals", () => {
  assert.deepEqual(datasetChoice("a.jsonl:2.5"), { path: "a.jsonl", weight: 2.5 });
  assert.deepEqual(datasetChoice("a.jsonl"), { path: "a.jsonl", weight: 1 });
  assert.deepEqual(datasetChoice("C:\\data\\a.jsonl"), { path: "C:\\data\\a.jsonl", weight: 1 });
  assert.throws(() => datasetChoice("a.jsonl:0"), /a weight > 0/);
  assert.throws(() => datasetFields("text=q"), /no field 'text'/);
  assert.throws(
    () => runConfig(["--dataset", "a.jsonl", "--prompt-text", "hi"]),
    /Cannot use --dataset together with --prompt-text: both give the prompts, choose one/,
  );
  assert.throws(
    () => runConfig(["--dataset-field", "prompt"]),
    /Invalid --dataset-field 'prompt': expected prompt=COLUMN/,
  );
});

Deno.test("every workload option is read from its flag", () => {
  const config = runConfig([
    "--dataset",
    "a.jsonl:3",
    "--dataset",
    "b.csv",
    "--dataset-field",
    "prompt=q,max_tokens=n",
    "--dataset-shuffle",
    "--dataset-limit",
    "50",
    "--dataset-max-tokens",
    "flag",
    "--max-context",
    "4096",
  ]);
  assert.deepEqual(config.datasets, [{ path: "a.jsonl", weight: 3 }, { path: "b.csv", weight: 1 }]);
  assert.deepEqual(config.datasetFields, { prompt: "q", maxTokens: "n" });
  assert.equal(config.datasetShuffle, true);
  assert.equal(config.datasetLimit, 50);
  assert.equal(config.datasetMaxTokens, "flag");
  assert.equal(config.maxContext, 4096);
  const lengths = runConfig([
    "--prompt-tokens-distribution",
    "exponential",
    "--prompt-tokens-range",
    "0.1",
    "--prompt-tokens-cap",
    "900",
  ]);
  assert.equal(lengths.promptTokensDistribution, "exponential");
  assert.equal(lengths.promptTokensRange, 0.1);
  assert.equal(lengths.promptTokensCap, 900);
  assert.throws(
    () => runConfig(["--prompt-tokens-distribution", "normal", "--prompt-text", "hi"]),
    /Cannot use --prompt-tokens-distribution with --prompt-text: only generated prompts/,
  );
  assert.throws(() => runConfig(["--prompt-tokens-cap", "-1"]), /--prompt-tokens-cap '-1'/);
  assert.throws(
    () => runConfig(["--prefix-tokens", "10", "--dataset", "a.jsonl"]),
    /Cannot use --prefix-tokens with --dataset: shared prefixes start generated prompts only/,
  );
  assert.throws(
    () => runConfig(["--prefix-tokens", "512"]),
    /the prefix is part of the prompt, expected --prefix-tokens below -p/,
  );
  const warnings: string[] = [];
  resolveRunConfig({ "prefix-groups": "3" }, { warn: (line) => warnings.push(line) });
  assert.deepEqual(warnings, ["--prefix-groups is ignored without --prefix-tokens"]);
});

Deno.test("the pool counts each row, drops rows over --max-context and refuses an empty result", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  const read = await readDataset(DIR + "prompts.jsonl", LIMIT);
  const input = { path: "prompts.jsonl", weight: 1, format: "jsonl" as const, read };
  const all = datasetPool([input], tokenizer, { rowMaxTokens: true, maxTokens: 64, chat: false });
  assert.deepEqual(
    all.pool.promptTokens,
    read.rows.map((row) => tokenizer.countPrompt(row.prompt)),
  );
  assert.deepEqual(all.pool.maxTokens, [5, 0, 9]);
  // Row b asks for -o 64, which puts it over 40; a and d ask for their own 5 and 9.
  const cut = datasetPool([input], tokenizer, {
    rowMaxTokens: true,
    maxTokens: 64,
    maxContext: 40,
    chat: false,
  });
  assert.equal(cut.facts.datasets![0].dropped.overContext, 1);
  assert.equal(cut.facts.prompts, 2);
  assert.match(
    describeWorkload(cut.facts),
    /^Dataset prompts\.jsonl: 2 of 4 rows, dropped 1 empty, 1 over --max-context; prompt tokens p50 \d+ p90 \d+ max \d+$/,
  );
  const flag = datasetPool([input], tokenizer, { rowMaxTokens: false, maxTokens: 64, chat: false });
  assert.deepEqual(flag.pool.maxTokens, [0, 0, 0]);
  const empty = await readDataset(DIR + "empty.jsonl", LIMIT);
  assert.throws(
    () =>
      datasetPool(
        [{ path: "empty.jsonl", weight: 1, format: "jsonl", read: empty }],
        tokenizer,
        { rowMaxTokens: true, maxTokens: 64, chat: false },
      ),
    (error: unknown) =>
      error instanceof UsageError &&
      /Cannot use --dataset 'empty\.jsonl': no rows left \(2 empty\)/.test(error.message),
  );
});

Deno.test("messages rows without --chat are refused, naming the file and a row", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  const read = await readDataset(DIR + "chat.jsonl", LIMIT);
  assert.throws(
    () =>
      datasetPool([{ path: "chat.jsonl", weight: 1, format: "jsonl", read }], tokenizer, {
        rowMaxTokens: true,
        maxTokens: 64,
        chat: false,
      }),
    /Cannot use --dataset 'chat\.jsonl' without --chat: its rows \(such as 'm1'\) are chat messages/,
  );
});

Deno.test("pool draws: shards stride through the rows; a mix follows its weights", () => {
  const pool: PromptPool = {
    prompts: ["a", "b", "c", "x"],
    promptTokens: [1, 1, 1, 1],
    maxTokens: [0, 0, 0, 0],
    groups: [{ start: 0, count: 3, weight: 1 }],
    order: "cycle",
  };
  const seen = [0, 1].flatMap((shardIndex) => {
    const draw = createPoolDraw(pool, createRandom(1), { shardIndex, shardCount: 2 });
    return [draw.next(), draw.next()];
  });
  assert.deepEqual(seen, [0, 2, 1, 0]);
  const mix = createPoolDraw(
    { ...pool, groups: [{ start: 0, count: 3, weight: 3 }, { start: 3, count: 1, weight: 1 }] },
    createRandom(3),
    { shardIndex: 0, shardCount: 1 },
  );
  let fromSecond = 0;
  for (let i = 0; i < 4000; i++) if (mix.next() === 3) fromSecond++;
  assert.ok(fromSecond > 850 && fromSecond < 1150, String(fromSecond));
  assert.deepEqual(tokenSpread([5, 1, 3, 2, 4]), { min: 1, p50: 3, p90: 5, max: 5 });
});

Deno.test("synthetic lengths: every pooled prompt has exactly its drawn token count", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  const { pool, facts } = syntheticPool(
    { distribution: "uniform", mean: 60, alpha: 0.5, cap: 80, jitter: 0 },
    tokenizer,
    createRandom(11),
  );
  assert.equal(pool.prompts.length, 256);
  pool.prompts.forEach((prompt, index) => {
    assert.equal(tokenizer.countPrompt(prompt), pool.promptTokens[index]);
    assert.ok(pool.promptTokens[index] >= 30 && pool.promptTokens[index] <= 80);
  });
  assert.ok(facts.prompts > 10, "distinct lengths");
  assert.equal(facts.promptTokensDistribution, "uniform(60, alpha=0.5, cap=80)");
});

Deno.test("shared prefixes: each pooled prompt starts with its group's prefix, exact in length", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  const { pool, facts } = syntheticPool(
    { distribution: "normal", mean: 120, alpha: 0.2, jitter: 0 },
    tokenizer,
    createRandom(4),
    { tokens: 40, groups: 3 },
  );
  const prefix = pool.prefix!;
  assert.equal(new Set(prefix.texts).size, 3);
  pool.prompts.forEach((prompt, index) => {
    assert.ok(prompt.startsWith(prefix.texts[index % 3] + " "));
    assert.equal(prefix.of[index], index % 3);
    assert.equal(tokenizer.countPrompt(prompt), pool.promptTokens[index]);
    assert.equal(pool.promptTokens[index] - 40, prefix.suffixTokens[index]);
  });
  assert.match(describeWorkload(facts), /each after one of 3 shared 40-token prefixes/);
});

Deno.test("end to end: the mock sees exactly the dataset's prompts, each row once, in file order", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--dataset",
      DIR + "prompts.jsonl",
      "-u",
      "1",
      "--max-requests",
      "3",
      "-o",
      "4",
      "-t",
      "20s",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const bodies = completionBodies(mock.records());
    assert.deepEqual(bodies.map((body) => [body.prompt, body.max_tokens]), [
      ["What is the capital of France?", 5],
      ["Write a haiku about the sea.", 4],
      ["Explain TCP slow start in two sentences.", 9],
    ]);
    assert.ok(run.log.some((line) => /^Dataset .*prompts\.jsonl: 3 of 4 rows/.test(line)));
    assert.equal(run.results.workload?.source, "dataset");
    assert.equal(run.results.workload?.datasets?.[0].dropped.empty, 1);
  });
});

Deno.test("end to end: with --chat, messages rows are sent as given", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--dataset",
      DIR + "chat.jsonl",
      "--chat",
      "-u",
      "1",
      "--max-requests",
      "2",
      "--dataset-max-tokens",
      "flag",
      "-o",
      "3",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const bodies = completionBodies(mock.records());
    assert.deepEqual(bodies[0].messages, [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Name a prime." },
    ]);
    assert.equal((bodies[1].messages as unknown[]).length, 3);
    assert.deepEqual(bodies.map((body) => body.max_tokens), [3, 3]);
  });
});

Deno.test("end to end: drawn prompt lengths reach the mock with exactly the drawn counts", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-p",
      "100",
      "--prompt-tokens-distribution",
      "normal",
      "--prompt-tokens-range",
      "0.2",
      "-u",
      "2",
      "--max-requests",
      "20",
      "-o",
      "2",
      "--seed",
      "5",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const counts = completionBodies(mock.records()).map((body) =>
      tokenizer.countPrompt(body.prompt as string)
    );
    assert.equal(counts.length, 20);
    assert.ok(new Set(counts).size > 3, String(counts));
    // The server's counts match the local ones, request by request and in total.
    assert.equal(run.results.tokens.promptMismatches.count, 0);
    assert.equal(run.results.tokens.prompt, counts.reduce((sum, count) => sum + count, 0));
    assert.equal(run.results.workload?.source, "generated");
  });
});

Deno.test("end to end: requests share G prefixes of N tokens; --prompt-randomize varies the rest", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "-p",
      "90",
      "--prefix-tokens",
      "30",
      "--prefix-groups",
      "2",
      "--prompt-randomize",
      "-u",
      "2",
      "--max-requests",
      "24",
      "-o",
      "2",
      "--seed",
      "9",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const prompts = completionBodies(mock.records()).map((body) => body.prompt as string);
    assert.equal(prompts.length, 24);
    const prefixes = prompts.map((prompt) =>
      tokenizer.decode(tokenizer.encode(prompt).slice(0, 30))
    );
    assert.equal(new Set(prefixes).size, 2, "two shared prefixes");
    assert.equal(new Set(prompts).size, 24, "every request its own suffix");
    for (const prompt of prompts) assert.equal(tokenizer.countPrompt(prompt), 90);
    assert.deepEqual(run.results.workload?.prefix, { tokens: 30, groups: 2 });
  });
});

Deno.test("end to end: a bad dataset stops the run before the server sees any request", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    await assert.rejects(
      runAgainst(mock, ["--dataset", DIR + "no_prompt.jsonl", "--max-requests", "2"]),
      (error: unknown) => error instanceof UsageError && /no_prompt\.jsonl:2/.test(error.message),
    );
    assert.deepEqual(mock.records(), []);
  });
});

Deno.test("ShareGPT files are streamed: a limited read stops before the rest of the file", async () => {
  await withTempDir(async (dir) => {
    const conversation = (i: number) =>
      JSON.stringify({ id: `c${i}`, conversations: [{ from: "human", value: `question ${i}` }] });
    // Read whole, this file is not JSON: its tail is cut off. A stream never reaches the tail.
    const rows = Array.from({ length: 20_000 }, (_, i) => conversation(i)).join(",\n");
    const path = `${dir}/big.json`;
    await Deno.writeTextFile(path, `[\n${rows},\n{"conversations": [`);
    const read = await readDataset(path, { limit: 3 });
    assert.deepEqual(read.rows.map((row) => [row.id, row.prompt]), [
      ["c0", "question 0"],
      ["c1", "question 1"],
      ["c2", "question 2"],
    ]);
    assert.equal(read.read, 3);
    await assert.rejects(
      readDataset(path, { limit: 100_000 }),
      (error: unknown) =>
        error instanceof UsageError &&
        error.message ===
          `Cannot read --dataset '${path}': the JSON ends early, expected a ShareGPT JSON array ` +
            `of {"conversations": [...]}`,
    );
    const problems: [string, RegExp][] = [
      [`{"conversations": []}`, /: not an array, expected a ShareGPT JSON array/],
      [`[${conversation(0)}, {"conversations": [}]`, /: not JSON in conversation 2 \(/],
      [`[${conversation(0)}, 7]`, /: conversation 2: it has no "conversations" array/],
      [`  \n`, /: empty, expected a ShareGPT JSON array/],
    ];
    for (const [text, pattern] of problems) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(readDataset(path, { limit: 10 }), pattern, text);
    }
  });
});
