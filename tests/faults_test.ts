/**
 * The fault matrix, end to end: llmload against the mock injecting each fault, then mixes of
 * faults, with llmload's counts compared to the mock's own records (none lost, none counted
 * twice, each under the right kind). The request path's own limits (event size, end marker,
 * secrets in messages) are unit-tested in `request_test.ts`.
 */
import assert from "node:assert/strict";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { FAULT_NAMES, type FaultKind, type FaultSpec } from "../mock/faults.ts";
import type { MockRecord } from "../mock/server.ts";
import type { FailureKind } from "../request/types.ts";

/** How llmload reports a request that got each fault: a failure kind, or `ok` when it counts. */
const REPORTED: Readonly<Record<FaultKind, FailureKind | "ok">> = {
  http_400: "http_4xx",
  http_401: "http_4xx",
  http_404: "http_4xx",
  http_429: "http_4xx",
  http_500: "http_5xx",
  http_503: "http_5xx",
  refuse: "connect",
  reset: "bad_response",
  malformed_json: "bad_response",
  no_done: "bad_response",
  stall: "timeout",
  trickle: "timeout",
  huge_event: "bad_response",
  invalid_utf8: "ok",
  wrong_content_type: "bad_response",
  keepalive_close: "ok",
  empty_200: "bad_response",
};

