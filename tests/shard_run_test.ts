/**
 * Distributed runs: `--shard I/N`, `--shard-from-env` and `--start-at`. The split rules across
 * processes and Workers, the options' bad input, and four real llmload processes against one
 * mock whose records must add up to one process's load, started on one instant.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseCommandLine } from "../cli/command_line.ts";
import { UsageError } from "../common/errors.ts";
import { shardUsers, shareOf, workerShard } from "../load/sharding.ts";
import { createArrivals } from "../load/schedule.ts";
import { createRandom } from "../load/random.ts";
import { createPoolDraw, type PromptPool } from "../load/prompt_pool.ts";
import { readTrace, shardTrace } from "../load/trace.ts";
import { mergeResults } from "../output/merge.ts";
import type { Results } from "../output/results.ts";
import { planStart } from "../run/start_at.ts";
import { completionRecords, runAgainst, withMock, withTempDir } from "./_harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Every user or arrival index exactly once over processes with these Worker counts. */
function assertPartition(total: number, workersPerProcess: readonly number[]) {
  const count = workersPerProcess.length;
  const seen: number[] = [];
  workersPerProcess.forEach((workers, index) => {
    for (let worker = 0; worker < workers; worker++) {
      const { shardIndex, shardCount } = workerShard({ index, count }, worker, workers);
      seen.push(...shardUsers(total, shardIndex, shardCount));
    }
    const own = seen.filter((user) => user % count === index).length;
    assert.equal(own, shareOf(total, { index, count }), `process ${index}'s share`);
  });
  assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
}

Deno.test("processes split their share over their Workers: each user once, whatever the Worker counts", () => {
  assertPartition(100, [1, 1, 1, 1]);
  assertPartition(100, [2, 3, 1, 4]);
  assertPartition(7, [3, 1, 2]);
  assertPartition(1, [1, 2]);
  assert.deepEqual(workerShard(undefined, 2, 3), { shardIndex: 2, shardCount: 3 });
  assert.equal(shareOf(10, undefined), 10);
  assert.equal(shareOf(3, { index: 3, count: 4 }), 0);
});

Deno.test("constant QPS timelines of 2 processes with 2 and 3 Workers interleave into one", () => {
  const offsets: number[] = [];
  for (const [index, workers] of [[0, 2], [1, 3]] as const) {
    for (let worker = 0; worker < workers; worker++) {
      const split = workerShard({ index, count: 2 }, worker, workers);
      const arrivals = createArrivals(
        { qps: 60, distribution: "constant", ...split },
        createRandom(1),
      );
      for (let next = arrivals.next(); next < 1000; next = arrivals.next()) offsets.push(next);
    }
  }
  offsets.sort((a, b) => a - b);
  assert.equal(offsets.length, 60);
  offsets.forEach((offset, k) => assert.ok(Math.abs(offset - (k * 1000) / 60) < 1e-9));
});

Deno.test("dataset rows (cycle order) and trace rows split over processes and Workers cover each once", async () => {
  const trace = await readTrace(
    new URL("./testdata/traces/mooncake.jsonl", import.meta.url).pathname,
  );
  const rows = trace.count;
  const pool: PromptPool = {
    prompts: Array.from({ length: rows }, (_, i) => `row ${i}`),
    promptTokens: Array(rows).fill(1),
    maxTokens: Array(rows).fill(0),
    groups: [{ start: 0, count: rows, weight: 1 }],
    order: "cycle",
  };
  const rowOf = new Map(Array.from({ length: rows }, (_, i) => [trace.offsets[i], i]));
  const drawn: number[] = [];
  const replayed: number[] = [];
  for (const [index, workers] of [[0, 2], [1, 1], [2, 3]] as const) {
    for (let worker = 0; worker < workers; worker++) {
      const split = workerShard({ index, count: 3 }, worker, workers);
      const draw = createPoolDraw(pool, createRandom(1), split);
      const share = shareOf(rows, { index: split.shardIndex, count: split.shardCount });
      for (let i = 0; i < share; i++) drawn.push(draw.next());
      const part = shardTrace(trace, split.shardIndex, split.shardCount);
      replayed.push(...Array.from({ length: part.count }, (_, i) => rowOf.get(part.offsets[i])!));
    }
  }
  const every = Array.from({ length: rows }, (_, i) => i);
  assert.deepEqual(drawn.sort((a, b) => a - b), every);
  assert.deepEqual(replayed.sort((a, b) => a - b), every);
});

