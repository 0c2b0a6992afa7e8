import assert from "node:assert/strict";
import {
  FAULT_NAMES,
  faultyBody,
  HUGE_EVENT_CHARS,
  parseFault,
  pickFault,
} from "../mock/faults.ts";
import type { FaultyBody } from "../mock/faults.ts";
import { type MockOptions, type MockServer, startMock } from "../mock/server.ts";
import { openAIReply, wholeStream } from "../mock/openai.ts";
import { parseLlamacppRequest } from "../mock/llamacpp.ts";
import { parseOllamaRequest } from "../mock/ollama.ts";
import { parseTgiRequest } from "../mock/tgi.ts";
import { parseTritonGenerate } from "../mock/triton.ts";
import type { MockReply, ParsedRequest } from "../mock/wire.ts";
import { UsageError } from "../common/errors.ts";
import { withMock } from "./_harness.ts";

const common = { id: "x", created: 0, tokens: 6, finishReason: "length" as const };

function openAIStream(tokens = 6): MockReply {
  return openAIReply({
    chat: false,
    id: "cmpl-x",
    created: 0,
    model: "m",
    tokens,
    promptTokens: 3,
    logprobs: false,
    includeUsage: true,
    stream: true,
  });
}

function replyOf(parsed: ParsedRequest | string): MockReply {
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed.reply(common);
}

/** The body's bytes in order (head first), decoded leniently. */
function textOf(body: FaultyBody): string {
  const parts = body.head === null ? [] : [body.head];
  parts.push(...body.pieces.map((piece) => piece.bytes));
  return parts.map((bytes) => new TextDecoder().decode(bytes)).join("");
}

/** The SSE `data:` payloads of a text. */
function dataOf(text: string): string[] {
  return text.split("\n\n").filter((event) => event !== "").map((event) =>
    event.replace(/^data: /, "")
  );
}

Deno.test("--fault values: a kind, a fraction or a percentage; faults take slices of [0, 1)", () => {
  assert.deepEqual(parseFault("reset"), { kind: "reset", rate: 1 });
  assert.deepEqual(parseFault("http_503:10%"), { kind: "http_503", rate: 0.1 });
  assert.deepEqual(parseFault("stall:0.25"), { kind: "stall", rate: 0.25 });
  assert.throws(() => parseFault("boom"), /KIND\[:RATE\] with KIND one of http_400/);
  assert.throws(() => parseFault("reset:0"), /above 0 and at most 1/);
  assert.throws(() => parseFault("reset:150%"), /above 0 and at most 1/);
  const faults = [{ kind: "reset" as const, rate: 0.1 }, { kind: "stall" as const, rate: 0.2 }];
  assert.equal(pickFault(faults, 0.05), "reset");
  assert.equal(pickFault(faults, 0.25), "stall");
  assert.equal(pickFault(faults, 0.31), undefined);
});

Deno.test("content faults on an OpenAI stream: each changes exactly what it names", () => {
  const reply = openAIStream(6);
  const normal = dataOf(wholeStream({
    chat: false,
    id: "cmpl-x",
    created: 0,
    model: "m",
    tokens: 6,
    promptTokens: 3,
    logprobs: false,
    includeUsage: true,
  }));
  assert.equal(normal.at(-1), "[DONE]");

  const reset = faultyBody(reply, "reset")!;
  assert.equal(reset.ending, "reset");
  assert.deepEqual(dataOf(textOf(reset)), normal.slice(0, 3), "half the tokens, then a reset");
  const stall = faultyBody(reply, "stall")!;
  assert.equal(stall.ending, "stall");
  assert.deepEqual(dataOf(textOf(stall)), normal.slice(0, 3));

  const malformed = dataOf(textOf(faultyBody(reply, "malformed_json")!));
  assert.equal(malformed.length, normal.length, "one event broken, none lost");
  const unreadable = malformed.filter((data) => {
    try {
      JSON.parse(data);
      return false;
    } catch {
      return data !== "[DONE]";
    }
  });
  assert.equal(unreadable.length, 1);
  assert.equal(malformed.indexOf(unreadable[0]), 3, "the event of token floor(n / 2)");

  const noDone = dataOf(textOf(faultyBody(reply, "no_done")!));
  assert.deepEqual(noDone, normal.slice(0, -1));

  const huge = faultyBody(reply, "huge_event")!;
  const sizes = huge.pieces.map((piece) => piece.bytes.length);
  assert.equal(sizes.filter((size) => size > HUGE_EVENT_CHARS).length, 1);
  assert.ok(Math.max(...sizes) < HUGE_EVENT_CHARS + 1000);
  const hugeData = dataOf(textOf(huge))[3];
  assert.equal(JSON.parse(hugeData).choices[0].text, " to" + "a".repeat(HUGE_EVENT_CHARS));

  const invalid = faultyBody(reply, "invalid_utf8")!;
  assert.throws(() => new TextDecoder("utf-8", { fatal: true }).decode(invalid.pieces[3].bytes));
  const lenient = dataOf(textOf(invalid));
  assert.equal(JSON.parse(lenient[3]).choices[0].text, " to\ufffd\ufffd", "inside the token text");

  const wrongType = faultyBody(reply, "wrong_content_type")!;
  assert.equal(wrongType.contentType, "text/plain; charset=utf-8");
  assert.deepEqual(dataOf(textOf(wrongType)), normal);

  const trickle = faultyBody(reply, "trickle")!;
  assert.equal(trickle.intervalMs, 1000);
  assert.ok(trickle.pieces.every((piece) => piece.bytes.length === 1));
  assert.deepEqual(dataOf(textOf(trickle)), normal);

  const empty = faultyBody(reply, "empty_200")!;
  assert.deepEqual([empty.pieces.length, empty.head, empty.ending], [0, null, "close"]);

  for (const kind of ["http_500", "refuse", "keepalive_close"] as const) {
    assert.equal(faultyBody(reply, kind), undefined, `${kind} does not change the body`);
  }
});

