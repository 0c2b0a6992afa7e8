/**
 * `llmload merge`: shards' results built from real recorders merge into exactly what one
 * aggregate of every request gives, associatively; bad merges are refused with one line; the
 * command writes the merged JSON, HTML and CSV row.
 *
 * @module
 */
import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import { createRandom } from "../load/random.ts";
import { mergeResults, type NamedResults } from "../output/merge.ts";
import { buildResults, type Results } from "../output/results.ts";
import { runMergeCommand } from "../cli/merge.ts";
import type { RequestFailure, RequestRecord } from "../request/types.ts";
import { runConfig } from "./_fixtures.ts";
import { aggregateOf, requestRecord } from "./_server_harness.ts";
import { withTempDir } from "./_harness.ts";

const START = Date.parse("2026-12-02T18:00:00Z");
const SHARDS = 4;

/** Requests with drawn latencies and lengths, and a few failures, for shard `index`. */
function shardRequests(index: number): { records: RequestRecord[]; failures: RequestFailure[] } {
  const random = createRandom(100 + index);
  const records = Array.from(
    { length: 200 + 37 * index },
    () =>
      requestRecord(20 + random.exponential(40), {
        itlMs: 5 + random.uniform(0, 20),
        tokens: 2 + Math.floor(random.uniform(0, 60)),
      }),
  );
  const failures: RequestFailure[] = Array.from({ length: index }, () => ({
    kind: "http_5xx",
    status: 503,
    message: "overloaded",
  }));
  return { records, failures };
}

function shardResults(index: number, args: string[] = []): Results {
  const { records, failures } = shardRequests(index);
  const config = runConfig([
    "--shard",
    `${index}/${SHARDS}`,
    "--start-at",
    String(START),
    "--warmup",
    "0",
    "--json",
    `shard-${index}.json`,
    ...args,
  ]);
  return buildResults(aggregateOf(records, failures, index), {
    provider: "vllm",
    model: "m",
    config,
    startedAt: START,
    endedAt: START + 10_000 + 25 * index,
    durationMs: 10_000 + 25 * index,
    warnings: [`warning of shard ${index}`],
  });
}

function named(results: Results, name: string): NamedResults {
  return { name, results };
}

const shards = () =>
  Array.from({ length: SHARDS }, (_, index) => named(shardResults(index), `s${index}.json`));

/** Exact percentile of sorted values, as HDR approximates it (the value at rank ceil(p·n)). */
function exactPercentile(sorted: readonly number[], percentile: number): number {
  return sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)];
}

Deno.test("merged shards equal one aggregate of every request: counts exact, percentiles HDR's", () => {
  const merged = mergeResults(shards());
  const all = Array.from({ length: SHARDS }, (_, index) => shardRequests(index));
  const records = all.flatMap((part) => part.records);
  const failures = all.flatMap((part) => part.failures);
  const single = buildResults(aggregateOf(records, failures, 0 + 1 + 2 + 3), {
    provider: "vllm",
    model: "m",
    config: runConfig(["--warmup", "0"]),
    startedAt: START,
    endedAt: START + 10_075,
    durationMs: 10_075,
  });
  assert.deepEqual(merged.requests, single.requests);
  assert.deepEqual(merged.tokens, single.tokens);
  assert.deepEqual(merged.failures, single.failures);
  assert.equal(merged.capped, single.capped);
  assert.deepEqual(merged.throughput, single.throughput, "rates over the union of the windows");
  assert.equal(merged.durationMs, 10_075);
  assert.deepEqual(Object.keys(merged.metrics), Object.keys(single.metrics));
  for (const [name, metric] of Object.entries(merged.metrics)) {
    const { mean, ...rest } = metric;
    const { mean: singleMean, ...singleRest } = single
      .metrics[name as keyof typeof merged.metrics]!;
    assert.deepEqual(rest, singleRest, name);
    assert.ok(Math.abs(mean - singleMean) <= 1e-9 * Math.abs(singleMean), `${name} mean`);
  }
  // Against the exact percentiles of the raw values: within HDR's 3 significant digits.
  const ttft = records.map((record) => record.ttft!).sort((a, b) => a - b);
  for (const [key, percentile] of [["p50", 50], ["p90", 90], ["p99", 99]] as const) {
    const exact = exactPercentile(ttft, percentile);
    const got = merged.metrics.ttft![key];
    assert.ok(Math.abs(got - exact) <= exact * 1e-3 + 1e-3, `ttft ${key} ${got} vs ${exact}`);
  }
  assert.deepEqual(merged.shards, {
    count: 4,
    indices: [0, 1, 2, 3],
    startAt: "2026-12-02T18:00:00.000Z",
  });
  assert.equal(merged.config.shard, undefined);
  assert.equal(merged.config.jsonFile, undefined);
  assert.deepEqual(merged.warnings, [0, 1, 2, 3].map((i) => `Shard ${i}: warning of shard ${i}`));
});

/** The results with means rounded to 12 digits (sums of floats in another order) and no encoding. */
function comparable(results: Results): unknown {
  const { histograms: _histograms, ...rest } = results;
  return JSON.parse(
    JSON.stringify(
      rest,
      (key, value) =>
        key === "mean" || key.endsWith("PerSec") ? Number(value.toPrecision(12)) : value,
    ),
  );
}

