import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import {
  blocksOf,
  parseAzureTimestamp,
  readTrace,
  shardTrace,
  traceFormat,
} from "../load/trace.ts";
import type { Trace } from "../load/trace.ts";
import { createTracePrompts } from "../load/trace_prompt.ts";
import { loadTokenizer } from "../load/tokenizer.ts";
import { createRandom } from "../load/random.ts";
import { traceSendOffset } from "../load/schedule.ts";
import { traceWindow } from "../options/parsers.ts";
import { checkTracePrompts } from "../run/plan.ts";
import { completionRecords, runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { parseCommandLine } from "../cli/command_line.ts";
import type { MockRecord } from "../mock/server.ts";

const MOONCAKE = "tests/testdata/traces/mooncake.jsonl";
const AZURE = "tests/testdata/traces/azure_code.csv";

/** How late a send may arrive at the mock: the tolerance the QPS and burst tests use. */
const SEND_LAG_MS = 50;

function completions(records: MockRecord[]): MockRecord[] {
  return completionRecords(records).sort((a, b) => a.receivedAt - b.receivedAt);
}

/** Each request's arrival, in ms after the first one's. */
function arrivals(records: MockRecord[]): number[] {
  return records.map((record) => record.receivedAt - records[0].receivedAt);
}

function assertNear(actual: readonly number[], expected: readonly number[], tolerance: number) {
  assert.equal(actual.length, expected.length, `arrivals ${actual}`);
  actual.forEach((at, i) =>
    assert.ok(
      Math.abs(at - expected[i]) <= tolerance,
      `request ${i} at ${at}, expected ${expected}`,
    )
  );
}

function rows(trace: Trace) {
  return Array.from({ length: trace.count }, (_, i) => ({
    offset: trace.offsets[i],
    input: trace.inputLengths[i],
    output: trace.outputLengths[i],
    blocks: [...blocksOf(trace, i)],
  }));
}

Deno.test("a Mooncake JSONL trace is read with its times, lengths and blocks", async () => {
  const trace = await readTrace(MOONCAKE);
  assert.deepEqual(rows(trace), [
    { offset: 0, input: 1100, output: 5, blocks: [0, 1, 2] },
    { offset: 200, input: 300, output: 3, blocks: [3] },
    { offset: 400, input: 1300, output: 7, blocks: [0, 1, 4] },
    { offset: 650, input: 600, output: 2, blocks: [0, 5] },
    { offset: 900, input: 40, output: 4, blocks: [] },
    { offset: 1200, input: 512, output: 6, blocks: [6] },
  ]);
});

Deno.test("an Azure CSV trace is read with offsets from its datetime timestamps", async () => {
  const trace = await readTrace(AZURE);
  const read = rows(trace);
  assert.deepEqual(read.map((row) => [row.input, row.output, row.blocks]), [
    [374, 44, []],
    [396, 10, []],
    [879, 3, []],
    [91, 21, []],
    [1523, 8, []],
  ]);
  const expected = [0, 250.02, 600, 819.41, 1200];
  read.forEach((row, i) => assert.ok(Math.abs(row.offset - expected[i]) < 1e-3, `${row.offset}`));
  assert.equal(parseAzureTimestamp("1970-01-01 00:00:01.5"), 1500);
  assert.equal(parseAzureTimestamp("2023-02-30 00:00:00"), undefined);
});

Deno.test("the format is told by the extension, else by the first character", () => {
  assert.equal(traceFormat("a.jsonl", "TIMESTAMP"), "mooncake");
  assert.equal(traceFormat("a.CSV", "{"), "azure");
  assert.equal(traceFormat("a.txt", '  {"timestamp": 0}'), "mooncake");
  assert.equal(traceFormat("a", "TIMESTAMP,ContextTokens,GeneratedTokens"), "azure");
});

Deno.test("a window replays a slice, its offsets counted from the slice's start", async () => {
  const trace = await readTrace(MOONCAKE, { window: traceWindow("200ms:1s") });
  assert.deepEqual(rows(trace).map((row) => [row.offset, row.input]), [
    [0, 300],
    [200, 1300],
    [450, 600],
    [700, 40],
  ]);
  const tail = await readTrace(AZURE, { window: traceWindow("0.6s:") });
  assert.deepEqual(rows(tail).map((row) => row.input), [879, 91, 1523]);
});

Deno.test("--trace-window and the replay speed", () => {
  assert.deepEqual(traceWindow("10s:70s"), { startMs: 10_000, endMs: 70_000 });
  assert.deepEqual(traceWindow(":5min"), { startMs: 0, endMs: 300_000 });
  assert.deepEqual(traceWindow("1h:"), { startMs: 3_600_000 });
  for (const bad of ["10s", ":", "70s:10s", "a:b", "1:2:3"]) {
    assert.throws(() => traceWindow(bad), /START:END durations/, bad);
  }
  assert.equal(traceSendOffset(3000, 2), 1500);
  assert.equal(traceSendOffset(3000, 0.5), 6000);
  assert.throws(() => traceSendOffset(1, 0), RangeError);
});

Deno.test("shards take every k-th request of the trace, with its blocks", async () => {
  const trace = await readTrace(MOONCAKE);
  const [even, odd] = [shardTrace(trace, 0, 2), shardTrace(trace, 1, 2)];
  assert.deepEqual(rows(even).map((row) => [row.offset, row.blocks]), [
    [0, [0, 1, 2]],
    [400, [0, 1, 4]],
    [900, []],
  ]);
  assert.deepEqual(rows(odd).map((row) => [row.offset, row.blocks]), [
    [200, [3]],
    [650, [0, 5]],
    [1200, [6]],
  ]);
});

/** The message `readTrace` refuses `text` (written to a file named `name`) with. */
async function refusal(name: string, text: string, window?: string): Promise<string> {
  return await withTempDir(async (dir) => {
    const file = `${dir}/${name}`;
    await Deno.writeTextFile(file, text);
    const error = await readTrace(file, { window: window ? traceWindow(window) : undefined })
      .then(() => undefined, (error) => error);
    assert.ok(error instanceof UsageError, `${name} was accepted: ${text}`);
    return error.message.replace(dir, "DIR");
  });
}

Deno.test("every bad trace is refused with the file, the line and what was expected", async () => {
  const ok = '{"timestamp": 0, "input_length": 10, "output_length": 2}\n';
  const cases: Array<[string, string, string | RegExp]> = [
    [
      "t.jsonl",
      ok + '{"timestamp": -5, "input_length": 10, "output_length": 2}',
      "Invalid --trace file 'DIR/t.jsonl' line 2: timestamp is '-5', expected a number of " +
      "milliseconds >= 0",
    ],
    [
      "t.jsonl",
      '{"timestamp": 100, "input_length": 10, "output_length": 2}\n' + ok,
      "Invalid --trace file 'DIR/t.jsonl' line 2: timestamp 0 ms is before the previous row's " +
      "100 ms, expected rows in time order",
    ],
    [
      "t.jsonl",
      ok + '{"timestamp": 1, "input_length": -3, "output_length": 2}',
      "Invalid --trace file 'DIR/t.jsonl' line 2: input_length is '-3', expected a whole number " +
      "of tokens of at least 1",
    ],
    [
      "t.jsonl",
      '{"timestamp": 1, "input_length": 10}',
      "Invalid --trace file 'DIR/t.jsonl' line 1: output_length is missing, expected a whole " +
      "number of tokens of at least 1",
    ],
    [
      "t.jsonl",
      '{"timestamp": "soon", "input_length": 10, "output_length": 2}',
      "Invalid --trace file 'DIR/t.jsonl' line 1: timestamp is '\"soon\"', expected a number of " +
      "milliseconds >= 0",
    ],
    [
      "t.jsonl",
      ok + "\n" + "{not json",
      /^Invalid --trace file 'DIR\/t\.jsonl' line 3: not JSON, expected a JSON object such as/,
    ],
    [
      "t.jsonl",
      "[1, 2]",
      /^Invalid --trace file 'DIR\/t\.jsonl' line 1: not a JSON object, expected/,
    ],
    [
      "t.jsonl",
      '{"timestamp": 1, "input_length": 10, "output_length": 2, "hash_ids": [1, -2]}',
      "Invalid --trace file 'DIR/t.jsonl' line 1: hash_ids is '[1,-2]', expected a list of " +
      "whole numbers >= 0",
    ],
    [
      "t.csv",
      "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,10,x",
      "Invalid --trace file 'DIR/t.csv' line 2: GeneratedTokens is '\"x\"', expected a whole " +
      "number of tokens of at least 1",
    ],
    [
      "t.csv",
      "TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,10,2",
      "Invalid --trace file 'DIR/t.csv' line 2: TIMESTAMP is '\"yesterday\"', expected a date " +
      "and time such as 2023-11-16 18:15:46.6805900",
    ],
    [
      "t.csv",
      "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:47,10,2\n2023-11-16 18:15:46,10,2",
      /^Invalid --trace file 'DIR\/t\.csv' line 3: timestamp \d+ ms is before the previous row's/,
    ],
    [
      "t.csv",
      "TIMESTAMP,Tokens\n2023-11-16 18:15:47,10",
      "Invalid --trace file 'DIR/t.csv' line 1: the header has no ContextTokens, " +
      "GeneratedTokens, expected TIMESTAMP,ContextTokens,GeneratedTokens (the Azure LLM " +
      "inference trace)",
    ],
    [
      "t.csv",
      "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:47,10",
      /^Invalid --trace file 'DIR\/t\.csv': Invalid Record Length/,
    ],
    [
      "t.jsonl",
      "\n",
      "Invalid --trace file 'DIR/t.jsonl': no requests in it, expected JSON lines",
    ],
  ];
  for (const [name, text, expected] of cases) {
    const message = await refusal(name, text);
    if (typeof expected === "string") assert.equal(message, expected);
    else assert.match(message, expected);
  }
  assert.equal(
    await refusal("t.jsonl", ok, "10s:20s"),
    "Invalid --trace-window for 'DIR/t.jsonl': no request of the trace falls inside it (the " +
      "trace spans 0s), expected a window within that",
  );
  await assert.rejects(
    readTrace("tests/testdata/traces/missing.jsonl"),
    (error) =>
      error instanceof UsageError &&
      error.message.startsWith("Cannot read --trace file 'tests/testdata/traces/missing.jsonl': "),
  );
});

Deno.test("trace prompts: exact lengths, shared blocks share the prefix, filler is each's own", async () => {
  const tokenizer = await loadTokenizer("o200k_base");
  const prompts = createTracePrompts(tokenizer, createRandom(1));
  const first = prompts.prompt([0, 1, 2], 1100);
  const second = prompts.prompt([0, 1, 4], 1300);
  const alone = prompts.prompt([], 1100);
  for (const [prompt, tokens] of [[first, 1100], [second, 1300], [alone, 1100]] as const) {
    assert.equal(tokenizer.countPrompt(prompt), tokens);
  }
  const twoBlocks = prompts.prompt([0, 1], 1024);
  assert.equal(tokenizer.countPrompt(twoBlocks), 1024);
  assert.ok(first.startsWith(twoBlocks) && second.startsWith(twoBlocks));
  // The third blocks differ, and so do fillers of requests without blocks.
  assert.notEqual(
    first.slice(twoBlocks.length, twoBlocks.length + 200),
    second.slice(
      twoBlocks.length,
      twoBlocks.length + 200,
    ),
  );
  assert.notEqual(alone.slice(0, 200), prompts.prompt([], 1100).slice(0, 200));
  // Another shard (another random source) builds the same blocks.
  const other = createTracePrompts(tokenizer, createRandom(2));
  assert.ok(other.prompt([0, 1, 9], 1500).startsWith(twoBlocks));
  assert.deepEqual(checkTracePrompts(await readTrace(MOONCAKE), tokenizer), []);
});

Deno.test("--trace refuses --qps, --burst and --dataset, and warns of what it replaces", () => {
  assert.throws(
    () => runConfig(["--trace", MOONCAKE, "--qps", "5"]),
    (error) =>
      error instanceof UsageError &&
      error.message === `Cannot use --qps together with --trace: the trace sets when each ` +
          `request is sent, choose one (-u caps requests in flight with --trace)`,
  );
  assert.throws(
    () => runConfig(["--trace", MOONCAKE, "--burst", "2"]),
    /Cannot use --burst together with --trace/,
  );
  const dataset = new URL("testdata/workloads/prompts.jsonl", import.meta.url).pathname;
  assert.throws(
    () => runConfig(["--trace", MOONCAKE, "--dataset", dataset]),
    (error) =>
      error instanceof UsageError &&
      error.message ===
        `Cannot use --dataset together with --trace: both give the prompts, choose one`,
  );
  const config = runConfig(["--trace", MOONCAKE, "--trace-speed", "2", "--trace-window", "1s:"]);
  assert.equal(config.traceFile, MOONCAKE);
  assert.equal(config.traceSpeed, 2);
  assert.deepEqual(config.traceWindow, { startMs: 1000 });
  assert.equal(runConfig([]).traceSpeed, 1);
  assert.deepEqual(warningsOf(["--trace", MOONCAKE, "-p", "100", "--max-tokens", "9"]), [
    "--prompt-tokens is ignored with --trace: the trace sets each request's prompt and output " +
    "lengths",
    "--max-tokens is ignored with --trace: the trace sets each request's prompt and output " +
    "lengths",
  ]);
  assert.deepEqual(warningsOf(["--trace-speed", "2"]), [
    "--trace-speed is ignored without --trace: there is no trace",
  ]);
});

function warningsOf(args: string[]): readonly string[] {
  const parsed = parseCommandLine(args, { env: {}, version: "test" });
  assert.ok("warnings" in parsed);
  return parsed.warnings;
}

Deno.test("a bad trace fails the run before any request, with exit 2's UsageError", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    await withTempDir(async (dir) => {
      const file = `${dir}/bad.jsonl`;
      await Deno.writeTextFile(file, '{"timestamp": 0, "input_length": 0, "output_length": 1}');
      await assert.rejects(
        runAgainst(mock, ["--trace", file]),
        (error) => error instanceof UsageError && /line 1: input_length is '0'/.test(error.message),
      );
    });
    await assert.rejects(
      runAgainst(mock, ["--trace", MOONCAKE, "--tokenizer", "server"]),
      /Cannot use --tokenizer server with --trace/,
    );
    assert.equal(mock.records().length, 0);
  });
});