function parseError(args: string[], env: Record<string, string> = {}): string {
  try {
    parseCommandLine(args, { env, version: "test" });
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    assert.ok(!error.message.includes("\n"), "one line");
    return error.message;
  }
  assert.fail(`${args.join(" ")} was accepted`);
}

Deno.test("bad --shard, --start-at and --shard-from-env input gets one line saying what is right", () => {
  const at = ["--start-at", "2026-12-02T18:00:00Z"];
  assert.match(parseError(["--shard", "3/2", ...at]), /--shard '3\/2'.*0 <= I < N, such as 0\/4/);
  assert.match(parseError(["--shard", "0/0", ...at]), /--shard '0\/0'.*N >= 1/);
  assert.match(parseError(["--shard", "1/4"]), /without --start-at.*same --start-at/);
  assert.match(parseError(["--start-at", "tomorrow"]), /RFC 3339.*epoch milliseconds/);
  assert.match(parseError(["--start-at", "2026-12-02T18:00:00"]), /RFC 3339 time with its offset/);
  assert.match(parseError(["--shard-from-env", ...at]), /JOB_COMPLETION_INDEX with LLMLOAD_SHARDS/);
  assert.match(
    parseError(["--shard-from-env", ...at], { JOB_COMPLETION_INDEX: "2" }),
    /LLMLOAD_SHARDS beside JOB_COMPLETION_INDEX=2/,
  );
  assert.match(
    parseError(["--shard-from-env", ...at], { SLURM_PROCID: "4", SLURM_NTASKS: "4" }),
    /SLURM_PROCID from 0 to SLURM_NTASKS - 1/,
  );
  assert.match(
    parseError(["--shard", "0/2", "--shard-from-env", ...at]),
    /--shard together with --shard-from-env/,
  );
});

Deno.test("--shard-from-env reads an Indexed Job's or Slurm's variables; LLMLOAD_SHARD is --shard", () => {
  const at = ["--start-at", "1796234400000", "--warmup", "0"];
  const env = (vars: Record<string, string>, args = ["--shard-from-env", ...at]) => {
    const parsed = parseCommandLine(args, { env: vars, version: "test" });
    assert.ok(parsed.kind === "run");
    assert.deepEqual(parsed.warnings, []);
    return parsed.config;
  };
  assert.deepEqual(env({ JOB_COMPLETION_INDEX: "3", LLMLOAD_SHARDS: "8" }).shard, {
    index: 3,
    count: 8,
  });
  assert.deepEqual(env({ SLURM_PROCID: "1", SLURM_NTASKS: "2" }).shard, { index: 1, count: 2 });
  assert.deepEqual(env({ LLMLOAD_SHARD: "2/5" }, at).shard, { index: 2, count: 5 });
  assert.equal(env({}, at).shard, undefined);
  assert.equal(env({}, at).startAt, Date.parse("2026-12-02T18:00:00Z"));
});

Deno.test("a --start-at that passed longer ago than -t is refused; a late one joins the timeline", () => {
  const config = { startAt: 10_000, runTimeMs: 5_000 };
  assert.throws(() => planStart(config, 15_000, 20), /passed 5s ago, more than -t 5s/);
  assert.deepEqual(planStart(config, 10_250, 20), { startAt: 10_000, lateMs: 250 });
  assert.deepEqual(planStart(config, 9_000, 20), { startAt: 10_000, lateMs: 0 });
  assert.deepEqual(planStart({}, 9_000, 20), { startAt: 9_020, lateMs: 0 });
});

Deno.test("a run whose --start-at is long past sends nothing and says why", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const past = String(Date.now() - 60_000);
    await assert.rejects(
      runAgainst(mock, ["-t", "2s", "--shard", "0/2", "--start-at", past, "--warmup", "0"]),
      (error: Error) => error instanceof UsageError && /more than -t 2s/.test(error.message),
    );
    assert.equal(completionRecords(mock.records()).length, 0);
  });
});

