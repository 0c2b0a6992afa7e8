import assert from "node:assert/strict";
import { thinkTime } from "../options/session_parsers.ts";
import { createThinkTime, scriptOf } from "../load/session.ts";
import { createRandom } from "../load/random.ts";
import { readDataset } from "../load/dataset.ts";
import { generatedText } from "../mock/wire.ts";
import type { MockRecord } from "../mock/server.ts";
import type { ChatMessage } from "../providers/types.ts";
import { UsageError } from "../common/errors.ts";
import { completionRecords, runAgainst, withMock } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";

const DIR = new URL("./testdata/workloads/", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The chat messages a load request sent. */
function messagesOf(record: MockRecord): ChatMessage[] {
  return (record.body as { messages: ChatMessage[] }).messages;
}

/** What the mock answered a request: the text of the tokens it sent. */
function answerOf(record: MockRecord): string {
  return generatedText(record.tokens);
}

/**
 * Chains the mock's records into sessions: a request whose history holds earlier turns follows
 * the one request whose history, plus that request's real answer, is exactly its own history up
 * to its last user turn. Fails on any request without exactly one such predecessor.
 */
function chainSessions(records: readonly MockRecord[]): MockRecord[][] {
  const sessions: MockRecord[][] = [];
  const open = new Map<MockRecord, MockRecord[]>();
  for (const record of records) {
    const messages = messagesOf(record);
    assert.equal(messages.at(-1)!.role, "user", JSON.stringify(messages));
    const earlier = [...open.keys()].filter((previous) => {
      const before = messagesOf(previous);
      return before.length + 2 === messages.length &&
        JSON.stringify([...before, { role: "assistant", content: answerOf(previous) }]) ===
          JSON.stringify(messages.slice(0, -1));
    });
    const firstTurn = !messages.slice(0, -1).some((message) => message.role === "user");
    if (firstTurn) {
      assert.equal(earlier.length, 0);
      const session = [record];
      sessions.push(session);
      open.set(record, session);
      continue;
    }
    assert.equal(earlier.length, 1, `no single earlier turn for ${JSON.stringify(messages)}`);
    const session = open.get(earlier[0])!;
    open.delete(earlier[0]);
    session.push(record);
    open.set(record, session);
  }
  return sessions;
}

Deno.test("--think-time: DURATION[:DIST], refused with the accepted forms", () => {
  assert.deepEqual(thinkTime("2s"), { meanMs: 2000, distribution: "constant" });
  assert.deepEqual(thinkTime("500ms:exponential"), { meanMs: 500, distribution: "exponential" });
  assert.deepEqual(thinkTime("1.5:uniform"), { meanMs: 1500, distribution: "uniform" });
  for (const bad of ["", "soon", "2s:poisson", "2s:uniform:x", "-1s"]) {
    assert.throws(() => thinkTime(bad), /DURATION\[:DIST\]/, bad);
  }
});

Deno.test("think times: constant is the mean, uniform stays in [0, 2·mean], exponential has the mean", () => {
  const random = createRandom(7);
  const constant = createThinkTime({ meanMs: 300, distribution: "constant" }, random);
  assert.deepEqual([constant(), constant()], [300, 300]);
  const uniform = createThinkTime({ meanMs: 300, distribution: "uniform" }, random);
  const draws = Array.from({ length: 20_000 }, uniform);
  assert.ok(draws.every((ms) => ms >= 0 && ms <= 600));
  const exponential = createThinkTime({ meanMs: 300, distribution: "exponential" }, random);
  const mean = Array.from({ length: 20_000 }, exponential).reduce((a, b) => a + b) / 20_000;
  assert.ok(Math.abs(mean - 300) < 15, `mean ${mean}`);
  assert.equal(createThinkTime({ meanMs: 0, distribution: "exponential" }, random)(), 0);
});

Deno.test("a conversation's script: the messages before the first user turn, then its user turns", () => {
  const messages: ChatMessage[] = [
    { role: "system", content: "S" },
    { role: "user", content: "A" },
    { role: "assistant", content: "recorded answer" },
    { role: "user", content: "B" },
    { role: "user", content: "C" },
  ];
  assert.deepEqual(scriptOf(messages), {
    preamble: [{ role: "system", content: "S" }],
    turns: ["A", "B", "C"],
  });
  assert.deepEqual(scriptOf(messages, 2).turns, ["A", "B"]);
});

Deno.test("ShareGPT with sessions: the whole conversation as messages; without, the first human turn", async () => {
  const path = DIR + "sharegpt_sessions.json";
  const plain = await readDataset(path, { limit: 10 });
  assert.equal(plain.rows[0].messages, undefined);
  assert.equal(plain.rows[0].prompt, "I want to visit Lisbon in May.");
  const { rows } = await readDataset(path, { limit: 10, sessions: true });
  assert.equal(rows[0].prompt, "I want to visit Lisbon in May.");
  assert.deepEqual(rows[1].messages, [
    { role: "user", content: "What does git rebase do?" },
    { role: "assistant", content: "It replays your commits on top of another base." },
    { role: "user", content: "And git rebase -i?" },
    { role: "assistant", content: "The same, letting you edit, squash or drop each commit." },
  ]);
  assert.equal(rows[0].messages![0].role, "system");
});

Deno.test("bad session options: one line saying what is wrong and what would be right", () => {
  const refused: [string[], RegExp][] = [
    [["--chat", "--turns", "0"], /Invalid --turns '0'.*expected a whole number of at least 1/],
    [["--chat", "--turns", "2", "--think-time", "2x"], /Invalid --think-time '2x'.*DURATION/],
    [["--turns", "3"], /Cannot use --turns without --chat: a session sends its history/],
    [["--dataset-sessions"], /Cannot use --dataset-sessions without --dataset/],
    [
      ["--chat", "--turns", "2", "--burst", "2"],
      /Cannot use --burst together with --turns: a session's turns follow its answers/,
    ],
    [
      ["--chat", "--turns", "2", "--trace", "t.jsonl"],
      /Cannot use --trace together with --turns/,
    ],
  ];
  for (const [args, message] of refused) {
    assert.throws(() => runConfig(args), (error: unknown) => {
      assert.ok(error instanceof UsageError, `${args.join(" ")}: ${error}`);
      assert.match(error.message, message);
      assert.equal(error.message.split("\n").length, 1);
      return true;
    });
  }
});

Deno.test("end to end: each turn carries the previous user turns and the mock's real answers, in order", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--chat",
      "--turns",
      "3",
      "-u",
      "2",
      "--workers",
      "2",
      "--max-requests",
      "12",
      "-p",
      "20",
      "--prompt-randomize",
      "-o",
      "8",
      "--max-tokens-distribution",
      "uniform",
      "--max-tokens-range",
      "0.5",
      "--think-time",
      "150ms",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completionRecords(mock.records());
    assert.equal(records.length, 12);
    const sessions = chainSessions(records);
    // Two users in two shards, each playing two whole sessions of three turns.
    assert.deepEqual(sessions.map((session) => session.length), [3, 3, 3, 3]);
    for (const session of sessions) {
      const users = messagesOf(session[2]).filter((m) => m.role === "user").map((m) => m.content);
      assert.equal(new Set(users).size, 3, "each turn draws its own prompt");
      for (let turn = 1; turn < session.length; turn++) {
        const pause = session[turn].receivedAt - session[turn - 1].doneAt!;
        assert.ok(pause >= 149, `turn ${turn + 1} came ${pause} ms after the answer`);
      }
    }
    const turns = run.results.turns!;
    assert.deepEqual(turns.map((turn) => [turn.turn, turn.requests.ok, turn.requests.failed]), [
      [1, 4, 0],
      [2, 4, 0],
      [3, 4, 0],
    ]);
    for (const turn of turns) {
      const mine = records.filter((record) =>
        messagesOf(record).filter((m) => m.role === "user").length === turn.turn
      );
      const tokens = mine.reduce((sum, record) => sum + record.tokens, 0);
      assert.equal(turn.tokens.output, tokens);
      assert.equal(turn.metrics.num_tokens!.count, 4);
      assert.equal(turn.metrics.ttft!.count, 4);
      assert.equal(turn.tokens.prompt, mine.reduce((sum, r) => sum + r.promptTokens!, 0));
      assert.ok(turn.histograms.ttft!.length > 0);
    }
    // Later turns carry the history: their prompts are longer.
    assert.ok(turns[2].metrics.prompt_tokens!.min > turns[0].metrics.prompt_tokens!.max);
    assert.match(run.out, /Sessions by turn/);
    assert.match(run.out, /\n\s+3\s+4\s+0\s/);
  });
});