Deno.test("a Mooncake replay: the mock sees each request's lengths at the trace's times", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["--trace", MOONCAKE, "-u", "8", "--workers", "2"]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    assert.ok(run.log.some((line) => line.includes("Stopping: the trace is done (6 requests)")));
    const records = completions(mock.records());
    assert.deepEqual(
      records.map((record) => [record.promptTokens, record.maxTokens, record.tokens]),
      [[1100, 5, 5], [300, 3, 3], [1300, 7, 7], [600, 2, 2], [40, 4, 4], [512, 6, 6]],
    );
    assertNear(arrivals(records), [0, 200, 400, 650, 900, 1200], SEND_LAG_MS);
    assert.equal(run.results.requests.ok, 6);
    // Requests 0 and 2 share blocks 0 and 1; request 3 shares block 0 with both.
    const prompts = records.map((record) => (record.body as { prompt: string }).prompt);
    const tokenizer = await loadTokenizer("o200k_base");
    const blocks = createTracePrompts(tokenizer, createRandom(0));
    const [one, two] = [blocks.prompt([0], 512), blocks.prompt([0, 1], 1024)];
    assert.ok(prompts[0].startsWith(two) && prompts[2].startsWith(two));
    assert.ok(prompts[3].startsWith(one) && !prompts[3].startsWith(two));
    assert.ok(
      !prompts[1].startsWith(one.slice(0, 100)) && !prompts[4].startsWith(one.slice(0, 100)),
    );
  });
});

