import assert from "node:assert/strict";
import { get_encoding } from "tiktoken";
import { type MockServer, startMock } from "../mock/server.ts";
import {
  countPromptTokens,
  countWords,
  MOCK_WORDS,
  type ReplySpec,
  streamParts,
  tokenEvent,
  wholeStream,
} from "../mock/openai.ts";
import { UsageError } from "../common/errors.ts";
import { resolveMockOptions } from "../mock/options.ts";
import type { MockRecord } from "../mock/server.ts";
import { withMock } from "./_harness.ts";

/** One SSE event as the client saw it: its `data` and the absolute time its bytes arrived. */
interface Received {
  readonly data: string;
  readonly at: number;
}

function absNow(): number {
  return performance.timeOrigin + performance.now();
}

function post(mock: MockServer, path: string, body: unknown): Promise<Response> {
  return fetch(`${mock.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-test" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Reads a whole SSE body, noting when each event arrived and how many reads it took. */
async function readEvents(response: Response): Promise<{ events: Received[]; reads: number }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Received[] = [];
  let buffer = "";
  let reads = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    reads++;
    const at = absNow();
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      assert.ok(block.startsWith("data: "), `Unexpected SSE block ${block}`);
      events.push({ data: block.slice(6), at });
    }
  }
  assert.equal(buffer, "", "the stream ends on an event boundary");
  return { events, reads };
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** The JSON chunks of a stream, checking it ends with exactly one `[DONE]`. */
function chunksOf(events: Received[]): Json[] {
  assert.equal(events.at(-1)?.data, "[DONE]");
  return events.slice(0, -1).map((event) => JSON.parse(event.data));
}

function tokenText(chunk: Json): string {
  const choice = chunk.choices[0];
  return choice?.delta?.content ?? choice?.text ?? "";
}

function expectedText(n: number): string {
  let text = "";
  for (let k = 0; k < n; k++) text += MOCK_WORDS[k % MOCK_WORDS.length];
  return text;
}

const chatMessages = [{ role: "user", content: "Say something  long\nplease" }];
/** Tokens of `chatMessages`' text in o200k_base, as the mock counts them. */
const CHAT_PROMPT_TOKENS = 6;

Deno.test("each mock word is exactly one token in o200k_base and cl100k_base", () => {
  for (const name of ["o200k_base", "cl100k_base"] as const) {
    const encoding = get_encoding(name);
    try {
      for (const word of MOCK_WORDS) {
        assert.equal(encoding.encode(word).length, 1, `${name} '${word}'`);
      }
    } finally {
      encoding.free();
    }
  }
});

Deno.test("prompt tokens: every prompt form, counted by the given counter (words by default)", () => {
  const chat = { chat: true };
  const completions = { chat: false };
  assert.equal(countWords(""), 0);
  assert.equal(countWords("  one\ttwo\n three  "), 3);
  assert.equal(countPromptTokens({ prompt: "a b c" }, completions), 3);
  assert.equal(countPromptTokens({ prompt: ["a b", "c"] }, completions), 3);
  assert.equal(countPromptTokens({ prompt: [1, 2, 3, 4] }, completions), 4);
  assert.equal(countPromptTokens({ prompt: [[1, 2], [3]] }, completions), 3);
  const messages = [
    { role: "system", content: "be brief" },
    { role: "user", content: [{ type: "text", text: "hi there you" }, { type: "image_url" }] },
  ];
  assert.equal(countPromptTokens({ messages }, chat), 5);
  assert.equal(countPromptTokens({}, chat), 0);
  const chars = (text: string) => text.length;
  assert.equal(countPromptTokens({ messages }, { ...chat, countTokens: chars }), 20);
  assert.equal(
    countPromptTokens({ prompt: ["ab", [1, 2]] }, { chat: false, countTokens: chars }),
    4,
  );
});

Deno.test("the mock counts prompt tokens with o200k_base, in every dialect", async () => {
  const encoding = get_encoding("o200k_base");
  const prompt = "Tokenizers split words like antidisestablishmentarianism, 12345 and émigré.";
  const expected = encoding.encode_ordinary(prompt).length;
  encoding.free();
  assert.notEqual(expected, countWords(prompt), "a prompt where words and tokens differ");
  await withMock({ ttftMs: 0, itlMs: 0 }, async (mock) => {
    const json = async (path: string, body: unknown) => await (await post(mock, path, body)).json();
    const completion = await json("/v1/completions", { prompt, max_tokens: 2 });
    assert.equal(completion.usage.prompt_tokens, expected);
    const chat = await json("/v1/chat/completions", {
      messages: [{ role: "user", content: prompt }],
      max_tokens: 2,
    });
    assert.equal(chat.usage.prompt_tokens, expected, "chat: the message text, no template");
    const llama = await json("/completion", { prompt, n_predict: 2 });
    assert.equal(llama.tokens_evaluated, expected);
    const ollama = await json("/api/generate", {
      model: "mock-model",
      prompt,
      stream: false,
      options: { num_predict: 2 },
    });
    assert.equal(ollama.prompt_eval_count, expected);
    const tgi = await post(mock, "/generate_stream", {
      inputs: prompt,
      parameters: { max_new_tokens: 2, details: true },
    });
    const last = JSON.parse((await readEvents(tgi)).events.at(-1)!.data);
    assert.equal(last.details.input_length, expected);
  });
});

Deno.test("the single-write payload equals head, per-token events and tail in order", () => {
  for (const chat of [false, true]) {
    for (const logprobs of [false, true]) {
      const spec: ReplySpec = {
        chat,
        id: "x-1",
        created: 7,
        model: 'odd "model"',
        tokens: 19,
        promptTokens: 4,
        logprobs,
        includeUsage: true,
      };
      const parts = streamParts(spec);
      let expected = parts.head;
      for (let k = 0; k < spec.tokens; k++) {
        const event = tokenEvent(spec, k);
        if (parts.cycle !== null) assert.equal(parts.cycle[k % parts.cycle.length], event);
        expected += event;
      }
      assert.equal(wholeStream(spec), expected + parts.tail);
      assert.equal(parts.cycle === null, !chat && logprobs);
    }
  }
});

Deno.test("GET /v1/models lists the configured models", async () => {
  await withMock({ models: ["a", "b"], ownedBy: "sglang" }, async (mock) => {
    const response = await fetch(`${mock.url}/v1/models`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /application\/json/);
    const list = await response.json();
    assert.equal(list.object, "list");
    assert.deepEqual(list.data.map((m: Json) => [m.id, m.object, m.owned_by]), [
      ["a", "model", "sglang"],
      ["b", "model", "sglang"],
    ]);
    assert.ok(Number.isInteger(list.data[0].created));
  });
  await withMock({}, async (mock) => {
    const list = await (await fetch(`${mock.url}/v1/models`)).json();
    assert.deepEqual(list.data.map((m: Json) => [m.id, m.owned_by]), [["mock-model", "vllm"]]);
  });
});

Deno.test("non-streamed completions and chat return exactly max_tokens with usage", async () => {
  await withMock({ ttftMs: 0, itlMs: 1 }, async (mock) => {
    for (const n of [1, 5, 16]) {
      const response = await post(mock, "/v1/completions", {
        model: "any-name",
        prompt: "one two three",
        max_tokens: n,
      });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.object, "text_completion");
      assert.equal(body.model, "any-name");
      assert.equal(body.choices[0].text, expectedText(n));
      assert.equal(body.choices[0].finish_reason, "length");
      assert.equal(body.choices[0].logprobs, null);
      assert.deepEqual(body.usage, {
        prompt_tokens: 3,
        completion_tokens: n,
        total_tokens: 3 + n,
      });
    }
    const chat = await (await post(mock, "/v1/chat/completions", {
      messages: chatMessages,
      max_tokens: 7,
    })).json();
    assert.equal(chat.object, "chat.completion");
    assert.equal(chat.model, "mock-model");
    assert.deepEqual(chat.choices[0].message, { role: "assistant", content: expectedText(7) });
    assert.equal(chat.choices[0].finish_reason, "length");
    assert.deepEqual(chat.usage, {
      prompt_tokens: CHAT_PROMPT_TOKENS,
      completion_tokens: 7,
      total_tokens: CHAT_PROMPT_TOKENS + 7,
    });
    const defaulted = await (await post(mock, "/v1/completions", { prompt: "x" })).json();
    assert.equal(defaulted.usage.completion_tokens, 16);
  });
});

Deno.test("streamed completions send one token per event and honour max_tokens", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    for (const n of [1, 2, 9, 33]) {
      const response = await post(mock, "/v1/completions", {
        prompt: "p",
        max_tokens: n,
        stream: true,
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type")!, /^text\/event-stream/);
      const chunks = chunksOf((await readEvents(response)).events);
      assert.equal(chunks.length, n + 1, "n token chunks and one finish chunk");
      const tokens = chunks.slice(0, n);
      assert.deepEqual(tokens.map(tokenText), [...expectedText(n).matchAll(/ \w+/g)].map(String));
      for (const chunk of tokens) {
        assert.equal(chunk.object, "text_completion");
        assert.equal(chunk.id, chunks[0].id);
        assert.equal(chunk.choices[0].finish_reason, null);
        assert.equal("usage" in chunk, false, "no usage field without include_usage");
      }
      assert.equal(chunks[n].choices[0].text, "");
      assert.equal(chunks[n].choices[0].finish_reason, "length");
    }
  });
});

Deno.test("streamed chat starts with a role-only chunk; usage only with include_usage", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    for (const includeUsage of [false, true]) {
      const n = 6;
      const response = await post(mock, "/v1/chat/completions", {
        messages: chatMessages,
        max_tokens: n,
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      const chunks = chunksOf((await readEvents(response)).events);
      assert.equal(chunks.length, n + 2 + (includeUsage ? 1 : 0));
      assert.deepEqual(chunks[0].choices, [{
        index: 0,
        delta: { role: "assistant", content: "" },
        logprobs: null,
        finish_reason: null,
      }]);
      const tokens = chunks.slice(1, n + 1);
      assert.equal(tokens.map(tokenText).join(""), expectedText(n));
      for (const chunk of tokens) {
        assert.equal(chunk.object, "chat.completion.chunk");
        assert.deepEqual(Object.keys(chunk.choices[0].delta), ["content"]);
      }
      assert.deepEqual(chunks[n + 1].choices[0].delta, {});
      assert.equal(chunks[n + 1].choices[0].finish_reason, "length");
      if (includeUsage) {
        for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage, null);
        const usage = chunks.at(-1);
        assert.deepEqual(usage.choices, []);
        assert.deepEqual(usage.usage, {
          prompt_tokens: CHAT_PROMPT_TOKENS,
          completion_tokens: n,
          total_tokens: CHAT_PROMPT_TOKENS + n,
        });
      } else {
        for (const chunk of chunks) assert.equal("usage" in chunk, false);
      }
    }
  });
});

Deno.test("logprobs come with one entry per token", async () => {
  await withMock({ ttftMs: 0, itlMs: 1 }, async (mock) => {
    const n = 10;
    const completion = chunksOf(
      (await readEvents(
        await post(mock, "/v1/completions", {
          prompt: "p",
          max_tokens: n,
          stream: true,
          logprobs: 0,
        }),
      )).events,
    ).slice(0, n);
    let offset = 0;
    for (const chunk of completion) {
      const logprobs = chunk.choices[0].logprobs;
      assert.deepEqual(logprobs.tokens, [chunk.choices[0].text]);
      assert.equal(logprobs.token_logprobs.length, 1);
      assert.ok(logprobs.token_logprobs[0] < 0);
      assert.equal(logprobs.top_logprobs, null);
      assert.deepEqual(logprobs.text_offset, [offset]);
      offset += chunk.choices[0].text.length;
    }
    const chat = chunksOf(
      (await readEvents(
        await post(mock, "/v1/chat/completions", {
          messages: chatMessages,
          max_tokens: n,
          stream: true,
          logprobs: true,
        }),
      )).events,
    ).slice(1, n + 1);
    for (const chunk of chat) {
      const [entry, ...rest] = chunk.choices[0].logprobs.content;
      assert.equal(rest.length, 0);
      assert.equal(entry.token, chunk.choices[0].delta.content);
      assert.deepEqual(entry.bytes, [...new TextEncoder().encode(entry.token)]);
      assert.deepEqual(entry.top_logprobs, []);
      assert.ok(entry.logprob < 0);
    }
    const whole = await (await post(mock, "/v1/completions", {
      prompt: "p",
      max_tokens: n,
      logprobs: 1,
    })).json();
    assert.equal(whole.choices[0].logprobs.tokens.join(""), expectedText(n));
    assert.equal(whole.choices[0].logprobs.text_offset.length, n);
    const wholeChat = await (await post(mock, "/v1/chat/completions", {
      messages: chatMessages,
      max_tokens: n,
      logprobs: true,
    })).json();
    assert.equal(wholeChat.choices[0].logprobs.content.length, n);
  });
});

Deno.test("itlMs 0 sends the whole stream in one write with the exact token count", async () => {
  await withMock({ ttftMs: 5, itlMs: 0 }, async (mock) => {
    for (
      const [path, extra] of [["/v1/completions", { prompt: "p" }], [
        "/v1/chat/completions",
        { messages: chatMessages },
      ]] as const
    ) {
      // Small enough (about 4 KB) that one server write arrives in one client read.
      const n = 20;
      const response = await post(mock, path, {
        ...extra,
        max_tokens: n,
        stream: true,
        stream_options: { include_usage: true },
      });
      const { events, reads } = await readEvents(response);
      assert.equal(reads, 1, "one read: the payload went out in one write");
      const chunks = chunksOf(events);
      assert.equal(chunks.map(tokenText).join(""), expectedText(n));
      assert.equal(chunks.filter((chunk) => tokenText(chunk) !== "").length, n);
      assert.equal(chunks.at(-1).usage.completion_tokens, n);
    }
    for (const record of mock.records()) {
      assert.equal(record.tokensSent, 20);
      assert.equal(record.maxGapMs, 0);
      assert.equal(record.firstTokenAt, record.doneAt);
      assert.ok(record.firstTokenAt! - record.receivedAt >= 5);
    }
  });
});

Deno.test("first token waits ttftMs, the role chunk does not, records are in order", async () => {
  const ttftMs = 150;
  const itlMs = 15;
  await withMock({ ttftMs, itlMs }, async (mock) => {
    const sentAt = absNow();
    const response = await post(mock, "/v1/chat/completions", {
      model: "m",
      messages: chatMessages,
      max_tokens: 5,
      stream: true,
    });
    const { events } = await readEvents(response);
    const firstToken = events.find((event) => event.data.includes('"content":" '))!;
    assert.ok(events[0].at - sentAt < ttftMs, "the role chunk goes out before the first token");
    assert.ok(firstToken.at - sentAt >= ttftMs, `first token after ${firstToken.at - sentAt} ms`);
    assert.ok(firstToken.at - sentAt < ttftMs + 1000, "first token within a generous bound");

    const [record] = mock.records();
    assert.equal(record.tokensSent, 5);
    assert.equal(record.aborted, false);
    assert.ok(sentAt <= record.receivedAt);
    assert.ok(record.receivedAt <= record.firstTokenAt!);
    assert.ok(record.firstTokenAt! <= record.lastTokenAt!);
    assert.ok(record.lastTokenAt! <= record.doneAt!);
    assert.ok(record.firstTokenAt! - record.receivedAt >= ttftMs);
    // Tokens are kept on a timeline: token k is due ttft + k * itl after the body was read.
    assert.ok(record.lastTokenAt! - record.receivedAt >= ttftMs + 4 * itlMs);
    assert.ok(record.maxGapMs > 0 && record.maxGapMs < 1000);
  });
});

Deno.test("jitter keeps each delay within [1 - jitter, 1 + jitter] of its setting", async () => {
  await withMock({ ttftMs: 100, itlMs: 1, jitter: 0.5, seed: 42 }, async (mock) => {
    const n = 3;
    for (let i = 0; i < n; i++) {
      await readEvents(await post(mock, "/v1/completions", { max_tokens: 1, stream: true }));
    }
    for (const record of mock.records()) {
      const ttft = record.firstTokenAt! - record.receivedAt;
      assert.ok(ttft >= 50 && ttft < 150 + 500, `ttft ${ttft}`);
    }
  });
  await assert.rejects(() => startMock({ jitter: 2 }), UsageError);
  await assert.rejects(() => startMock({ itlMs: -1 }), /itlMs -1/);
  await assert.rejects(() => startMock({ models: [] }), UsageError);
});

Deno.test("records hold headers, body and flags; /mock/requests serves and clears them", async () => {
  await withMock({ ttftMs: 0, itlMs: 1 }, async (mock) => {
    const body = { model: "x", prompt: "hello", max_tokens: 3, stream: true };
    await readEvents(await post(mock, "/v1/completions", body));
    await (await post(mock, "/v1/chat/completions", { messages: chatMessages })).json();
    const records = mock.records();
    assert.equal(records.length, 2);
    const [first, second] = records;
    assert.equal(first.seq + 1, second.seq);
    assert.equal(first.path, "/v1/completions");
    assert.equal(first.headers["authorization"], "Bearer sk-test");
    assert.equal(first.headers["content-type"], "application/json");
    assert.deepEqual(first.body, body);
    assert.equal(first.maxTokens, 3);
    assert.equal(first.stream, true);
    assert.equal(first.tokensSent, 3);
    assert.equal(first.status, 200);
    assert.equal(second.path, "/v1/chat/completions");
    assert.equal(second.maxTokens, 16);
    assert.equal(second.stream, false);
    assert.ok(second.doneAt! >= second.receivedAt);

    const served = await (await fetch(`${mock.url}/mock/requests`)).json();
    assert.deepEqual(served, JSON.parse(JSON.stringify(records)));
    const cleared = await fetch(`${mock.url}/mock/requests`, { method: "DELETE" });
    assert.deepEqual(await cleared.json(), { cleared: 2 });
    assert.deepEqual(mock.records(), []);
    assert.deepEqual(await (await fetch(`${mock.url}/mock/requests`)).json(), []);
  });
  await withMock({ ttftMs: 0, itlMs: 0, maxRecords: 2 }, async (mock) => {
    for (let i = 0; i < 7; i++) {
      await (await post(mock, "/v1/completions", { max_tokens: 1 })).json();
    }
    assert.deepEqual(mock.records().map((record) => record.seq), [6, 7]);
  });
});

Deno.test("bad requests get 400, unknown routes 404, wrong methods 405, all as JSON", async () => {
  await withMock({ models: ["a", "b"], ttftMs: 0, itlMs: 0 }, async (mock) => {
    const cases: [string, unknown][] = [
      ["/v1/completions", "{not json"],
      ["/v1/completions", { prompt: "no model" }],
      ["/v1/completions", { model: "a", max_tokens: 0 }],
      ["/v1/completions", { model: "a", max_tokens: 2.5 }],
      ["/v1/chat/completions", { model: "a" }],
      ["/v1/completions", [1, 2]],
    ];
    for (const [path, body] of cases) {
      const response = await post(mock, path, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const { error } = await response.json();
      assert.equal(typeof error.message, "string");
      assert.equal(error.type, "invalid_request_error");
      assert.equal(typeof error.code, "string");
    }
    assert.deepEqual(mock.records().map((record) => record.status), cases.map(() => 400));
    assert.equal(mock.records()[0].body, undefined);
    const named = await post(mock, "/v1/completions", { model: "not-listed", max_tokens: 1 });
    assert.equal((await named.json()).model, "not-listed");

    const missing = await fetch(`${mock.url}/v2/nothing`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "not_found");
    const wrongMethod = await fetch(`${mock.url}/v1/completions`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(typeof (await wrongMethod.json()).error.message, "string");
  });
});

Deno.test("close() with a stream in flight returns promptly and cuts the stream", async () => {
  const mock = await startMock({ ttftMs: 0, itlMs: 20 });
  const response = await post(mock, "/v1/completions", { max_tokens: 10_000, stream: true });
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.equal(first.done, false);
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    mock.close().then(() => true),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 3000)),
  ]);
  clearTimeout(timer);
  assert.equal(closed, true, "close() resolved");
  assert.ok(performance.now() - started < 3000);
  await assert.rejects(async () => {
    while (!(await reader.read()).done);
  });
  const [record] = mock.records();
  assert.equal(record.aborted, true);
  assert.equal(record.doneAt, undefined);
  assert.ok(record.tokensSent < 10_000);
});

/** Waits up to 2 s for the first record to show its client gone, and asserts it never finished. */
async function assertFirstAborted(mock: MockServer): Promise<void> {
  // The server notices on its next write at the latest; poll the record on the server's clock.
  const deadline = performance.now() + 2000;
  while (!mock.records()[0].aborted && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(mock.records()[0].aborted, true);
  assert.equal(mock.records()[0].doneAt, undefined);
}

Deno.test("a client that disconnects stops its stream's timer", async () => {
  await withMock({ ttftMs: 0, itlMs: 5 }, async (mock) => {
    const response = await post(mock, "/v1/completions", { max_tokens: 10_000, stream: true });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await assertFirstAborted(mock);
  });
});

// Lockstep

/** Sends `n` streamed completions at once, each of `tokens` tokens, and reads them whole. */
async function concurrentStreams(mock: MockServer, n: number, tokens: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async () => {
      const { events } = await readEvents(
        await post(mock, "/v1/completions", { max_tokens: tokens, stream: true }),
      );
      assert.equal(chunksOf(events).filter((chunk) => tokenText(chunk) !== "").length, tokens);
    }),
  );
}

/** Records by the grid step of their first token. */
function byFirstStep(records: MockRecord[]): Map<number, MockRecord[]> {
  const groups = new Map<number, MockRecord[]>();
  for (const record of records) {
    groups.set(record.firstStep!, [...groups.get(record.firstStep!) ?? [], record]);
  }
  return groups;
}

const GRID_EPSILON_MS = 1e-6;

Deno.test("lockstep: every stream's tokens fall on one grid, --itl apart, one tick per step", async () => {
  const itlMs = 20;
  const tokens = 5;
  await withMock({ ttftMs: 100, itlMs, lockstep: true }, async (mock) => {
    await concurrentStreams(mock, 8, tokens);
    const records = mock.records();
    assert.equal(records.length, 8);
    // Steps are numbered from one origin and lie itlMs apart: step s is due at origin + s * itl.
    const origin = records[0].firstStepAt! - records[0].firstStep! * itlMs;
    for (const record of records) {
      assert.equal(record.tokensSent, tokens);
      assert.equal(record.aborted, false);
      assert.equal(record.lastStep! - record.firstStep!, tokens - 1, "one token per step");
      assert.ok(
        Math.abs(record.firstStepAt! - record.firstStep! * itlMs - origin) < GRID_EPSILON_MS,
      );
      assert.ok(Math.abs(record.lastStepAt! - record.lastStep! * itlMs - origin) < GRID_EPSILON_MS);
      // The first token's step is the first one at or after arrival + TTFT; none goes out early.
      assert.ok(record.firstStepAt! >= record.receivedAt + 100);
      assert.ok(record.firstTokenAt! >= record.firstStepAt!);
      assert.ok(record.lastTokenAt! >= record.lastStepAt!);
    }
    // Every stream of one step was written in the same tick: one time for all of them.
    const groups = byFirstStep(records);
    for (const group of groups.values()) {
      assert.equal(new Set(group.map((record) => record.firstTokenAt)).size, 1);
      assert.equal(new Set(group.map((record) => record.lastTokenAt)).size, 1);
    }
    assert.ok(Math.max(...[...groups.values()].map((group) => group.length)) > 1, "steps shared");
  });
});

Deno.test("lockstep --itl-per-stream-us: the step grows by that much per running stream", async () => {
  const itlMs = 10;
  const perStreamUs = 5000;
  const tokens = 4;
  await withMock(
    { ttftMs: 50, itlMs, lockstep: true, itlPerStreamUs: perStreamUs },
    async (mock) => {
      await concurrentStreams(mock, 1, tokens);
      const [alone] = mock.records();
      // A lone stream runs by itself: every step is itl + 1 × 5 ms.
      const aloneStep = (alone.lastStepAt! - alone.firstStepAt!) / (tokens - 1);
      assert.ok(Math.abs(aloneStep - (itlMs + perStreamUs / 1000)) < GRID_EPSILON_MS);
      mock.clearRecords();
      const n = 4;
      await concurrentStreams(mock, n, tokens);
      const records = mock.records();
      // Each stream counts itself, and at most all n run at once.
      const steps = records.map((r) => (r.lastStepAt! - r.firstStepAt!) / (tokens - 1));
      for (const step of steps) {
        assert.ok(step >= aloneStep - GRID_EPSILON_MS, `step ${step} ms`);
        assert.ok(step <= itlMs + n * perStreamUs / 1000 + GRID_EPSILON_MS, `step ${step} ms`);
      }
      assert.ok(Math.max(...steps) > aloneStep, "steps grew with the streams beside them");
      // Streams that share all their steps ran n at once: each step was itl + n × 5 ms.
      for (const group of byFirstStep(records).values()) {
        if (group.length !== n) continue;
        const step = (group[0].lastStepAt! - group[0].firstStepAt!) / (tokens - 1);
        assert.ok(Math.abs(step - (itlMs + n * perStreamUs / 1000)) < GRID_EPSILON_MS);
      }
    },
  );
});

Deno.test("lockstep: a client that leaves stops getting writes; close() cuts the rest", async () => {
  const mock = await startMock({ ttftMs: 0, itlMs: 5, lockstep: true });
  try {
    const leaving = await post(mock, "/v1/completions", { max_tokens: 10_000, stream: true });
    const reader = leaving.body!.getReader();
    await reader.read();
    await reader.cancel();
    await assertFirstAborted(mock);
    const staying = await post(mock, "/v1/completions", { max_tokens: 10_000, stream: true });
    const rest = staying.body!.getReader();
    assert.equal((await rest.read()).done, false);
    await mock.close();
    await assert.rejects(async () => {
      while (!(await rest.read()).done);
    });
    assert.equal(mock.records()[1].aborted, true);
  } finally {
    await mock.close();
  }
});

Deno.test("lockstep options: clear errors for a bad or lone --itl-per-stream-us, --jitter, --itl 0", async () => {
  assert.deepEqual(
    [resolveMockOptions({ lockstep: true }).lockstep, resolveMockOptions({}).lockstep],
    [true, undefined],
  );
  assert.equal(
    resolveMockOptions({ lockstep: true, "itl-per-stream-us": "50" }).itlPerStreamUs,
    50,
  );
  const usage = (flags: Record<string, string | boolean>, message: string) =>
    assert.throws(() => resolveMockOptions(flags), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, message);
      return true;
    });
  usage(
    { lockstep: true, "itl-per-stream-us": "1.5" },
    "Invalid --itl-per-stream-us '1.5': expected a whole number of at least 0",
  );
  usage(
    { "itl-per-stream-us": "50" },
    "Cannot use --itl-per-stream-us without --lockstep: the step grows per running stream only " +
      "on the lockstep grid; add --lockstep",
  );
  usage(
    { lockstep: true, jitter: "10%" },
    "Cannot use --lockstep with --jitter 10%: the lockstep grid has no jitter; use --jitter 0 " +
      "or drop --lockstep",
  );
  usage(
    { lockstep: true, itl: "0" },
    "Cannot use --lockstep with --itl 0: the grid needs a step; give --itl above 0, e.g. 20ms",
  );
  await assert.rejects(() => startMock({ lockstep: true, jitter: 0.1 }), /no jitter/);
  await assert.rejects(() => startMock({ itlPerStreamUs: 5 }), /without lockstep/);
  await assert.rejects(() => startMock({ lockstep: true, itlPerStreamUs: -1 }), /whole number/);
  // The command line turns these into exit code 2 with the message.
  const main = new URL("../main.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "mock", "--itl-per-stream-us", "5"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /without --lockstep/);
});