Deno.test("end to end: in QPS mode sessions start at the rate and their turns follow their think time", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--chat",
      "--turns",
      "2",
      "--qps",
      "5",
      "-u",
      "10",
      "-t",
      "1.1s",
      "-p",
      "16",
      "--prompt-randomize",
      "-o",
      "4",
      "--think-time",
      "300ms",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const sessions = chainSessions(completionRecords(mock.records()));
    // Starts at 0, 200, ..., 1000 ms: six sessions, 200 ms apart (a few ms of send lag aside).
    assert.equal(sessions.length, 6);
    const starts = sessions.map((session) => session[0].receivedAt);
    // A late first send (the prompt source is built as the load starts) shortens one gap, so
    // the bounds hold the span and each gap's upper side.
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i] - starts[i - 1];
      assert.ok(gap < 250, `session ${i + 1} started ${gap} ms after the last`);
    }
    const span = starts[5] - starts[0];
    assert.ok(span > 850 && span < 1050, `six session starts span ${span} ms`);
    for (const session of sessions.filter((session) => session.length === 2)) {
      assert.ok(session[1].receivedAt - session[0].doneAt! >= 299);
    }
    const turns = run.results.turns!;
    assert.equal(turns[0].requests.ok, 6);
    assert.ok(run.results.metrics.send_lag!.count >= 6, "QPS turns carry their intended send");
  });
});

