/**
 * The request path end to end: `runRequest` against small servers on 127.0.0.1 that answer in
 * exactly the bytes a test needs (a raw socket, so headers and the first event can share one
 * write), on both transports; then its own limits and messages (event size, end marker,
 * UTF-8, secrets, timeouts) with scripted transports.
 *
 * @module
 */
import assert from "node:assert/strict";
import net from "node:net";
import { type RequestContext, type RequestOutcome, runRequest } from "../request/run_request.ts";
import { createTransport } from "../transport/mod.ts";
import type { ResponseSink, Transport } from "../transport/types.ts";
import { MAX_EVENT_BYTES } from "../request/stream_decoder.ts";
import { ResponseReader } from "../request/response_reader.ts";
import {
  BadResponseError,
  classifyError,
  headProblem,
  httpFailure,
  SendError,
  StopError,
} from "../request/classify.ts";
import { credentialsIn, maskSecrets } from "../common/secrets.ts";
import { formatMetricTable } from "../output/report.ts";
import { buildResults } from "../output/results.ts";
import { startShard } from "../load/shard.ts";
import type { FromShard } from "../load/shard.ts";
import { absoluteNow } from "../load/clock.ts";
import { createProvider } from "../providers/mod.ts";
import type { RequestRecord } from "../request/types.ts";
import type { TransportKind } from "../transport/types.ts";
import { aggregateOf } from "./_server_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";

const KEY = "sk-request-test-9f8e7d6c";
const TRANSPORTS: readonly TransportKind[] = ["http1", "node", "fetch"];
const utf8 = new TextEncoder();

/** A raw HTTP/1.1 server: each request gets `answer(head)` in one write, then the socket ends. */
interface RawServer {
  readonly url: string;
  /** The request heads received, in order. */
  readonly heads: string[];
  close(): Promise<void>;
}