Deno.test("content faults on a JSON body; stream-only faults leave it alone", () => {
  const reply = openAIReply({
    chat: true,
    id: "c",
    created: 0,
    model: "m",
    tokens: 4,
    promptTokens: 3,
    logprobs: false,
    includeUsage: false,
  });
  const json = reply.json();
  const malformed = faultyBody(reply, "malformed_json")!;
  assert.throws(() => JSON.parse(textOf(malformed)));
  const reset = faultyBody(reply, "reset")!;
  assert.equal(reset.ending, "reset");
  assert.ok(json.startsWith(textOf(reset)) && textOf(reset).length < json.length);
  const invalid = textOf(faultyBody(reply, "invalid_utf8")!);
  assert.equal(JSON.parse(invalid).choices[0].message.content.slice(0, 6), " the\ufffd\ufffd");
  assert.equal(textOf(faultyBody(reply, "trickle")!), json);
  for (const kind of ["huge_event", "no_done", "wrong_content_type"] as const) {
    assert.equal(faultyBody(reply, kind), undefined, kind);
  }
});

Deno.test("no_done drops each dialect's end marker; Triton streams have none", () => {
  const tgi = replyOf(parseTgiRequest({ inputs: "hi", parameters: { details: true } }, {
    stream: true,
    model: "m",
  }));
  const tgiEvents = dataOf(textOf(faultyBody(tgi, "no_done")!)).map((data) => JSON.parse(data));
  assert.equal(tgiEvents.length, 6);
  assert.ok(tgiEvents.every((event) => event.details === null), "no final details event");

  const llama = replyOf(parseLlamacppRequest({ prompt: "hi", stream: true }, { model: "m" }));
  const llamaEvents = dataOf(textOf(faultyBody(llama, "no_done")!)).map((d) => JSON.parse(d));
  assert.equal(llamaEvents.length, 6);
  assert.ok(llamaEvents.every((event) => event.stop === false));

  const ollama = replyOf(
    parseOllamaRequest({ model: "m", prompt: "hi" }, { chat: false, models: ["m"] }),
  );
  const lines = textOf(faultyBody(ollama, "no_done")!).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 6);
  assert.ok(lines.every((line) => line.done === false));

  const triton = replyOf(
    parseTritonGenerate({ text_input: "hi", max_tokens: 6 }, { stream: true, model: "m" }),
  );
  assert.equal(faultyBody(triton, "no_done"), undefined);
  assert.equal(faultyBody(triton, "reset")?.pieces.length, 3, "other faults apply");
});

/** `withMock` with a fast mock (1 ms TTFT and ITL) unless `options` say otherwise. */
function withFaultyMock(
  options: MockOptions,
  body: (mock: MockServer) => Promise<void>,
): Promise<void> {
  return withMock({ ttftMs: 1, itlMs: 1, ...options }, body);
}