Deno.test("end to end: a ShareGPT file plays each conversation's user turns as one session", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--chat",
      "--dataset",
      DIR + "sharegpt_sessions.json",
      "--dataset-sessions",
      "-u",
      "1",
      "--max-requests",
      "6",
      "-o",
      "5",
      "--warmup",
      "0",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const records = completionRecords(mock.records());
    const sessions = chainSessions(records);
    assert.deepEqual(sessions.map((session) => session.length), [3, 2, 1]);
    const last = messagesOf(sessions[0][2]);
    assert.deepEqual(last.map((m) => m.role), [
      "system",
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);
    assert.deepEqual(last.filter((m) => m.role === "user").map((m) => m.content), [
      "I want to visit Lisbon in May.",
      "Which neighbourhood should I stay in?",
      "How do I get there from the airport?",
    ]);
    // The recorded answers are replaced by the mock's own.
    assert.equal(last[2].content, answerOf(sessions[0][0]));
    assert.deepEqual(messagesOf(sessions[2][0]), [
      { role: "user", content: "Name a prime number." },
    ]);
    assert.deepEqual(run.results.turns!.map((turn) => turn.requests.ok), [3, 2, 1]);
  });
});

Deno.test("end to end: --turns caps the turns played of each dataset conversation", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const run = await runAgainst(mock, [
      "--chat",
      "--dataset",
      DIR + "sharegpt_sessions.json",
      "--dataset-sessions",
      "--turns",
      "2",
      "-u",
      "1",
      "--max-requests",
      "5",
      "-o",
      "3",
    ]);
    assert.equal(run.exitCode, 0, run.log.join("\n"));
    const sessions = chainSessions(completionRecords(mock.records()));
    assert.deepEqual(sessions.map((session) => session.length), [2, 2, 1]);
  });
});

Deno.test("a dataset without multi-turn conversations: one line, exit 2, no request sent", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "-H",
        mock.url,
        "--chat",
        "--dataset",
        DIR + "sharegpt_single_turn.json",
        "--dataset-sessions",
        "-t",
        "5s",
      ],
      env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "" },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(
      stderr,
      /Cannot use --dataset-sessions with --dataset '.*sharegpt_single_turn\.json': no conversation has more than one user turn/,
    );
    assert.equal(completionRecords(mock.records()).length, 0);
  });
});