Deno.test("a replay at --trace-speed 2 of a --trace-window slice", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--trace",
      MOONCAKE,
      "--trace-speed",
      "2",
      "--trace-window",
      "200ms:1s",
      "-u",
      "4",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completions(mock.records());
    assert.deepEqual(records.map((record) => record.promptTokens), [300, 1300, 600, 40]);
    // The summary block names the replay where a closed loop would give its users.
    assert.match(run.out, /\nConcurrency {14}: Trace mooncake\.jsonl at 2x\n/);
    assertNear(arrivals(records), [0, 100, 225, 350], SEND_LAG_MS);
  });
});

Deno.test("an Azure CSV replay: lengths and arrivals as the trace has them", async () => {
  await withMock({ ttftMs: 5, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["--trace", AZURE, "-u", "8", "--chat"]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completions(mock.records());
    assert.deepEqual(records.map((record) => record.maxTokens), [44, 10, 3, 21, 8]);
    // Chat templates add tokens around the prompt: count the message text itself.
    const tokenizer = await loadTokenizer("o200k_base");
    assert.deepEqual(
      records.map((record) =>
        tokenizer.countPrompt(
          (record.body as { messages: { content: string }[] }).messages[0].content,
        )
      ),
      [374, 396, 879, 91, 1523],
    );
    assertNear(arrivals(records), [0, 250, 600, 819.4, 1200], SEND_LAG_MS);
  });
});