/** The first message llmload keeps for each fault that fails (the key is masked). */
const MESSAGES: Readonly<Partial<Record<FaultKind, RegExp>>> = {
  http_400: /^HTTP 400: Injected fault: this request is invalid$/,
  http_401: /^HTTP 401: Incorrect API key provided: \*\*\*$/,
  http_404: /^HTTP 404: The model 'mock-model' does not exist$/,
  http_429: /^HTTP 429: Rate limit reached/,
  http_500: /^HTTP 500: /,
  http_503: /^HTTP 503: /,
  refuse: /^Connection closed before any response \(/,
  reset: /^Connection reset mid-stream \(/,
  malformed_json: /^Unreadable event: /,
  no_done: /^Stream ended without \[DONE\]/,
  stall: /^No complete response within 1000 ms$/,
  trickle: /^No complete response within 1000 ms$/,
  huge_event: /^Stream event larger than 256 KiB/,
  wrong_content_type: /^Expected text\/event-stream, got 'text\/plain/,
  empty_200: /^Empty response body \(HTTP 200\)$/,
};

const KEY = "sk-fault-matrix-key-0123456789";

/** The transports besides the default (http1) that the mixes run on too. */
const OTHER_TRANSPORTS = ["node", "fetch"] as const;

interface FaultRun {
  readonly exitCode: number;
  readonly out: string;
  readonly records: MockRecord[];
  // deno-lint-ignore no-explicit-any
  readonly results: any;
}

/** Runs llmload for exactly `requests` requests against a mock injecting `faults`. */
function runWithFaults(
  faults: FaultSpec[],
  options: { requests: number; users: number; args?: string[]; seed?: number },
): Promise<FaultRun> {
  return withTempDir((dir) =>
    withMock({ ttftMs: 2, itlMs: 2, seed: options.seed ?? 1, faults }, async (mock) => {
      const run = await runAgainst(mock, [
        ...["-m", "mock-model", "-k", KEY, "-o", "8", "-u", String(options.users), "-r", "1000"],
        ...["--max-requests", String(options.requests), "-t", "60s", "--warmup", "0"],
        ...["--timeout", timeoutFor(faults), "--workers", "1", "--json", `${dir}/results.json`],
        ...options.args ?? [],
      ]);
      const results = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
      const records = mock.records().filter((record) => !record.path.endsWith("/models"));
      return { exitCode: run.exitCode, out: run.out, records, results };
    })
  );
}

/**
 * The time limit of a run: 1 s where a fault waits for it (a stall, a trickle), so those runs end
 * quickly; otherwise long enough that a loaded machine never turns a fast reply into a timeout.
 */
function timeoutFor(faults: readonly FaultSpec[]): string {
  return faults.some((fault) => fault.kind === "stall" || fault.kind === "trickle") ? "1s" : "20s";
}

/**
 * Checks that llmload counted every request the mock received exactly once, under the kind the
 * request's fault calls for, and that the requests without a failing fault succeeded.
 */
function assertCountsMatch(run: FaultRun, label: string) {
  const { results, records } = run;
  assert.equal(results.requests.total, records.length, `${label}: llmload total = mock records`);
  const expected: Record<string, number> = {};
  for (const record of records) {
    const kind = record.fault === undefined ? "ok" : REPORTED[record.fault];
    expected[kind] = (expected[kind] ?? 0) + 1;
  }
  const reported: Record<string, number> = { ok: results.requests.ok };
  for (const [kind, stats] of Object.entries(results.failures)) {
    reported[kind] = (stats as { count: number }).count;
  }
  if (reported.ok === 0) delete reported.ok;
  if (expected.ok === undefined) expected.ok = 0;
  if (reported.ok === undefined) reported.ok = 0;
  assert.deepEqual(reported, expected, `${label}: counts by kind`);
  assert.equal(results.partial, false, label);
}

Deno.test("each fault at rate 1: reported under its kind, counts equal the mock's, exit 1 after the full output", async () => {
  const runs = await Promise.all(
    FAULT_NAMES.map((kind) => runWithFaults([{ kind, rate: 1 }], { requests: 6, users: 2 })),
  );
  FAULT_NAMES.forEach((kind, i) => {
    const run = runs[i];
    const reported = REPORTED[kind];
    assert.equal(run.records.length, 6, `${kind}: the mock received every request`);
    assert.ok(run.records.every((record) => record.fault === kind), kind);
    assertCountsMatch(run, kind);
    assert.match(run.out, /Num Requests\s+: \d+\n/, `${kind}: the summary block is printed`);
    assert.match(run.out, /={80}$/, kind);
    if (reported === "ok") {
      assert.equal(run.exitCode, 0, kind);
      assert.equal(run.results.requests.ok, 6, kind);
      return;
    }
    assert.equal(run.exitCode, 1, kind);
    const failures = run.results.failures[reported];
    assert.equal(failures?.count, 6, `${kind} counted as ${reported}`);
    assert.match(failures.messages[0], MESSAGES[kind]!, kind);
    const row = new RegExp(`\\n  ${reported}\\s+6( +\\(status \\d+: 6\\))?\\n`);
    assert.match(run.out, row, `${kind}: the failure table`);
    if (reported.startsWith("http_")) {
      assert.deepEqual(failures.statuses, { [kind.slice(5)]: 6 }, `${kind}: status kept`);
    }
  });
});

Deno.test("mixes of faults at 10% each: nothing lost, nothing counted twice, the rest succeed", async () => {
  const mixes: FaultKind[][] = [
    ["http_400", "http_401", "http_404", "http_429", "http_500", "http_503", "refuse", "reset"],
    ["malformed_json", "no_done", "stall", "trickle", "huge_event", "invalid_utf8"],
    ["wrong_content_type", "keepalive_close", "empty_200", "reset", "refuse", "stall"],
  ];
  const runs = await Promise.all([
    ...mixes.map((kinds, i) =>
      runWithFaults(kinds.map((kind) => ({ kind, rate: 0.1 })), {
        requests: 300,
        users: 20,
        seed: 100 + i,
      })
    ),
    // The node and fetch transports meet the same faults as the default http1.
    ...OTHER_TRANSPORTS.map((transport) =>
      runWithFaults(mixes[2].map((kind) => ({ kind, rate: 0.1 })), {
        requests: 200,
        users: 10,
        args: ["--transport", transport],
      })
    ),
  ]);
  runs.forEach((run, i) => {
    const kinds = mixes[Math.min(i, 2)];
    const other = OTHER_TRANSPORTS[i - mixes.length];
    const label = `mix ${Math.min(i, 2)}${other ? ` (${other})` : ""}`;
    assert.equal(run.records.length, other ? 200 : 300, label);
    for (const kind of kinds) {
      assert.ok(run.records.some((record) => record.fault === kind), `${label}: ${kind} injected`);
    }
    assert.ok(run.records.filter((record) => record.fault === undefined).length > 0);
    assertCountsMatch(run, label);
    assert.equal(run.exitCode, 1, label);
  });
});

Deno.test("native dialects report their faults under the same kinds", async () => {
  const faults: FaultSpec[] = [
    { kind: "http_503", rate: 0.25 },
    { kind: "reset", rate: 0.25 },
    { kind: "malformed_json", rate: 0.25 },
    { kind: "stall", rate: 0.25 },
  ];
  const dialects = ["tgi", "llamacpp", "ollama", "triton-generate"];
  const runs = await Promise.all(
    dialects.map((provider) =>
      runWithFaults(faults, { requests: 40, users: 8, args: ["--provider", provider] })
    ),
  );
  runs.forEach((run, i) => {
    assert.equal(run.records.length, 40, dialects[i]);
    assertCountsMatch(run, dialects[i]);
  });
});

Deno.test("the mock's prompt counts agree with llmload's: no prompt-token mismatches", async () => {
  const run = await runWithFaults([], { requests: 20, users: 4, args: ["-p", "300"] });
  assert.equal(run.exitCode, 0);
  assert.equal(run.results.tokens.promptMismatches.count, 0);
  assert.equal(run.results.metrics.prompt_tokens.mean, 300);
});