Deno.test("merge is associative: merging merged files gives the merge of all shards", () => {
  const [a, b, c, d] = shards();
  const all = mergeResults([a, b, c, d]);
  const pairs = mergeResults([
    named(mergeResults([a, b]), "ab.json"),
    named(mergeResults([c, d]), "cd.json"),
  ]);
  const chain = mergeResults([
    named(mergeResults([named(mergeResults([d, b]), "db.json"), a]), "dba.json"),
    c,
  ]);
  assert.deepEqual(comparable(pairs), comparable(all));
  assert.deepEqual(comparable(chain), comparable(all));
});

function refusal(files: NamedResults[], options = {}): string {
  try {
    mergeResults(files, options);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    assert.ok(!error.message.includes("\n"), "one line");
    return error.message;
  }
  assert.fail("the merge was accepted");
}

Deno.test("merges of other tools, versions, schemas or runs, or a shard twice, are refused", () => {
  const [a, b] = shards();
  const other = (change: (results: Results) => void) => {
    const results = structuredClone(b.results);
    change(results);
    return named(results, "other.json");
  };
  assert.match(
    refusal([a, other((r) => r.tool.name = "genai-perf")]),
    /other\.json: it was not written by llmload \(tool genai-perf\)/,
  );
  assert.match(
    refusal([a, other((r) => r.tool.version = "9.9.9")]),
    /other\.json \(llmload 9\.9\.9\) with s0\.json \(llmload 0\.1\.0\): different versions/,
  );
  assert.match(
    refusal([a, other((r) => (r as { schemaVersion: number }).schemaVersion = 2)]),
    /other\.json: results schema 2, this llmload reads schema 1/,
  );
  assert.match(
    refusal([a, other((r) => r.shards!.startAt = "2026-12-02T19:00:00.000Z")]),
    /other\.json with s0\.json: they are of different runs \(4 shards from 2026-12-02T19:00/,
  );
  assert.match(
    refusal([a, other((r) => r.shards!.count = 8)]),
    /different runs \(8 shards from .* against 4 shards/,
  );
  assert.match(
    refusal([a, named(a.results, "again.json")]),
    /shard 0 is in both s0\.json and again\.json/,
  );
  assert.match(
    refusal([a, other((r) => delete r.shards)]),
    /other\.json: it is not a shard's results \(no shards section\)/,
  );
});

Deno.test("differing configs need --force, which says how they differ; a missing shard is a warning", () => {
  const [a, b, c] = shards();
  const faster = named(shardResults(1, ["-u", "16"]), "s1-fast.json");
  assert.match(
    refusal([a, faster]),
    /configurations differ: users \(1 in s0\.json, 16 in s1-fast\.json\); .*--force/,
  );
  const forced = mergeResults([a, faster], { force: true });
  assert.ok(forced.warnings.some((w) => /--force although .*users \(1 in s0\.json/.test(w)));
  const partial = mergeResults([a, b, c]);
  assert.deepEqual(partial.shards?.indices, [0, 1, 2]);
  assert.ok(partial.warnings.includes(
    "Merge: shard 3 of 4 is missing: these results hold 3 of the 4 shards' load",
  ));
});

Deno.test("llmload merge writes the merged JSON, HTML and CSV row; bad files are one line", async () => {
  await withTempDir(async (dir) => {
    const paths = await Promise.all(
      shards().map(async ({ results }, index) => {
        const path = `${dir}/shard-${index}.json`;
        await Deno.writeTextFile(path, JSON.stringify(results));
        return path;
      }),
    );
    const out: string[] = [];
    const log: string[] = [];
    const output = { out: (text: string) => out.push(text), log: (line: string) => log.push(line) };
    const code = await runMergeCommand({
      files: paths,
      jsonFile: `${dir}/merged.json`,
      htmlFile: `${dir}/merged.html`,
      summaryFile: `${dir}/summary.csv`,
      force: false,
    }, output);
    assert.equal(code, 1, "shards 1..3 had failures, as a run's exit code says");
    const written = JSON.parse(await Deno.readTextFile(`${dir}/merged.json`)) as Results;
    assert.deepEqual(comparable(written), comparable(mergeResults(shards())));
    assert.match(await Deno.readTextFile(`${dir}/merged.html`), /<html/i);
    const csv = (await Deno.readTextFile(`${dir}/summary.csv`)).trim().split("\n");
    assert.equal(csv.length, 2);
    assert.match(out.join("\n"), /Num Requests\s+: 1022/);
    assert.ok(log.includes(`Merged results written to ${dir}/merged.json`));

    const shardDir = `${dir}/shards`;
    await Deno.mkdir(shardDir);
    for (const [index, path] of paths.entries()) {
      await Deno.copyFile(path, `${shardDir}/s${index}.json`);
    }
    const fromFolder = { files: [shardDir], jsonFile: `${dir}/folder.json`, force: false };
    assert.equal(await runMergeCommand(fromFolder, output), 1);
    const viaFolder = JSON.parse(await Deno.readTextFile(`${dir}/folder.json`)) as Results;
    assert.deepEqual(comparable(viaFolder), comparable(written), "a folder merges its .json files");

    await Deno.writeTextFile(`${dir}/bad.json`, "{not json");
    const run = (files: string[]) => runMergeCommand({ files, force: false }, output);
    await assert.rejects(run([paths[0], `${dir}/bad.json`]), /bad\.json: it is not JSON/);
    await assert.rejects(run([`${dir}/none.json`]), /Cannot read results file .*none\.json/);
  });
});