Deno.test("with --trace, -u caps requests in flight and -t cuts the replay short", async () => {
  // Each reply takes longer than the trace's gaps: with one slot, every send waits for the last.
  await withMock({ ttftMs: 300, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, ["--trace", MOONCAKE, "-u", "1", "-t", "1s"]);
    const records = completions(mock.records());
    assert.ok(records.length >= 2 && records.length <= 4, `${records.length} requests`);
    for (let i = 1; i < records.length; i++) {
      assert.ok(records[i].receivedAt >= records[i - 1].doneAt!, "two requests were in flight");
    }
    assert.ok(run.results.capped >= 1, `capped ${run.results.capped}`);
    assert.ok(
      run.results.warnings.some((line) =>
        /^--users 1 caps requests in flight below what the --trace sends: so far \d+ sends? waited for a free slot, late for the trace's times; raise -u$/
          .test(line)
      ),
      run.results.warnings.join("\n"),
    );
    assert.ok(!run.log.some((line) => line.includes("the trace is done")), run.log.join("\n"));
  });
});

Deno.test("trace requests beyond the server's context are a warning, and the server's to refuse", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, context: 1200 }, async (mock) => {
    const run = await runAgainst(mock, ["--trace", MOONCAKE, "-u", "8"]);
    const warning = run.results.warnings.find((line) => line.includes("trace requests"));
    assert.match(
      warning ?? run.log.join("\n"),
      /^1 of the 6 trace requests have prompt \+ max_tokens above the server's context of 1200 \(from .+\); the server may refuse or cut them$/,
    );
    assert.equal(run.results.requests.ok, 5);
    assert.equal(run.results.requests.failed, 1);
    assert.equal(run.exitCode, 1);
  });
});