/** The load of the process test: a constant-rate timeline of `REQUESTS` sends `GAP_MS` apart. */
const QPS = 40;
const REQUESTS = 40;
const GAP_MS = 1000 / QPS;
const LOAD = [
  "--qps",
  String(QPS),
  "-u",
  "8",
  "--max-requests",
  String(REQUESTS),
  "-t",
  "30s",
  "--max-tokens",
  "8",
  "-p",
  "32",
  "--warmup",
  "0",
  "--seed",
  "7",
];
// Four processes start Deno and load tiktoken each; on a busy 2-core runner that takes seconds.
const LEAD_MS = 20_000;

async function runShardProcess(host: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "-H", host, ...LOAD, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const log = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, log);
  return log;
}

Deno.test({
  name: "4 llmload processes with --shard i/4 --start-at send one process's load, together",
  sanitizeResources: false,
  async fn() {
    await withMock({ ttftMs: 20, itlMs: 5 }, (mock) =>
      withTempDir(async (dir) => {
        const startAt = Date.now() + LEAD_MS;
        const logs = await Promise.all([0, 1, 2, 3].map((index) =>
          runShardProcess(mock.url, [
            "--shard",
            `${index}/4`,
            "--start-at",
            String(startAt),
            "--json",
            `${dir}/shard-${index}.json`,
          ])
        ));
        for (const log of logs) assert.doesNotMatch(log, /Late by/, "every shard was on time");
        const sharded = completionRecords(mock.records());
        // No request lost or doubled: each slot of the one timeline got exactly one request.
        assert.equal(sharded.length, REQUESTS);
        const offsets = sharded.map((record) => record.receivedAt - startAt).sort((a, b) => a - b);
        offsets.forEach((offset, k) => {
          assert.ok(offset >= k * GAP_MS - 1, `request ${k} came ${offset} ms after the start`);
        });
        const files = await Promise.all([0, 1, 2, 3].map(async (index) => {
          const name = `${dir}/shard-${index}.json`;
          return { name, results: JSON.parse(await Deno.readTextFile(name)) as Results };
        }));
        // The start instants: each shard's first request (slots 0..3) against its intended
        // send, within 10 ms of each other beyond the event-loop lag the shards' own client
        // monitors measured (a busy host's scheduler can stall a process for longer than that).
        const allowance = 10 + hostDelayMs(files.map((file) => file.results));
        const firstLateness = offsets.slice(0, 4).map((offset, k) => offset - k * GAP_MS);
        assert.ok(
          Math.max(...firstLateness) - Math.min(...firstLateness) <= allowance,
          `first sends ${firstLateness.map((ms) => ms.toFixed(1)).join(", ")} ms late, ` +
            `allowed a spread of ${allowance.toFixed(1)} ms`,
        );

        mock.clearRecords();
        const single = await runAgainst(mock, LOAD);
        const alone = completionRecords(mock.records());
        assert.equal(alone.length, sharded.length);
        const tokens = (records: typeof alone) => records.reduce((sum, r) => sum + r.tokens, 0);
        assert.equal(tokens(sharded), tokens(alone));

        assertSameLoad(mergeResults(files), single.results, allowance);
      }));
  },
});

/**
 * The worst event-loop lag the runs' client monitors measured: a send due on a timer can be late
 * by that much on a busy host, whatever llmload does.
 */
function hostDelayMs(runs: readonly Results[]): number {
  return Math.max(0, ...runs.map((run) => run.client?.peakLoopLagMs ?? 0));
}

/** Counts exact; token counts' percentiles equal; time percentiles as close as the host allows. */
function assertSameLoad(merged: Results, single: Results, allowanceMs: number) {
  assert.deepEqual(merged.requests, single.requests);
  assert.equal(merged.tokens.output, single.tokens.output);
  assert.equal(merged.tokens.prompt, single.tokens.prompt);
  assert.deepEqual(merged.failures, single.failures);
  for (const name of ["num_tokens", "prompt_tokens"] as const) {
    assert.deepEqual(merged.metrics[name], single.metrics[name], name);
  }
  const allowance = allowanceMs + hostDelayMs([single]);
  for (const name of ["ttft", "total_latency", "itl"] as const) {
    assert.equal(merged.metrics[name]?.count, single.metrics[name]?.count, `${name} count`);
    // Two runs of the same load differ by the mock's and the scheduler's timing.
    const gap = Math.abs(merged.metrics[name]!.p50 - single.metrics[name]!.p50);
    assert.ok(
      gap <= allowance,
      `${name} p50 ${merged.metrics[name]!.p50} vs ${single.metrics[name]!.p50}`,
    );
  }
}
