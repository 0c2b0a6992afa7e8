/**
 * The fault matrix, end to end: llmload against the mock injecting each fault, then mixes of
 * faults, with llmload's counts compared to the mock's own records (none lost, none counted
 * twice, each under the right kind). Then the request path's own limits, with scripted
 * transports: event size, body size, end marker, secrets in messages.
 */
import assert from "node:assert/strict";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { FAULT_NAMES, type FaultKind, type FaultSpec } from "../mock/faults.ts";
import type { MockRecord } from "../mock/server.ts";
import { type RequestContext, runRequest } from "../request/run_request.ts";
import { MAX_EVENT_CHARS } from "../request/stream_decoder.ts";
import { credentialsIn, maskSecrets } from "../common/secrets.ts";
import type { ResponseSink, Transport } from "../transport/types.ts";
import { createProvider } from "../providers/mod.ts";
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
        ...["--timeout", "1s", "--workers", "1", "--json", `${dir}/results.json`],
        ...options.args ?? [],
      ]);
      const results = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
      const records = mock.records().filter((record) => !record.path.endsWith("/models"));
      return { exitCode: run.exitCode, out: run.out, records, results };
    })
  );
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
    // The fetch transport meets the same faults.
    runWithFaults(mixes[2].map((kind) => ({ kind, rate: 0.1 })), {
      requests: 200,
      users: 10,
      args: ["--transport", "fetch"],
    }),
  ]);
  runs.forEach((run, i) => {
    const kinds = mixes[Math.min(i, 2)];
    const label = `mix ${i}${i === 3 ? " (fetch)" : ""}`;
    assert.equal(run.records.length, i === 3 ? 200 : 300, label);
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

/** Plays a scripted response; honours the abort signal between pieces like a real transport. */
function scripted(
  head: { status: number; contentType: string },
  pieces: string[],
): Transport & { delivered: () => number } {
  let delivered = 0;
  return {
    async send(request, sink: ResponseSink) {
      sink.head(head);
      for (const piece of pieces) {
        if (request.signal.aborted) throw request.signal.reason;
        sink.text(piece, performance.now());
        delivered++;
        await Promise.resolve();
      }
    },
    close() {},
    delivered: () => delivered,
  };
}

function contextFor(
  transport: Transport,
  options: { provider?: string; stream?: boolean; headers?: Record<string, string> } = {},
): RequestContext {
  return {
    provider: createProvider(options.provider ?? "openai", {
      model: "m",
      chat: false,
      stream: options.stream ?? true,
      temperature: 1,
    }),
    transport,
    host: "http://user:hunter2-password@127.0.0.1:1",
    headers: options.headers ?? { authorization: `Bearer ${KEY}` },
    timeoutMs: 5_000,
    countTokens: (text) => Promise.resolve(text.length),
  };
}

const sse = { status: 200, contentType: "text/event-stream" };
const token = (text: string) => `data: ${JSON.stringify({ choices: [{ text }] })}\n\n`;

Deno.test("a stream event past the limit ends the request at once, before the rest is read", async () => {
  const big = `data: {"choices":[{"text":"${"a".repeat(MAX_EVENT_CHARS)}`;
  const pieces = [token("a"), big.slice(0, 100_000), big.slice(100_000), "more", "\n\n", "x"];
  const transport = scripted(sse, pieces);
  const outcome = await runRequest(contextFor(transport), { prompt: "p", maxTokens: 2 });
  assert.deepEqual(outcome.ok ? undefined : outcome.failure, {
    kind: "bad_response",
    message: "Stream event larger than 256 KiB: refused rather than buffered",
  });
  assert.equal(transport.delivered(), 3, "reading stopped at the piece that passed the limit");
  const ndjson = scripted({ status: 200, contentType: "application/x-ndjson" }, [
    `{"response":"${"a".repeat(MAX_EVENT_CHARS)}`,
  ]);
  const ollama = await runRequest(contextFor(ndjson, { provider: "ollama" }), {
    prompt: "p",
    maxTokens: 2,
  });
  assert.equal(ollama.ok ? "" : ollama.failure.kind, "bad_response");
});

Deno.test("the end marker: required where the dialect has one, whitespace tolerated", async () => {
  const tokens = [token(" a"), token(" b")];
  const cut = await runRequest(contextFor(scripted(sse, tokens)), { prompt: "p", maxTokens: 2 });
  assert.equal(
    cut.ok ? "" : cut.failure.message,
    "Stream ended without [DONE]: the response may be cut short",
  );
  const whole = await runRequest(contextFor(scripted(sse, [...tokens, "data:  [DONE] \n\n"])), {
    prompt: "p",
    maxTokens: 2,
  });
  assert.ok(whole.ok, JSON.stringify(whole));
  const tgi = scripted(sse, [`data: {"token":{"text":" a"}}\n\n`]);
  const noMarker = await runRequest(contextFor(tgi, { provider: "tgi" }), {
    prompt: "p",
    maxTokens: 1,
  });
  assert.ok(noMarker.ok, "TGI streams have no [DONE] to miss");
});

Deno.test("invalid UTF-8 arrives as replacement characters and the request still counts", async () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode('data: {"choices":[{"text":" a'),
    0xff,
  ]);
  const text = new TextDecoder().decode(bytes) + `"}]}\n\ndata: [DONE]\n\n`;
  const outcome = await runRequest(contextFor(scripted(sse, [text])), {
    prompt: "p",
    maxTokens: 1,
  });
  assert.ok(outcome.ok);
  assert.equal(outcome.record.chars, 3, "' a' and one U+FFFD");
});