async function rawServer(
  answer: (head: string) => string,
  options: { keepOpen?: boolean } = {},
): Promise<RawServer> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = "";
    socket.on("data", (data: Uint8Array) => {
      buffered += new TextDecoder().decode(data);
      const split = buffered.indexOf("\r\n\r\n");
      if (split < 0) return;
      const head = buffered.slice(0, split);
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < split + 4 + length) return;
      buffered = buffered.slice(split + 4 + length);
      heads.push(head);
      socket.write(answer(head));
      if (!options.keepOpen) socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function sseResponse(events: readonly unknown[], options: { done?: boolean } = {}): string {
  const body = events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("") +
    (options.done === false ? "" : "data: [DONE]\n\n");
  return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n" + body;
}

function jsonResponse(body: unknown, status = 200): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${status} OK\r\ncontent-type: application/json\r\n` +
    `content-length: ${new TextEncoder().encode(text).length}\r\nconnection: close\r\n\r\n${text}`;
}

function contextFor(
  url: string,
  transport: Transport,
  options: { provider?: string; stream?: boolean; n?: number; chat?: boolean } = {},
): RequestContext {
  return {
    provider: createProvider(options.provider ?? "openai", {
      model: "m",
      chat: options.chat ?? false,
      stream: options.stream ?? true,
      temperature: 1,
      n: options.n,
    }),
    transport,
    host: url,
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
    timeoutMs: 5_000,
    completions: options.n,
    countTokens: (text) => Promise.resolve(text.length === 0 ? 0 : text.split(" ").length),
  };
}

/** Runs one request against a raw server answering `answer`, on the given transport. */
async function requestOnce(
  answer: (head: string) => string,
  options: { provider?: string; stream?: boolean; n?: number; transport?: TransportKind } = {},
): Promise<RequestOutcome> {
  const server = await rawServer(answer);
  const transport = createTransport(options.transport ?? "node");
  try {
    return await runRequest(contextFor(server.url, transport, options), {
      prompt: "p",
      maxTokens: 16,
    });
  } finally {
    transport.close();
    await server.close();
  }
}

function recordOf(outcome: RequestOutcome): RequestRecord {
  if (!outcome.ok) throw new Error(`Expected a success, got ${JSON.stringify(outcome.failure)}`);
  return outcome.record;
}

function failureOf(outcome: RequestOutcome) {
  if (outcome.ok) throw new Error("Expected a failure, got a success");
  return outcome.failure;
}

function tableOf(records: RequestRecord[], promptRandomize = false): string {
  const config = runConfig(["-H", "http://127.0.0.1:1"], { promptRandomize });
  return formatMetricTable(
    buildResults(aggregateOf(records), {
      provider: "openai",
      model: "m",
      config,
      startedAt: 0,
      endedAt: 1000,
      durationMs: 1000,
    }),
  );
}

Deno.test("an empty completion (stopped on its first token) is a success with its tokens, without ttft or itl", async () => {
  const streamed = recordOf(
    await requestOnce(() =>
      sseResponse([
        { choices: [{ index: 0, text: "", finish_reason: "stop" }] },
        { choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } },
      ])
    ),
  );
  assert.equal(streamed.empty, true);
  assert.equal(streamed.outputTokens, 1);
  assert.equal(streamed.tokenSource, "usage");
  assert.equal(streamed.ttft, undefined);
  assert.equal(streamed.ttfvt, undefined);
  assert.deepEqual(streamed.itl, []);
  assert.ok(streamed.totalLatency >= 0);

  const body = recordOf(
    await requestOnce(() =>
      jsonResponse({
        choices: [{ index: 0, text: "", finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 1 },
      }), { stream: false }),
  );
  assert.equal(body.empty, true);
  assert.equal(body.outputTokens, 1);

  // llama.cpp's native stream: no [DONE], the final `stop: true` event carries the counts.
  const llama = recordOf(
    await requestOnce(() =>
      sseResponse([
        { content: "", stop: true, tokens_predicted: 1, tokens_evaluated: 5, truncated: false },
      ], { done: false }), { provider: "llamacpp" }),
  );
  assert.equal(llama.empty, true);
  assert.equal(llama.outputTokens, 1);

  const table = tableOf([streamed, body, { ...streamed, empty: undefined, ttft: 5, itl: [1] }]);
  assert.match(table, /Empty replies: 2 of 3 requests ended without generated text/);
  assert.match(table, /^ttft .* 1 /m, "only the reply with text has a ttft");
});

Deno.test("a cut-short reply without text or counts is still a bad_response", async () => {
  const cut = failureOf(
    await requestOnce(() => sseResponse([{ content: "" }], { done: false }), {
      provider: "llamacpp",
    }),
  );
  assert.equal(cut.kind, "bad_response");
  assert.equal(cut.message, "Response ended without generated text");
});

Deno.test("usage reported per choice (llama.cpp, n = 2) is summed over the choices", async () => {
  // llama.cpp's OpenAI route streams each choice's tokens and ends each choice with its own
  // finish chunk carrying that choice's usage.
  const events: unknown[] = [];
  for (let k = 0; k < 16; k++) {
    for (const index of [0, 1]) events.push({ choices: [{ index, text: " a" }] });
  }
  for (const index of [0, 1]) {
    events.push({
      choices: [{ index, text: "", finish_reason: "length" }],
      usage: { prompt_tokens: 5, completion_tokens: 16, total_tokens: 21 },
      timings: { prompt_n: 5, predicted_n: 16 },
    });
  }
  for (const transport of TRANSPORTS) {
    const record = recordOf(await requestOnce(() => sseResponse(events), { n: 2, transport }));
    assert.equal(record.outputTokens, 32, transport);
    assert.equal(record.expectedOutputTokens, 32);
    assert.equal(record.promptTokens, 5, "the prompt is counted once, not once per choice");
  }
  // vLLM sends one usage chunk for the whole response (no choices): it is taken as it is.
  const whole = recordOf(
    await requestOnce(() =>
      sseResponse([
        { choices: [{ index: 0, text: " a" }] },
        { choices: [{ index: 1, text: " b" }] },
        { choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } },
      ]), { n: 2 }),
  );
  assert.equal(whole.outputTokens, 2);
});

Deno.test("cached prompt tokens are recorded and a mostly cached prompt suggests --prompt-randomize", async () => {
  const openai = recordOf(
    await requestOnce(() =>
      sseResponse([
        { choices: [{ index: 0, text: " a" }] },
        {
          choices: [],
          usage: {
            prompt_tokens: 100,
            completion_tokens: 1,
            prompt_tokens_details: { cached_tokens: 96 },
          },
        },
      ])
    ),
  );
  assert.equal(openai.cachedPromptTokens, 96);
  const llama = recordOf(
    await requestOnce(() =>
      sseResponse([
        { content: " a", stop: false },
        {
          content: "",
          stop: true,
          tokens_predicted: 1,
          tokens_evaluated: 100,
          tokens_cached: 101,
          timings: { cache_n: 80, prompt_n: 20, predicted_n: 1 },
        },
      ], { done: false }), { provider: "llamacpp" }),
  );
  assert.equal(llama.cachedPromptTokens, 80, "timings.cache_n, not tokens_cached");
  const uncached = recordOf(
    await requestOnce(() =>
      sseResponse([{
        choices: [{ index: 0, text: " a" }],
        usage: { prompt_tokens: 100, completion_tokens: 1 },
      }])
    ),
  );
  assert.equal(uncached.cachedPromptTokens, undefined);

  const table = tableOf([openai, llama, uncached]);
  assert.match(
    table,
    /Prompt cache: 176 of 200 prompt tokens \(88\.0%\) served from the server's cache; 2 of 2 requests hit it \(100\.0%\); .*--prompt-randomize/,
  );
  assert.doesNotMatch(tableOf([openai], true), /--prompt-randomize/, "already randomized");
  assert.doesNotMatch(tableOf([{ ...openai, cachedPromptTokens: 10 }]), /--prompt-randomize/);
});

Deno.test("a server error event mid-stream is quoted as the server's error, masked", async () => {
  for (const transport of TRANSPORTS) {
    const failure = failureOf(
      await requestOnce(() =>
        sseResponse([
          { choices: [{ index: 0, text: " a" }] },
          { error: { message: `context overflow for ${KEY}`, code: 500 } },
        ]), { transport }),
    );
    assert.equal(failure.kind, "bad_response");
    assert.equal(
      failure.message,
      'Server sent an error event: {"message":"context overflow for ***","code":500}',
    );
  }
  const llama = failureOf(
    await requestOnce(() => sseResponse([{ error: "slot unavailable" }], { done: false }), {
      provider: "llamacpp",
    }),
  );
  assert.equal(llama.message, 'Server sent an error event: "slot unavailable"');
});

Deno.test("a reply cut at the context size (truncated: true) is counted as truncated", async () => {
  const llama = recordOf(
    await requestOnce(() =>
      sseResponse([
        { content: " a", stop: false },
        { content: "", stop: true, tokens_predicted: 1, tokens_evaluated: 5, truncated: true },
      ], { done: false }), { provider: "llamacpp" }),
  );
  assert.equal(llama.truncated, true);
  const body = recordOf(
    await requestOnce(() =>
      jsonResponse({
        choices: [{ index: 0, text: " a", finish_reason: "length" }],
        usage: { prompt_tokens: 5, completion_tokens: 1 },
        truncated: true,
      }), { stream: false }),
  );
  assert.equal(body.truncated, true);
  const whole = recordOf(
    await requestOnce(
      () =>
        sseResponse([{ content: " a", stop: true, tokens_predicted: 1, truncated: false }], {
          done: false,
        }),
      { provider: "llamacpp" },
    ),
  );
  assert.equal(whole.truncated, undefined);
  assert.match(
    tableOf([llama, body, whole]),
    /Truncated replies: 2 of 3 requests were cut at the server's context size/,
  );
});

Deno.test("a refused first event in the same read as the headers ends the request, never the process", async () => {
  const escaped: unknown[] = [];
  const onRejection = (event: PromiseRejectionEvent) => {
    escaped.push(event.reason);
    event.preventDefault();
  };
  const onError = (event: ErrorEvent) => {
    escaped.push(event.error);
    event.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  const head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
  const answers = [
    `${head}data: {"error":{"message":"refused ${KEY}"}}\n\n`,
    `${head}data: {"choices":[{"text": broken\n\n`,
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\ndata: {}\n\n",
  ];
  try {
    for (const kind of TRANSPORTS) {
      for (const answer of answers) {
        // The socket stays open: the client alone ends the exchange, by aborting.
        const server = await rawServer(() => answer, { keepOpen: true });
        const transport = createTransport(kind);
        try {
          for (let i = 0; i < 5; i++) {
            const failure = failureOf(
              await runRequest(contextFor(server.url, transport), { prompt: "p", maxTokens: 1 }),
            );
            assert.equal(failure.kind, "bad_response", `${kind}: ${failure.message}`);
            assert.ok(!failure.message.includes(KEY), failure.message);
          }
        } finally {
          transport.close();
          await server.close();
        }
      }
    }
    // Anything escaping would surface on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  }
  assert.deepEqual(escaped.map(String), []);
});

Deno.test("a request the HTTP client rejects synchronously is a counted failure and the user loop yields", async () => {
  // A header value node:http refuses before sending anything.
  const config = runConfig(
    ["-H", "http://127.0.0.1:9", "-m", "m", "-u", "1", "--max-requests", "1000"],
    { headers: { "x-bad": "line\nbreak" }, provider: "openai", warmupMs: 0 },
  );
  const messages: FromShard[] = [];
  const shard = startShard({
    config: { ...config, model: "m", provider: "openai" },
    prompt: "hi",
    shardIndex: 0,
    shardCount: 1,
    startAt: absoluteNow(),
    seed: 1,
  }, (message) => messages.push(message));
  const failedIn = (entries: FromShard[]) =>
    entries.reduce(
      (sum, entry) => sum + (entry.type === "delta" ? entry.delta.failures.connect?.count ?? 0 : 0),
      0,
    );
  // A timer due at once: it runs between the user's requests only if the loop yields.
  const failedWhenTimerRan = await new Promise<number>((resolve) =>
    setTimeout(() => {
      shard.reset(1); // posts the delta so far
      resolve(failedIn(messages));
    }, 0)
  );
  // --max-requests bounds the loop either way; stopping ends the shard once it is done.
  const waitForAll = async () => {
    for (let polls = 0; polls < 500 && failedIn(messages) < 1000; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      shard.reset(1);
    }
  };
  await waitForAll();
  shard.stop(0);
  await shard.finished;
  const message =
    messages.flatMap((entry) =>
      entry.type === "delta" ? entry.delta.failures.connect?.messages ?? [] : []
    )[0];
  assert.equal(failedIn(messages), 1000);
  assert.match(message, /^Cannot send the request \(.*x-bad/);
  assert.ok(failedWhenTimerRan < 1000, `a timer ran only after ${failedWhenTimerRan} requests`);
});

Deno.test("a provider that throws while building a request is a counted failure", async () => {
  const transport = createTransport("node");
  const context: RequestContext = {
    ...contextFor("http://127.0.0.1:9", transport),
    provider: {
      ...createProvider("openai", { model: "m", chat: false, stream: true, temperature: 1 }),
      request: () => {
        throw new TypeError(`cannot encode ${KEY}`);
      },
    },
  };
  const failure = failureOf(await runRequest(context, { prompt: "p", maxTokens: 1 }));
  transport.close();
  assert.equal(failure.kind, "connect");
  assert.equal(failure.message, "Cannot build the request (cannot encode ***)");
});

Deno.test("load requests never follow redirects, on either transport", async () => {
  const target = await rawServer(() => jsonResponse({ choices: [{ text: " a" }] }));
  const redirect = await rawServer(() =>
    `HTTP/1.1 307 Temporary Redirect\r\nlocation: ${target.url}/v1/completions?key=${KEY}\r\n` +
    "content-length: 0\r\nconnection: close\r\n\r\n"
  );
  try {
    for (const kind of TRANSPORTS) {
      const transport = createTransport(kind);
      const failure = failureOf(
        await runRequest(contextFor(redirect.url, transport, { stream: false }), {
          prompt: "p",
          maxTokens: 1,
        }),
      );
      transport.close();
      assert.equal(failure.kind, "http_3xx", kind);
      assert.equal(failure.status, 307);
      assert.equal(
        failure.message,
        `HTTP 307 redirect to ${target.url}/v1/completions?key=***, not followed: ` +
          "point -H at the final URL",
      );
    }
    assert.equal(target.heads.length, 0, "the redirect target never saw a request (nor the key)");
  } finally {
    await redirect.close();
    await target.close();
  }
});

Deno.test("a run against a mock that sends empty replies counts them ok, reports them, and exits 0", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, emptyRate: 0.5, seed: 7 }, async (mock) => {
    await withTempDir(async (dir) => {
      const json = `${dir}/results.json`;
      const run = await runAgainst(mock, [
        ..."-m mock-model -u 2 -o 8 --stream --max-requests 20 --warmup 0 --json".split(" "),
        json,
      ]);
      assert.equal(run.exitCode, 0, run.out);
      const results = JSON.parse(await Deno.readTextFile(json));
      assert.equal(results.requests.ok, 20);
      assert.equal(results.requests.failed, 0);
      const empty = results.tokens.empty;
      assert.ok(empty > 0 && empty < 20, `empty ${empty}`);
      assert.equal(results.metrics.ttft.count, 20 - empty, "empty replies have no ttft");
      assert.match(run.out, new RegExp(`Empty replies: ${empty} of 20 requests`));
    });
  });
});

Deno.test("a llama.cpp mock with a small context marks cut replies truncated, and the run reports them", async () => {
  await withMock({ ttftMs: 1, itlMs: 1, context: 40 }, async (mock) => {
    await withTempDir(async (dir) => {
      const json = `${dir}/results.json`;
      const run = await runAgainst(mock, [
        ..."--provider llamacpp -m mock-model -u 1 -p 32 -o 16 --stream --max-requests 3".split(
          " ",
        ),
        ..."--warmup 0 --json".split(" "),
        json,
      ]);
      const results = JSON.parse(await Deno.readTextFile(json));
      assert.equal(results.requests.ok, 3, run.out);
      assert.equal(results.tokens.truncated, 3);
      assert.match(run.out, /Truncated replies: 3 of 3 requests were cut at the server's context/);
      assert.ok(mock.records().every((record) => record.tokens < 16));
    });
  });
});

Deno.test("a mock that serves repeated prompts from its cache makes the run suggest --prompt-randomize", async () => {
  for (const provider of ["vllm", "llamacpp"]) {
    await withMock({ ttftMs: 1, itlMs: 1, promptCache: true }, async (mock) => {
      await withTempDir(async (dir) => {
        const json = `${dir}/results.json`;
        const args =
          `--provider ${provider} -m mock-model -u 1 -p 16 -o 2 --stream --max-requests 4`;
        const run = await runAgainst(mock, [
          ...args.split(" "),
          "--warmup",
          "0",
          "--json",
          json,
        ]);
        const { promptCache } = JSON.parse(await Deno.readTextFile(json)).tokens;
        assert.equal(promptCache.requests, 4, provider);
        assert.equal(promptCache.cachedTokens, promptCache.promptTokens * 3 / 4, provider);
        assert.match(run.out, /Prompt cache: .* \(75\.0%\) .*pass --prompt-randomize/, provider);
      });
    });
  }
});

Deno.test("-n 2 against a llama.cpp-shaped mock that reports usage per choice counts every token", async () => {
  // The OpenAI dialect against llama.cpp's OpenAI route, as the report came from.
  for (const dialect of ["llamacpp", "vllm"]) {
    await withMock({ ttftMs: 1, itlMs: 1, dialect }, async (mock) => {
      await withTempDir(async (dir) => {
        const json = `${dir}/results.json`;
        const args = `--provider openai --chat -m mock-model -u 1 -o 16 -n 2 --stream ` +
          "--max-requests 2 --warmup 0 --json";
        const run = await runAgainst(mock, [...args.split(" "), json]);
        const results = JSON.parse(await Deno.readTextFile(json));
        assert.equal(results.requests.ok, 2, `${dialect}: ${run.out}`);
        assert.equal(results.tokens.output, 64, dialect);
        assert.equal(results.tokens.mismatches.count, 0, `${dialect}: ${run.out}`);
        assert.doesNotMatch(run.out, /asked 32 got 16/);
      });
    });
  }
});

// Request-path units: a scripted transport plays exactly the pieces a test needs, so each
// limit and message is checked without a server.

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
        sink.body(utf8.encode(piece), performance.now());
        delivered++;
        await Promise.resolve();
      }
    },
    close() {},
    delivered: () => delivered,
  };
}

function scriptedContext(
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
  const big = `data: {"choices":[{"text":"${"a".repeat(MAX_EVENT_BYTES)}`;
  const pieces = [token("a"), big.slice(0, 100_000), big.slice(100_000), "more", "\n\n", "x"];
  const transport = scripted(sse, pieces);
  const outcome = await runRequest(scriptedContext(transport), { prompt: "p", maxTokens: 2 });
  assert.deepEqual(outcome.ok ? undefined : outcome.failure, {
    kind: "bad_response",
    message: "Stream event larger than 256 KiB: refused rather than buffered",
  });
  assert.equal(transport.delivered(), 3, "reading stopped at the piece that passed the limit");
  const ndjson = scripted({ status: 200, contentType: "application/x-ndjson" }, [
    `{"response":"${"a".repeat(MAX_EVENT_BYTES)}`,
  ]);
  const ollama = await runRequest(scriptedContext(ndjson, { provider: "ollama" }), {
    prompt: "p",
    maxTokens: 2,
  });
  assert.equal(ollama.ok ? "" : ollama.failure.kind, "bad_response");
});

Deno.test("the end marker: required where the dialect has one, whitespace tolerated", async () => {
  const tokens = [token(" a"), token(" b")];
  const cut = await runRequest(scriptedContext(scripted(sse, tokens)), {
    prompt: "p",
    maxTokens: 2,
  });
  assert.equal(
    cut.ok ? "" : cut.failure.message,
    "Stream ended without [DONE]: the response may be cut short",
  );
  const whole = await runRequest(
    scriptedContext(scripted(sse, [...tokens, "data:  [DONE] \n\n"])),
    {
      prompt: "p",
      maxTokens: 2,
    },
  );
  assert.ok(whole.ok, JSON.stringify(whole));
  const tgi = scripted(sse, [`data: {"token":{"text":" a"}}\n\n`]);
  const noMarker = await runRequest(scriptedContext(tgi, { provider: "tgi" }), {
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
  const outcome = await runRequest(scriptedContext(scripted(sse, [text])), {
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
    scriptedContext(scripted({ status: 401, contentType: "application/json" }, [echo])),
    { prompt: "p", maxTokens: 1 },
  );
  assert.equal(http.ok ? "" : http.failure.message, "HTTP 401: Bad key *** (user:***)");
  // An error body longer than the part kept, with the key straddling the cut.
  const long = "x".repeat(2040) + KEY + "y".repeat(100);
  const cut = await runRequest(
    scriptedContext(
      scripted({ status: 500, contentType: "text/plain" }, [long.slice(0, 2045), long.slice(2045)]),
    ),
    { prompt: "p", maxTokens: 1 },
  );
  const message = cut.ok ? "" : cut.failure.message;
  assert.ok(!message.includes(KEY.slice(0, 5)), message);
  // A streamed error event that quotes the key in the middle of a cut-short payload.
  const event = `data: {"error":{"message":"denied for ${KEY}"}}\n\n`;
  const streamed = await runRequest(scriptedContext(scripted(sse, [event])), {
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
      ...scriptedContext(scripted(sse, [token(`key ${KEY}`), "data: [DONE]\n\n"])),
      onResponse: (text) => shown.push(text),
    },
    { prompt: "p", maxTokens: 1 },
  );
  assert.ok(echoed.ok);
  assert.deepEqual(shown, ["key ***"], "--show-response output is masked too");
});

/** The failure of one request over `transport` with a 20 ms timeout (`undefined` if it succeeded). */
async function failureWithin20Ms(transport: Transport) {
  const outcome = await runRequest({ ...scriptedContext(transport), timeoutMs: 20 }, {
    prompt: "p",
    maxTokens: 1,
  });
  return outcome.ok ? undefined : outcome.failure;
}

Deno.test("a transport that never settles after the abort cannot hang a request", async () => {
  // As Deno 2.9's fetch sometimes does with a pending body read.
  const deaf: Transport = {
    send(_request, sink) {
      sink.head(sse);
      sink.body(utf8.encode(token(" a")), performance.now());
      return new Promise(() => {});
    },
    close() {},
  };
  assert.deepEqual(await failureWithin20Ms(deaf), {
    kind: "timeout",
    message: "No complete response within 20 ms",
  });
  const stop = new AbortController();
  const running = runRequest(scriptedContext(deaf), { prompt: "p", maxTokens: 1 }, {
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
  assert.deepEqual(await failureWithin20Ms(silent), {
    kind: "timeout",
    message: "No response within 20 ms",
  });
});

Deno.test("[DONE] ends a stream on either transport, kept-alive or not, and never reaches the provider", async () => {
  const events = [
    { choices: [{ text: " a" }] },
    { choices: [{ text: " b" }] },
    { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } },
  ];
  const body = events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("") +
    "data: [DONE]\n\n";
  const chunked = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n" +
    "transfer-encoding: chunked\r\n\r\n" +
    `${new TextEncoder().encode(body).length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  for (const kind of TRANSPORTS) {
    for (
      const [label, answer, keepOpen] of [["closed", sseResponse(events), false], [
        "kept-alive",
        chunked,
        true,
      ]] as const
    ) {
      const server = await rawServer(() => answer, { keepOpen });
      const transport = createTransport(kind);
      const seen: string[] = [];
      try {
        const base = contextFor(server.url, transport);
        const provider = {
          ...base.provider,
          // Every payload goes through the recording parse, none through the fast path.
          fastEvent: undefined,
          parseEvent(data: string) {
            seen.push(data);
            return base.provider.parseEvent(data);
          },
        };
        const record = recordOf(
          await runRequest({ ...base, provider }, { prompt: "p", maxTokens: 2 }),
        );
        assert.equal(record.outputTokens, 2, `${kind} ${label}`);
        assert.equal(record.tokenSource, "usage");
        assert.equal(record.chars, 4);
        assert.equal(record.itl.length, 1);
        assert.deepEqual(seen, events.map((event) => JSON.stringify(event)), `${kind} ${label}`);
      } finally {
        transport.close();
        await server.close();
      }
    }
  }
});

Deno.test("the reader refuses a 2xx stream without text/event-stream at its head, once, and reads no further", () => {
  const refusals: string[] = [];
  const provider = createProvider("openai", {
    model: "m",
    chat: false,
    stream: true,
    temperature: 1,
  });
  const reader = new ResponseReader(provider, {
    stream: true,
    fail: (error) => refusals.push(error.message),
  });
  reader.head({ status: 200, contentType: "application/json" });
  reader.body(utf8.encode('data: {"choices":[{"text":"{"}]}\n\n'), 1);
  reader.body(utf8.encode("data: {broken\n\n"), 2);
  reader.end();
  assert.deepEqual(refusals, ["Expected text/event-stream, got 'application/json'"]);
  assert.equal(reader.failure?.message, refusals[0]);
  assert.equal(reader.status, 200);
});

Deno.test("outcomes are classified from the status, the head and the error alone", () => {
  assert.equal(
    headProblem({ status: 200, contentType: "text/event-stream; charset=utf-8" }, true),
    undefined,
  );
  assert.equal(headProblem({ status: 500, contentType: "text/html" }, true), undefined);
  assert.equal(headProblem({ status: 200, contentType: "" }, false), undefined);
  assert.equal(
    headProblem({ status: 200, contentType: "" }, true),
    "Expected text/event-stream, got 'no content type'",
  );
  assert.deepEqual(httpFailure(404, '{"error":{"message":"no such model"}}'), {
    kind: "http_4xx",
    status: 404,
    message: "HTTP 404: no such model",
  });
  assert.deepEqual(httpFailure(503, "  busy\n now "), {
    kind: "http_5xx",
    status: 503,
    message: "HTTP 503: busy now",
  });
  assert.equal(httpFailure(101, "").message, "HTTP 101: (empty body)");
  assert.equal(httpFailure(101, "").kind, "http_other");
  assert.equal(
    httpFailure(307, "", "http://elsewhere/v1").message,
    "HTTP 307 redirect to http://elsewhere/v1, not followed: point -H at the final URL",
  );
  const refused = Object.assign(new Error("connect failed"), { code: "ECONNREFUSED" });
  assert.deepEqual(classifyError(refused, { status: 0, stream: true }), {
    kind: "connect",
    message: "Connection refused (ECONNREFUSED: connect failed)",
  });
  const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  assert.deepEqual(classifyError(reset, { status: 200, stream: true }), {
    kind: "bad_response",
    message: "Connection reset mid-stream (ECONNRESET: socket hang up)",
  });
  assert.equal(
    classifyError(reset, { status: 0, stream: false }).message.split(" (")[0],
    "Connection closed before any response",
  );
  assert.equal(
    classifyError(new StopError("Run stopped"), { status: 200, stream: true }).kind,
    "aborted",
  );
  assert.equal(
    classifyError(new BadResponseError("x"), { status: 0, stream: true }).kind,
    "bad_response",
  );
  assert.equal(classifyError(new SendError("x"), { status: 0, stream: true }).kind, "connect");
  const odd = Object.assign(new Error("weird"), { code: "ERR_INVALID_CHAR" });
  assert.equal(
    classifyError(odd, { status: 0, stream: true }).message,
    "Unreadable response: ERR_INVALID_CHAR: weird",
  );
});