/** Sends one raw HTTP/1.1 request and reads until the server closes or `waitMs` passes. */
async function rawExchange(
  mock: MockServer,
  body: unknown,
  options: { path?: string; waitMs?: number; keepAlive?: boolean } = {},
): Promise<{ text: string; closed: boolean }> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port: mock.port });
  const json = JSON.stringify(body);
  const request = `POST ${options.path ?? "/v1/completions"} HTTP/1.1\r\nHost: x\r\n` +
    `Content-Type: application/json\r\nAuthorization: Bearer sk-raw-key\r\n` +
    (options.keepAlive === false ? "Connection: close\r\n" : "") +
    `Content-Length: ${new TextEncoder().encode(json).length}\r\n\r\n${json}`;
  await connection.write(new TextEncoder().encode(request));
  const chunks: Uint8Array[] = [];
  let closed = false;
  const deadline = setTimeout(() => connection.close(), options.waitMs ?? 2000);
  try {
    const buffer = new Uint8Array(65536);
    for (;;) {
      const n = await connection.read(buffer);
      if (n === null) {
        closed = true;
        break;
      }
      chunks.push(buffer.slice(0, n));
    }
  } catch {
    // Closed by the deadline: the server kept the connection open.
  } finally {
    clearTimeout(deadline);
    try {
      connection.close();
    } catch {
      // Already closed.
    }
  }
  return { text: chunks.map((c) => new TextDecoder().decode(c)).join(""), closed };
}

const streamRequest = { prompt: "a b c", max_tokens: 4, stream: true };

Deno.test("connection faults: refuse sends nothing, reset cuts the chunked body, keepalive_close closes after a whole response", async () => {
  await withFaultyMock({ faults: [{ kind: "refuse", rate: 1 }] }, async (mock) => {
    const { text, closed } = await rawExchange(mock, streamRequest);
    assert.deepEqual([text, closed], ["", true], "closed without a status line");
    assert.deepEqual([mock.records()[0].fault, mock.records()[0].status], ["refuse", 0]);
  });
  await withFaultyMock({ faults: [{ kind: "reset", rate: 1 }] }, async (mock) => {
    const { text, closed } = await rawExchange(mock, streamRequest);
    assert.ok(closed);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.equal((text.match(/"text":/g) ?? []).length, 2, "half of the 4 tokens");
    assert.ok(!text.endsWith("0\r\n\r\n"), "no terminating chunk: the body was cut");
  });
  await withFaultyMock({ faults: [{ kind: "keepalive_close", rate: 1 }] }, async (mock) => {
    const { text, closed } = await rawExchange(mock, streamRequest);
    assert.ok(closed);
    assert.match(text, /\r\nconnection: keep-alive\r\n/i, "the response promised keep-alive");
    assert.ok(text.endsWith("data: [DONE]\n\n\r\n0\r\n\r\n"), "the whole response came first");
  });
  await withFaultyMock({}, async (mock) => {
    const { closed } = await rawExchange(mock, streamRequest, { waitMs: 300 });
    assert.equal(closed, false, "without the fault the connection stays open");
  });
});

Deno.test("status faults: 401 echoes the key, 429 says when to retry, each route's error shape", async () => {
  const faults = [{ kind: "http_401" as const, rate: 0.5 }, {
    kind: "http_429" as const,
    rate: 0.5,
  }];
  await withFaultyMock({ faults, seed: 3 }, async (mock) => {
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`${mock.url}/v1/completions`, {
        method: "POST",
        headers: { authorization: "Bearer sk-echo-me" },
        body: JSON.stringify(streamRequest),
      });
      const body = await response.json();
      seen.add(response.status);
      if (response.status === 401) {
        assert.equal(body.error.message, "Incorrect API key provided: Bearer sk-echo-me");
        assert.equal(body.error.code, "invalid_api_key");
      } else {
        assert.equal(response.status, 429);
        assert.equal(response.headers.get("retry-after"), "1");
        assert.equal(body.error.code, "rate_limit_exceeded");
      }
    }
    assert.deepEqual([...seen].sort(), [401, 429]);
    const tgi = await fetch(`${mock.url}/generate`, {
      method: "POST",
      body: JSON.stringify({ inputs: "hi" }),
    });
    assert.ok([401, 429].includes(tgi.status));
    assert.equal(typeof (await tgi.json()).error, "string", "TGI's own error shape");
    const models = await fetch(`${mock.url}/v1/models`);
    assert.equal(models.status, 200, "listing models is never faulted");
    await models.body?.cancel();
  });
});