Deno.test("secrets: masked in failure messages, even when a quoted body cuts one short", async () => {
  assert.deepEqual(credentialsIn({ Authorization: "Bearer sk-1", "x-api-key": "k2", other: "v" }), [
    "Bearer sk-1",
    "sk-1",
    "k2",
  ]);
  assert.equal(maskSecrets("key sk-1234 and sk-1234", ["sk-1234"]), "key *** and ***");
  assert.equal(maskSecrets('got {"key":"sk-12', ["sk-1234"]), 'got {"key":"');
  assert.equal(maskSecrets("text ends sk-12", ["sk-1234"], { cut: false }), "text ends sk-12");

  const echo = `{"error":{"message":"Bad key Bearer ${KEY} (user:hunter2-password)"}}`;
  const http = await runRequest(
    contextFor(scripted({ status: 401, contentType: "application/json" }, [echo])),
    { prompt: "p", maxTokens: 1 },
  );
  assert.equal(http.ok ? "" : http.failure.message, "HTTP 401: Bad key *** (user:***)");
  // An error body longer than the part kept, with the key straddling the cut.
  const long = "x".repeat(2040) + KEY + "y".repeat(100);
  const cut = await runRequest(
    contextFor(
      scripted({ status: 500, contentType: "text/plain" }, [long.slice(0, 2045), long.slice(2045)]),
    ),
    { prompt: "p", maxTokens: 1 },
  );
  const message = cut.ok ? "" : cut.failure.message;
  assert.ok(!message.includes(KEY.slice(0, 5)), message);
  // A streamed error event that quotes the key in the middle of a cut-short payload.
  const event = `data: {"error":{"message":"denied for ${KEY}"}}\n\n`;
  const streamed = await runRequest(contextFor(scripted(sse, [event])), {
    prompt: "p",
    maxTokens: 1,
  });
  assert.equal(
    streamed.ok ? "" : streamed.failure.message,
    `Server sent an error event: {"message":"denied for ***"}`,
  );
  const shown: string[] = [];
  const echoed = await runRequest(
    {
      ...contextFor(scripted(sse, [token(`key ${KEY}`), "data: [DONE]\n\n"])),
      onResponse: (text) => shown.push(text),
    },
    { prompt: "p", maxTokens: 1 },
  );
  assert.ok(echoed.ok);
  assert.deepEqual(shown, ["key ***"], "--show-response output is masked too");
});

Deno.test("a transport that never settles after the abort cannot hang a request", async () => {
  // As Deno 2.9's fetch sometimes does with a pending body read.
  const deaf: Transport = {
    send(_request, sink) {
      sink.head(sse);
      sink.text(token(" a"), performance.now());
      return new Promise(() => {});
    },
    close() {},
  };
  const outcome = await runRequest({ ...contextFor(deaf), timeoutMs: 20 }, {
    prompt: "p",
    maxTokens: 1,
  });
  assert.deepEqual(outcome.ok ? undefined : outcome.failure, {
    kind: "timeout",
    message: "No complete response within 20 ms",
  });
  const stop = new AbortController();
  const running = runRequest(contextFor(deaf), { prompt: "p", maxTokens: 1 }, {
    stopSignal: stop.signal,
  });
  stop.abort();
  const stopped = await running;
  assert.equal(stopped.ok ? "" : stopped.failure.kind, "aborted");
});

Deno.test("a timeout says whether anything arrived", async () => {
  const silent: Transport = {
    send: (request) =>
      new Promise((_, reject) =>
        request.signal.addEventListener("abort", () => reject(request.signal.reason))
      ),
    close() {},
  };
  const outcome = await runRequest({ ...contextFor(silent), timeoutMs: 20 }, {
    prompt: "p",
    maxTokens: 1,
  });
  assert.deepEqual(outcome.ok ? undefined : outcome.failure, {
    kind: "timeout",
    message: "No response within 20 ms",
  });
});