Deno.test("faults take their share of requests; records name them; invalid settings are refused", async () => {
  const faults = [{ kind: "http_500" as const, rate: 0.3 }, {
    kind: "empty_200" as const,
    rate: 0.2,
  }];
  await withFaultyMock({ faults, seed: 11, ttftMs: 0, itlMs: 0 }, async (mock) => {
    for (let i = 0; i < 200; i++) {
      const response = await fetch(`${mock.url}/v1/completions`, {
        method: "POST",
        body: JSON.stringify({ prompt: "hi", max_tokens: 2 }),
      });
      await response.arrayBuffer();
    }
    const records = mock.records();
    const share = (kind: string | undefined) =>
      records.filter((record) => record.fault === kind).length / records.length;
    assert.ok(Math.abs(share("http_500") - 0.3) < 0.1, `http_500 ${share("http_500")}`);
    assert.ok(Math.abs(share("empty_200") - 0.2) < 0.1, `empty_200 ${share("empty_200")}`);
    assert.ok(Math.abs(share(undefined) - 0.5) < 0.1);
    for (const record of records) {
      assert.equal(record.status, record.fault === "http_500" ? 500 : 200);
    }
  });
  await assert.rejects(
    startMock({ faults: [{ kind: "reset", rate: 0.6 }, { kind: "stall", rate: 0.6 }] }),
    UsageError,
  );
  await assert.rejects(startMock({ faults: [{ kind: "reset", rate: 0 }] }), UsageError);
});

Deno.test("a stalled or trickling stream never keeps the mock from closing", async () => {
  for (const kind of ["stall", "trickle"] as const) {
    const mock = await startMock({ ttftMs: 1, itlMs: 1, faults: [{ kind, rate: 1 }] });
    const response = await fetch(`${mock.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify(streamRequest),
    });
    const reader = response.body!.getReader();
    await reader.read();
    const started = performance.now();
    await mock.close();
    assert.ok(performance.now() - started < 1000, `${kind}: close() returned promptly`);
    await assert.rejects(async () => {
      while (!(await reader.read()).done);
      throw new Error("the body ended normally");
    });
    assert.equal(mock.records()[0].aborted, true);
  }
});

Deno.test("every fault kind is served on every generation route without breaking the server", async () => {
  const routes: Array<{ path: string; body: unknown; marker: boolean }> = [
    { path: "/v1/completions", body: { prompt: "hi", max_tokens: 4, stream: true }, marker: true },
    {
      path: "/v1/chat/completions",
      body: { messages: [{ role: "user", content: "hi" }], max_tokens: 4 },
      marker: false, // not streamed: a JSON body
    },
    { path: "/generate_stream", body: { inputs: "hi" }, marker: true },
    { path: "/completion", body: { prompt: "hi", n_predict: 4, stream: true }, marker: true },
    { path: "/api/chat", body: { model: "mock-model", messages: [] }, marker: true },
    { path: "/v2/models/mock-model/generate_stream", body: { text_input: "hi" }, marker: false },
  ];
  const streamOnly = new Set(["no_done", "huge_event", "wrong_content_type"]);
  const slow = new Set(["stall", "trickle"]);
  await Promise.all(
    FAULT_NAMES.map((kind) =>
      withFaultyMock({ faults: [{ kind, rate: 1 }] }, async (mock) => {
        for (const { path, body } of routes) {
          // Slow kinds never finish: read what arrives within a bound generous enough for a busy CI.
          const waitMs = slow.has(kind) ? 500 : 2000;
          const { text } = await rawExchange(mock, body, { path, waitMs, keepAlive: false });
          if (kind === "refuse") assert.equal(text, "", `${kind} ${path}`);
          else assert.match(text, /^HTTP\/1\.1 \d{3} /, `${kind} ${path}`);
        }
        const records = mock.records();
        assert.equal(records.length, routes.length);
        const applied = records.filter((record) => record.fault === kind).map((r) => r.path);
        const expected = routes.filter((route) =>
          kind === "no_done" ? route.marker : !streamOnly.has(kind) || route.path !== routes[1].path
        ).map((route) => route.path);
        assert.deepEqual(applied, expected, kind);
      })
    ),
  );
});

Deno.test("fault rates are checked once: --fault and startMock refuse rates adding up past 1 alike", async () => {
  const faults = [{ kind: "http_500", rate: 0.6 }, { kind: "reset", rate: 0.6 }] as const;
  await assert.rejects(
    () => startMock({ faults: [...faults] }),
    /^UsageError: Cannot start the mock server with these fault rates: they add up to 1\.2, expected at most 1$/,
  );
});
