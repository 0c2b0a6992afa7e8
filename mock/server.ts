/**
 * An embedded mock LLM server for tests, the demo and benchmarks. It speaks every dialect
 * llmload does, all at once: the OpenAI routes (`/v1/models`, `/v1/completions`,
 * `/v1/chat/completions`, `/v1/embeddings`, `/v1/rerank`), TGI (`/generate`, `/generate_stream`, `/info`), Triton
 * (`/v2/models/{m}/generate`, `/generate_stream`, `/infer`), llama.cpp (`/completion`, `/props`)
 * and Ollama (`/api/generate`, `/api/chat`, `/api/tags`), each reporting usage (and, with
 * `context`, the context size) the way that server does. The routes never
 * collide; only the shape of the OpenAI routes depends on `dialect` (where usage goes, extra
 * fields). It streams one token per event at a configured time to first token and inter-token
 * latency, and records every generation request with absolute timestamps so another thread or
 * process can check what the client measured.
 *
 * Every reply carries exactly the length asked for, unless `stopEarly` makes the "model" stop at
 * a random shorter length, as a real model does at its end-of-sequence token. A request that
 * asks not to stop early (`ignore_eos: true`, `min_tokens >= max_tokens`) still gets the full
 * length, unless `ignoreLengthControls` makes the server disregard those fields too.
 *
 * Built on `Deno.serve` with a `ReadableStream` body per stream rather than `node:http`:
 * measured on Deno 2.9.6 (1,000 and 200 streams x 50 events, 20 ms apart), `Deno.serve` spent
 * about 22-25 µs of server CPU per SSE event against 31-32 µs for `node:http`, whose server in
 * Deno is itself a layer over the same machinery. With `faults`, the mock serves through
 * `node:http` instead (`mock_node.ts`): some faults act on the connection, which `Deno.serve`
 * does not expose.
 *
 * `faults` inject each {@link FAULT_KINDS} kind into its share of the generation requests of
 * every route and dialect (drawn with the seeded random source); `/v1/models`, `/api/tags` and
 * `/mock/requests` are never faulted. Each record names the fault its request got.
 *
 * When the `dialect`'s server publishes Prometheus metrics (vLLM, SGLang, TGI, llama.cpp,
 * Triton), `GET /metrics` serves what the mock served in that server's names (`mock/metrics.ts`),
 * and `DELETE /mock/metrics` zeroes them, as a server restart would.
 *
 * @example
 * ```ts
 * const mock = await startMock({ ttftMs: 100, itlMs: 10 });
 * const res = await fetch(`${mock.url}/v1/completions`, {
 *   method: "POST",
 *   body: JSON.stringify({ model: "mock-model", prompt: "hi", max_tokens: 5, stream: true }),
 * });
 * await res.text();
 * console.log(mock.records()[0].tokensSent); // 5
 * await mock.close();
 * ```
 *
 * @module
 */

import { UsageError } from "../common/errors.ts";
import { DIALECTS, PROVIDER_NAMES } from "../providers/mod.ts";
import { loadTokenizer, type Tokenizer } from "../load/tokenizer.ts";
import { tokenizeReply } from "./tokenize.ts";
import { errorBody, type OpenAIFlavour, parseOpenAIRequest } from "./openai.ts";
import { parseResponsesRequest } from "./responses.ts";
import {
  FAULT_KINDS,
  FAULT_STATUS,
  type FaultEnding,
  type FaultKind,
  faultRatesProblem,
  type FaultSpec,
  type FaultyBody,
  faultyBody,
  pickFault,
} from "./faults.ts";
import { llamacppErrorBody, parseLlamacppRequest } from "./llamacpp.ts";
import { parseEmbeddingsRequest } from "./embeddings.ts";
import { parseRerankRequest } from "./rerank.ts";
import { type ConnectionInfo, serveNode, withConnectionFault } from "./node_server.ts";
import { ollamaErrorBody, ollamaTags, parseOllamaRequest } from "./ollama.ts";
import { parseTgiRequest, tgiErrorBody } from "./tgi.ts";
import { parseTritonGenerate, parseTritonInfer, tritonErrorBody } from "./triton.ts";
import { createMockMetrics, type MockMetrics } from "./metrics.ts";
import { serverDialectOf } from "../server_metrics/dialects.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../output/prometheus.ts";
import { createSlots, type Slots } from "./slots.ts";
import { createStepGrid, type GridStreamPlan, type StepGrid } from "./lockstep.ts";
import {
  createPrefixCache,
  prefillMs,
  type PrefixCache,
  type PrefixCacheOptions,
} from "./prefix_cache.ts";
import {
  type CountTokens,
  type MockReply,
  type ParsedRequest,
  type StreamParts,
  wholeStream,
} from "./wire.ts";

export { MOCK_WORDS } from "./wire.ts";
export type { FaultKind, FaultSpec } from "./faults.ts";

/** Dialects the mock can imitate on its OpenAI routes: every `--provider` name. */
export const MOCK_DIALECTS: readonly string[] = PROVIDER_NAMES;

/** Settings of the mock server. */
export interface MockOptions {
  /** Interface to bind. Default `"127.0.0.1"`. */
  readonly hostname?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Time from the end of the request body to the first token, in ms. Default 50. */
  readonly ttftMs?: number;
  /**
   * Time between tokens, in ms. Default 20. With 0, each streamed response (headers, role chunk,
   * all tokens, the usage chunk and `[DONE]`) is built as one string and sent in one write
   * `ttftMs` after the request: a mode for measuring client capacity.
   */
  readonly itlMs?: number;
  /** Each delay is multiplied by a uniform factor in `[1 - jitter, 1 + jitter]`. Default 0. */
  readonly jitter?: number;
  /**
   * Put every stream's tokens on one global step grid, as a continuous-batching server does
   * (`mock/lockstep.ts`): one timer writes the next token of every running stream in the same
   * tick, steps `itlMs` apart; a stream's first token comes at the first step at or after
   * arrival + `ttftMs`. Needs `itlMs` above 0 and no `jitter`. Faulted and non-streamed replies
   * keep their own timing. Default false.
   */
  readonly lockstep?: boolean;
  /**
   * With `lockstep`, each step lasts `itlMs` plus this many microseconds per running stream, as
   * a loaded server's decode step grows with its batch. A whole number; default 0.
   */
  readonly itlPerStreamUs?: number;
  /** Models listed by `/v1/models`; the first is used when a request names none. */
  readonly models?: readonly string[];
  /**
   * `owned_by` of every listed model (llmload guesses the provider from it). Default: what the
   * `dialect`'s server reports ("vllm" for vllm, "library" for ollama...), else the dialect name.
   */
  readonly ownedBy?: string;
  /**
   * Server whose OpenAI-route replies the mock imitates: where usage goes in a stream (a
   * separate chunk on request, or always in the finish chunk), extra fields. One of
   * {@link MOCK_DIALECTS}. Native routes of every dialect are served whatever this says.
   * Default "vllm".
   */
  readonly dialect?: string;
  /**
   * The "model" stops early, at a random length below the one asked for, unless the request
   * asks it not to (`ignore_eos`, `min_tokens`). Default false: every reply has the full length.
   */
  readonly stopEarly?: boolean;
  /** With `stopEarly`, disregard `ignore_eos` and `min_tokens` too, as some servers do. */
  readonly ignoreLengthControls?: boolean;
  /**
   * Share of replies (0 to 1) in which the "model" stops on its first token: no text, one token
   * in usage, `finish_reason: "stop"` (OpenAI and llama.cpp routes). Default 0.
   */
  readonly emptyRate?: number;
  /**
   * Tokens one request may hold, prompt and `max_tokens` together, as a server's context size
   * per request (slot). Reported where the `dialect`'s server reports it (`/v1/models`
   * `max_model_len` for vLLM and SGLang, `context_length` for Together, llama.cpp's `/props` and
   * `/v1/models` `meta`, TGI's `/info`) and enforced: a request over it gets that server's error.
   * Default: no limit.
   */
  readonly context?: number;
  /**
   * Remember the prompts seen and report a repeated prompt as served from the prompt cache
   * (`usage.prompt_tokens_details.cached_tokens`, llama.cpp `timings.cache_n`). Default false.
   */
  readonly promptCache?: boolean;
  /**
   * Keep a prefix cache as vLLM's automatic prefix caching does (`mock/prefix_cache.ts`): an LRU
   * of `blocks` blocks of `blockTokens` prompt tokens, named by their hash chain; each reply
   * reports the leading tokens found in it as `cached_tokens`. Not with `promptCache`.
   */
  readonly prefixCache?: PrefixCacheOptions;
  /**
   * Microseconds of prefill per uncached prompt token, added to each reply's first token (or
   * whole body). Default 0.
   */
  readonly prefillUs?: number;
  /**
   * Requests that generate at once (`mock/slots.ts`); the rest wait in a FIFO queue, their wait
   * coming before prefill and the first token, and each record says how long (`queuedMs`).
   * Default: no limit.
   */
  readonly slots?: number;
  /** Seed of the random source of jitter, early stops and faults; `undefined` uses `Math.random`. */
  readonly seed?: number;
  /**
   * Faults to inject, each into its share of generation requests (rates add up to at most 1).
   * Any fault makes the mock serve through `node:http`. Default none.
   */
  readonly faults?: readonly FaultSpec[];
  /**
   * Records kept in memory; older ones are dropped. Default: all of them. Long benchmarks should
   * set a bound or call `clearRecords()`, since each record holds the request body.
   */
  readonly maxRecords?: number;
  /**
   * Tokenizer the "server" counts prompts with, as `--tokenizer` takes it (a tiktoken encoding,
   * or a Hugging Face `tokenizer.json` file or folder); its special tokens (BOS) count in every
   * prompt, as on a real server. Default `o200k_base`.
   */
  readonly tokenizer?: string;
  /** Serve HTTPS with this PEM certificate and key (not with faults, which need plain TCP). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /**
   * Of each time to first token, the part `/metrics` reports as queue time (the rest is
   * prefill); the timing itself does not change. Default 0.
   */
  readonly queueMs?: number;
}

/** What the mock saw and did for one completion request. Times are absolute ms. */
export interface MockRecord {
  /** 1-based arrival number; not reset by `clearRecords()`. */
  readonly seq: number;
  /**
   * The id the reply carries (the OpenAI routes' `id`, every reply's `x-request-id` header);
   * absent for a request refused before it got one.
   */
  readonly id?: string;
  /** When the request arrived: `performance.timeOrigin + performance.now()`. */
  readonly receivedAt: number;
  /** Request path, e.g. `/v1/chat/completions` or `/generate_stream`. */
  readonly path: string;
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body; `undefined` when it was not JSON. */
  readonly body: unknown;
  /**
   * Tokens it asked for (`max_tokens` or the dialect's equivalent; a default when absent); 0 for
   * a rejected request. The reply carries that many unless the mock stops early.
   */
  readonly maxTokens: number;
  /** Prompt tokens as the mock counts them (as in its `usage`); absent when not counted. */
  readonly promptTokens?: number;
  /** Image parts in the request (`image_url`, `input_image`); absent when none. */
  readonly images?: number;
  /** Prompt tokens the reply reports as cached (`cached_tokens`); absent without a cache. */
  readonly cachedTokens?: number;
  /** Prefill time added before the first token, in ms; absent without `prefillUs`. */
  readonly prefillMs?: number;
  /**
   * With `slots`, time from the end of the request body until the request got a slot, in ms
   * (0 when one was free); absent without `slots`, and for requests refused before generating.
   */
  readonly queuedMs?: number;
  /** Tokens the reply carries (`maxTokens`, or fewer when the mock stops early). */
  readonly tokens: number;
  /** Whether it asked for a stream. */
  readonly stream: boolean;
  /** Tokens written so far. */
  readonly tokensSent: number;
  /** When the first token was written. */
  readonly firstTokenAt?: number;
  /** When the latest token was written. */
  readonly lastTokenAt?: number;
  /** When the response was complete; unset while in flight or when aborted. */
  readonly doneAt?: number;
  /** Largest gap between consecutive token writes, in ms; 0 with fewer than two writes. */
  readonly maxGapMs: number;
  /**
   * With lockstep, the grid step of the first token: steps are numbered from the mock's start,
   * one token per step after it, so the latest token's step is `firstStep + tokensSent - 1`.
   */
  readonly firstStep?: number;
  /** With lockstep, when the first token's step was due on the grid (absolute ms). */
  readonly firstStepAt?: number;
  /** With lockstep, the grid step of the latest token. */
  readonly lastStep?: number;
  /** With lockstep, when the latest token's step was due on the grid (absolute ms). */
  readonly lastStepAt?: number;
  /** HTTP status of the response; 0 until decided, and for a request refused by a fault. */
  readonly status: number;
  /** Whether the client went away or `close()` cut the response short. */
  readonly aborted: boolean;
  /** Inputs of an embeddings request (`/v1/embeddings`). */
  readonly inputs?: number;
  /** Documents of a rerank request (`/v1/rerank`). */
  readonly documents?: number;
  /** The fault injected into this request's reply, if any. */
  readonly fault?: FaultKind;
  /**
   * Whether the request came on a kept-alive connection that carried earlier requests; known
   * only when faults are injected. `refuse` hits only requests on new connections: one dropped
   * on a kept-alive connection is resent by HTTP clients (Deno's, behind both llmload transports,
   * depending on timing), and the mock could no longer count requests as the client meant them.
   */
  readonly reusedConnection?: boolean;
}

/** A running mock server. */
export interface MockServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (`https:` with `tls`). */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** The records so far, oldest first (a copy of the list; entries update while in flight). */
  records(): MockRecord[];
  /** Forgets all records. */
  clearRecords(): void;
  /** Aborts streams in flight and stops the server. */
  close(): Promise<void>;
}

/** A record while the server still writes to it. */
type LiveRecord = { -readonly [K in keyof MockRecord]: MockRecord[K] };

/** Something in flight that `close()` or a client disconnect must stop. */
interface InFlight {
  abort(): void;
}

/** Validated options plus the server's own state. */
interface MockState {
  readonly ttftMs: number;
  readonly itlMs: number;
  readonly jitter: number;
  /** The lockstep grid every stream's tokens fall on, when `lockstep` is set. */
  readonly grid?: StepGrid;
  readonly models: readonly string[];
  readonly ownedBy: string;
  readonly flavour: OpenAIFlavour;
  readonly stopEarly: boolean;
  readonly ignoreLengthControls: boolean;
  readonly dialect: string;
  readonly context?: number;
  readonly emptyRate: number;
  /** Prompts seen, when the prompt cache is imitated. */
  readonly seenPrompts?: Set<string>;
  /** The prefix cache, when one is kept. */
  readonly prefixCache?: PrefixCache;
  /** Microseconds of prefill per uncached prompt token. */
  readonly prefillUs: number;
  /** The generation slots, when the mock has a capacity. */
  readonly slots?: Slots;
  readonly maxRecords: number;
  readonly random: () => number;
  readonly faults: readonly FaultSpec[];
  /** Refusals drawn on kept-alive connections, waiting for a request on a new connection. */
  pendingRefusals: number;
  readonly countTokens: CountTokens;
  readonly tokenizer: Tokenizer;
  readonly created: number;
  readonly idTag: string;
  /** The server-side metrics `/metrics` publishes, when the dialect's server has them. */
  readonly metrics?: MockMetrics;
  records: LiveRecord[];
  seq: number;
  closing: boolean;
  readonly inFlight: Set<InFlight>;
}

const JSON_HEADERS = { "content-type": "application/json" };
const encoder = new TextEncoder();

/**
 * Starts the mock server and resolves once it listens.
 *
 * Prompt tokens in `usage` (and in each dialect's equivalent) are counted with `tokenizer`
 * (default tiktoken's o200k_base, llmload's default tokenizer), special tokens it adds (BOS)
 * included, so llmload's prompt-token check agrees with the mock for completions: the prompt
 * (completions), or each message's text content plus those special tokens, without any other
 * chat template (chat). Each distinct prompt is counted once. `POST /tokenize` counts with the
 * same tokenizer, in the body shape of llama.cpp, vLLM/SGLang or TGI (`mock/tokenize.ts`). Completion tokens are exact:
 * every response carries exactly the tokens asked for (`max_tokens` or the dialect's field; 16
 * when an OpenAI request gives none), cycling through `MOCK_WORDS`, with `finish_reason:
 * "length"`, unless `stopEarly` ends it sooner (`finish_reason: "stop"`).
 *
 * Streams follow vLLM: the chat role-only chunk is sent as soon as the response starts, then the
 * first token `ttftMs` after the request body was read, then one token every `itlMs`. Token times
 * are kept on a timeline (each target is the previous target plus a delay) so timer lateness
 * does not add up, and no token is ever written before its target. A non-streamed reply is
 * sent whole once all its tokens would have been generated: `ttftMs + (tokens - 1) * itlMs`.
 * With `lockstep`, streamed tokens fall on one step grid shared by all streams instead
 * (`mock/lockstep.ts`), and records note each stream's first and latest step.
 *
 * @throws {UsageError} when an option is out of range
 */
export async function startMock(options: MockOptions = {}): Promise<MockServer> {
  const tokenizer = await loadTokenizer(options.tokenizer ?? "o200k_base");
  const state = createState(options, tokenizer);
  const hostname = options.hostname ?? "127.0.0.1";
  const port = checkNumber("port", options.port ?? 0, { max: 65535 });
  const onError = (error: unknown) => jsonResponse(500, errorBody(String(error), serverError));
  const handler = (request: Request, connection?: ConnectionInfo) =>
    route(state, request, connection);
  if (options.tls && state.faults.length > 0) {
    throw new UsageError("The mock serves TLS only without faults: they act on plain TCP");
  }
  const server = state.faults.length > 0
    ? await serveNode({ hostname, port, handler, onError })
    : await serveDeno({ hostname, port, handler, onError, tls: options.tls });
  const bound = server.port;
  let closed: Promise<void> | undefined;
  return {
    url: `${options.tls ? "https" : "http"}://${urlHost(hostname)}:${bound}`,
    port: bound,
    records: () => currentRecords(state),
    clearRecords() {
      state.records = [];
    },
    close() {
      closed ??= closeServer(state, server);
      return closed;
    },
  };
}

/** A server the mock runs on: `Deno.serve`, or `node:http` when faults need the connection. */
interface RunningServer {
  readonly port: number;
  shutdown(): Promise<void>;
}

async function serveDeno(options: {
  hostname: string;
  port: number;
  handler: (request: Request) => Response | Promise<Response>;
  onError: (error: unknown) => Response;
  tls?: { readonly cert: string; readonly key: string };
}): Promise<RunningServer> {
  const { promise: listening, resolve: onListen } = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    ...options.tls,
    onListen: () => onListen(),
    onError: options.onError,
  }, (request) => options.handler(request));
  await listening;
  return { port: server.addr.port, shutdown: () => server.shutdown() };
}

/** Prompts counted and remembered at most; past that the memory starts afresh. */
const COUNT_CACHE_SIZE = 256;

/**
 * Remembers the counts of recent prompts: a load test sends the same prompt again and again,
 * and counting a 512-token prompt with tiktoken costs about half a millisecond.
 */
function cachedCount(count: CountTokens): CountTokens {
  const counts = new Map<string, number>();
  return function countCached(text: string): number {
    let tokens = counts.get(text);
    if (tokens === undefined) {
      tokens = count(text);
      if (counts.size >= COUNT_CACHE_SIZE) counts.clear();
      counts.set(text, tokens);
    }
    return tokens;
  };
}

const badRequest = { type: "invalid_request_error", code: "invalid_request" };
const serverError = { type: "server_error", code: "internal_error" };

function createState(options: MockOptions, tokenizer: Tokenizer): MockState {
  const models = options.models ?? ["mock-model"];
  if (models.length === 0 || models.some((m) => typeof m !== "string" || m === "")) {
    const given = JSON.stringify(models);
    throw new UsageError(
      `Cannot start the mock server with models ${given}: expected at least one non-empty name`,
    );
  }
  const dialect = options.dialect ?? "vllm";
  if (!MOCK_DIALECTS.includes(dialect)) {
    throw new UsageError(
      `Cannot start the mock server with dialect '${dialect}': expected ${
        MOCK_DIALECTS.join(", ")
      }`,
    );
  }
  const itlMs = checkNumber("itlMs", options.itlMs ?? 20, {});
  const jitter = checkNumber("jitter", options.jitter ?? 0, { max: 1 });
  const metricsDialect = serverDialectOf(dialect);
  const queueMs = checkNumber("queueMs", options.queueMs ?? 0, {});
  return {
    ttftMs: checkNumber("ttftMs", options.ttftMs ?? 50, {}),
    itlMs,
    jitter,
    grid: lockstepGrid(options, { itlMs, jitter }),
    models,
    // The owner that dialect's server usually reports, from its file in providers/.
    ownedBy: options.ownedBy ?? DIALECTS[dialect]?.ownedBy[0] ?? dialect,
    flavour: flavourOf(dialect),
    stopEarly: options.stopEarly ?? false,
    ignoreLengthControls: options.ignoreLengthControls ?? false,
    dialect,
    emptyRate: checkNumber("emptyRate", options.emptyRate ?? 0, { max: 1 }),
    context: options.context === undefined
      ? undefined
      : checkNumber("context", options.context, {}),
    seenPrompts: options.promptCache ? new Set() : undefined,
    prefixCache: prefixCacheOf(options),
    prefillUs: checkNumber("prefillUs", options.prefillUs ?? 0, {}),
    slots: slotsOf(options.slots),
    maxRecords: options.maxRecords === undefined
      ? Infinity
      : checkNumber("maxRecords", options.maxRecords, {}),
    random: options.seed === undefined ? Math.random : mulberry32(options.seed),
    faults: checkFaults(options.faults ?? []),
    pendingRefusals: 0,
    countTokens: cachedCount((text) => tokenizer.countPrompt(text)),
    tokenizer,
    created: Math.floor(Date.now() / 1000),
    idTag: Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0"),
    metrics: metricsDialect === undefined ? undefined : createMockMetrics(metricsDialect, {
      model: models[0],
      queueMs,
      slots: options.slots !== undefined,
    }),
    records: [],
    seq: 0,
    closing: false,
    inFlight: new Set(),
  };
}

function slotsOf(count: number | undefined): Slots | undefined {
  if (count === undefined) return undefined;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(
      `Cannot start the mock server with slots ${count}: expected a whole number of at least 1`,
    );
  }
  return createSlots(count);
}

function prefixCacheOf(options: MockOptions): PrefixCache | undefined {
  if (options.prefixCache === undefined) return undefined;
  if (options.promptCache) {
    throw new UsageError(
      "Cannot start the mock server with both promptCache and prefixCache: the prefix cache " +
        "already serves repeated prompts; keep one",
    );
  }
  const { blocks, blockTokens } = options.prefixCache;
  return createPrefixCache({
    blocks: checkNumber("prefixCache.blocks", blocks, {}),
    blockTokens: checkNumber("prefixCache.blockTokens", blockTokens, {}),
  });
}

function lockstepGrid(
  options: MockOptions,
  checked: { itlMs: number; jitter: number },
): StepGrid | undefined {
  const perStreamUs = options.itlPerStreamUs ?? 0;
  if (!Number.isSafeInteger(perStreamUs) || perStreamUs < 0) {
    throw new UsageError(
      `Cannot start the mock server with itlPerStreamUs ${perStreamUs}: expected a whole number >= 0`,
    );
  }
  if (!options.lockstep) {
    if (perStreamUs > 0) {
      throw new UsageError(
        `Cannot start the mock server with itlPerStreamUs ${perStreamUs} without lockstep: ` +
          "the step grows per stream only on the lockstep grid",
      );
    }
    return undefined;
  }
  if (checked.itlMs === 0 || checked.jitter > 0) {
    throw new UsageError(
      `Cannot start the mock server in lockstep with itlMs ${checked.itlMs} and jitter ` +
        `${checked.jitter}: the grid needs itlMs above 0 and no jitter`,
    );
  }
  return createStepGrid({ itlMs: checked.itlMs, perStreamUs, origin: now(), now });
}

function checkFaults(faults: readonly FaultSpec[]): readonly FaultSpec[] {
  for (const fault of faults) {
    if (!(fault.kind in FAULT_KINDS) || !(fault.rate > 0 && fault.rate <= 1)) {
      throw new UsageError(
        `Cannot start the mock server with fault ${JSON.stringify(fault)}: expected a kind of ` +
          `${Object.keys(FAULT_KINDS).join(", ")} and a rate above 0 and at most 1`,
      );
    }
  }
  const problem = faultRatesProblem(faults);
  if (problem) {
    throw new UsageError(`Cannot start the mock server with these fault rates: ${problem}`);
  }
  return faults;
}

function checkNumber(name: string, value: number, options: { max?: number }): number {
  const max = options.max ?? Infinity;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max) {
    const range = max === Infinity ? "a number >= 0" : `a number from 0 to ${max}`;
    throw new UsageError(`Cannot start the mock server with ${name} ${value}: expected ${range}`);
  }
  return value;
}

function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

async function closeServer(state: MockState, server: RunningServer): Promise<void> {
  state.closing = true;
  state.slots?.close();
  state.grid?.abort();
  for (const flight of [...state.inFlight]) flight.abort();
  state.inFlight.clear();
  await server.shutdown();
}

function currentRecords(state: MockState): MockRecord[] {
  const { records, maxRecords } = state;
  return records.length > maxRecords ? records.slice(records.length - maxRecords) : [...records];
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A uniform factor in `[1 - jitter, 1 + jitter]`. */
function jitterFactor(state: MockState): number {
  return state.jitter === 0 ? 1 : 1 + state.jitter * (2 * state.random() - 1);
}

/** Small seeded PRNG (mulberry32): enough for jitter, and reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function jsonResponse(status: number, body: string): Response {
  return new Response(body, { status, headers: JSON_HEADERS });
}

/** Path of an absolute request URL, without building a `URL` object per request. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

function flavourOf(dialect: string): OpenAIFlavour {
  switch (dialect) {
    case "sglang":
    case "fireworks":
    case "together":
    case "llamacpp":
      return dialect;
    default:
      return "vllm";
  }
}

/** A request that does not fit the context: its prompt, what it asked for, and the limit. */
interface OverContext {
  readonly prompt: number;
  readonly maxTokens: number;
  readonly limit: number;
}

/** A route that generates text: how to read its requests and how its server reports errors. */
interface GenerationRoute {
  /** Reads a request body into what the reply depends on, or why it is invalid. */
  parse(body: unknown): ParsedRequest | string;
  /** The error body that server sends. */
  errorBody(message: string, status: number): string;
  /** That server's message and status for a request over the context; default vLLM's. */
  contextError?(over: OverContext): [message: string, status: number];
  /**
   * llama.cpp refuses only a prompt that fills the context and cuts generation short at its
   * edge (`truncated: true`); the other servers refuse prompt + `max_tokens` over it.
   */
  cutsAtContext?: boolean;
}

/**
 * Whether the server refuses a request for its context: prompt and `max_tokens` together over
 * it, or (where the route cuts replies at the context instead) a prompt that fills it.
 */
function overContext(
  state: MockState,
  parsed: ParsedRequest,
  route: GenerationRoute,
): OverContext | undefined {
  const prompt = parsed.contextTokens ?? parsed.promptTokens;
  if (state.context === undefined || prompt === undefined) return undefined;
  const asked = prompt + (route.cutsAtContext ? 0 : parsed.maxTokens);
  if (route.cutsAtContext ? asked < state.context : asked <= state.context) return undefined;
  return { prompt, maxTokens: parsed.maxTokens, limit: state.context };
}

/** vLLM's words for a request over `max_model_len`. */
function openAIContextError(over: OverContext): [string, number] {
  return [
    `This model's maximum context length is ${over.limit} tokens. However, you requested ` +
    `${over.prompt + over.maxTokens} tokens (${over.prompt} in the messages, ${over.maxTokens} ` +
    `in the completion). Please reduce the length of the messages or completion.`,
    400,
  ];
}

/** llama.cpp's words for a request over the slot's context. */
function llamacppContextError(over: OverContext): [string, number] {
  return [
    `request (${over.prompt} tokens) exceeds the available context size ` +
    `(${over.limit} tokens), try increasing it`,
    400,
  ];
}

/** TGI's validation error (422) for a request over `max_total_tokens`. */
function tgiContextError(over: OverContext): [string, number] {
  return [
    `Input validation error: \`inputs\` tokens + \`max_new_tokens\` must be <= ${over.limit}. ` +
    `Given: ${over.prompt} \`inputs\` tokens and ${over.maxTokens} \`max_new_tokens\``,
    422,
  ];
}

const TRITON_PATH = /^\/v2\/models\/([^/]+)\/(generate|generate_stream|infer)$/;

/** `type` and `code` of an OpenAI error body, by status, as OpenAI sends them. */
const OPENAI_ERRORS: Readonly<Record<number, { type: string; code: string }>> = {
  400: badRequest,
  401: { type: "invalid_request_error", code: "invalid_api_key" },
  404: { type: "invalid_request_error", code: "model_not_found" },
  429: { type: "requests", code: "rate_limit_exceeded" },
  500: serverError,
};

function openAIError(message: string, status: number): string {
  return errorBody(message, OPENAI_ERRORS[status] ?? { type: "server_error", code: "closing" });
}

/** The generation route at `path`, or `undefined`. */
function generationRoute(state: MockState, path: string): GenerationRoute | undefined {
  const model = state.models[0];
  const countTokens = state.countTokens;
  switch (path) {
    case "/v1/completions":
    case "/v1/chat/completions": {
      const options = { chat: path === "/v1/chat/completions", models: state.models, countTokens };
      return {
        parse: (body) => parseOpenAIRequest(body, { ...options, flavour: state.flavour }),
        errorBody: openAIError,
        contextError: state.flavour === "llamacpp" ? llamacppContextError : openAIContextError,
        cutsAtContext: state.flavour === "llamacpp",
      };
    }
    case "/v1/embeddings":
      return {
        parse: (body) => parseEmbeddingsRequest(body, { models: state.models, countTokens }),
        errorBody: openAIError,
      };
    case "/v1/rerank":
      return {
        parse: (body) => parseRerankRequest(body, { models: state.models, countTokens }),
        errorBody: openAIError,
      };
    case "/v1/responses":
      return {
        parse: (body) => parseResponsesRequest(body, { models: state.models, countTokens }),
        errorBody: openAIError,
        contextError: openAIContextError,
      };
    case "/generate":
    case "/generate_stream": {
      const stream = path === "/generate_stream";
      return {
        parse: (body) => parseTgiRequest(body, { stream, model, countTokens }),
        errorBody: tgiErrorBody,
        contextError: tgiContextError,
      };
    }
    case "/completion":
      return {
        parse: (body) => parseLlamacppRequest(body, { model, countTokens }),
        errorBody: llamacppErrorBody,
        contextError: llamacppContextError,
        cutsAtContext: true,
      };
    case "/api/generate":
    case "/api/chat": {
      const chat = path === "/api/chat";
      return {
        parse: (body) => parseOllamaRequest(body, { chat, models: state.models, countTokens }),
        errorBody: ollamaErrorBody,
      };
    }
  }
  const triton = TRITON_PATH.exec(path);
  if (triton === null) return undefined;
  const named = decodeURIComponent(triton[1]);
  const action = triton[2];
  return {
    parse(body) {
      if (!state.models.includes(named)) {
        return `Request for unknown model: '${named}' is not found`;
      }
      return action === "infer"
        ? parseTritonInfer(body, { model: named })
        : parseTritonGenerate(body, { stream: action === "generate_stream", model: named });
    },
    errorBody: tritonErrorBody,
  };
}

function route(
  state: MockState,
  request: Request,
  connection?: ConnectionInfo,
): Response | Promise<Response> {
  const path = pathOf(request.url);
  const method = request.method;
  const generation = generationRoute(state, path);
  if (generation !== undefined) {
    if (method === "POST") {
      return generate(state, request, { path, route: generation, reused: connection?.reused });
    }
  } else if (path === "/v1/models") {
    if (method === "GET") return modelList(state);
  } else if (path === "/tokenize") {
    if (method === "POST") return tokenize(state, request);
  } else if (path === "/props") {
    if (method === "GET") return llamacppProps(state);
  } else if (path === "/info") {
    if (method === "GET") return tgiInfo(state);
  } else if (path === "/api/tags") {
    if (method === "GET") return jsonResponse(200, ollamaTags(state.models));
  } else if (path === "/metrics" && state.metrics !== undefined) {
    if (method === "GET") {
      return new Response(state.metrics.format(now()), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      });
    }
  } else if (path === "/mock/metrics" && state.metrics !== undefined) {
    if (method === "DELETE") {
      state.metrics.reset();
      return jsonResponse(200, JSON.stringify({ reset: true }));
    }
  } else if (path === "/mock/requests") {
    if (method === "GET") return jsonResponse(200, JSON.stringify(currentRecords(state)));
    if (method === "DELETE") {
      const cleared = currentRecords(state).length;
      state.records = [];
      return jsonResponse(200, JSON.stringify({ cleared }));
    }
  } else {
    return jsonResponse(
      404,
      errorBody(`Unknown route ${method} ${path}`, { type: "not_found_error", code: "not_found" }),
    );
  }
  return jsonResponse(
    405,
    errorBody(`Method ${method} is not allowed on ${path}`, {
      type: "invalid_request_error",
      code: "method_not_allowed",
    }),
  );
}

async function tokenize(state: MockState, request: Request): Promise<Response> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    body = undefined;
  }
  const reply = tokenizeReply(body, state.tokenizer);
  return jsonResponse(reply.status, reply.body);
}

function modelList(state: MockState): Response {
  const data = state.models.map((id) => ({
    id,
    object: "model",
    created: state.created,
    owned_by: state.ownedBy,
    ...contextFields(state),
  }));
  return jsonResponse(200, JSON.stringify({ object: "list", data }));
}

/** The context size in a `/v1/models` entry, in the field the `dialect`'s server uses. */
function contextFields(state: MockState): Record<string, unknown> {
  if (state.context === undefined) return {};
  switch (state.dialect) {
    case "vllm":
    case "sglang":
      return { max_model_len: state.context };
    case "together":
      return { context_length: state.context };
    case "llamacpp":
      // The training length; the mock's model was "trained" at its context size.
      return { meta: { vocab_type: 2, n_vocab: 128256, n_ctx_train: state.context } };
    default:
      return {};
  }
}

/** llama.cpp's `GET /props`: the context size per slot under `default_generation_settings`. */
function llamacppProps(state: MockState): Response {
  const settings = state.context === undefined ? {} : { n_ctx: state.context };
  return jsonResponse(
    200,
    JSON.stringify({
      default_generation_settings: settings,
      total_slots: 1,
      model_alias: state.models[0],
      model_path: state.models[0],
    }),
  );
}

/** TGI's `GET /info`: the prompt and total limits (TGI needs the prompt's below the total). */
function tgiInfo(state: MockState): Response {
  const limits = state.context === undefined
    ? {}
    : { max_input_tokens: Math.max(state.context - 1, 0), max_total_tokens: state.context };
  return jsonResponse(200, JSON.stringify({ model_id: state.models[0], ...limits }));
}

function addRecord(state: MockState, record: LiveRecord): void {
  state.records.push(record);
  state.metrics?.arrived(record);
  // Trim in batches so a bounded log costs O(1) per request.
  if (state.records.length >= state.maxRecords * 2 + 1) {
    state.records = state.records.slice(state.records.length - state.maxRecords);
  }
}

/** Prompts the imitated prompt cache remembers at most; past that it starts afresh. */
const PROMPT_CACHE_SIZE = 4096;

/**
 * The cached prompt tokens of a request when a cache is kept: with the prefix cache, the
 * leading blocks found in it; with the whole-prompt cache, none the first time a prompt is seen
 * and all of it on a repeat.
 */
function cachedPrompt(
  state: MockState,
  parsed: ParsedRequest,
): { cachedPromptTokens?: number } {
  if (state.prefixCache !== undefined) {
    if (parsed.promptParts === undefined) return {};
    return { cachedPromptTokens: state.prefixCache.admit(promptIds(state, parsed.promptParts)) };
  }
  const seen = state.seenPrompts;
  if (seen === undefined || parsed.promptKey === undefined || parsed.promptTokens === undefined) {
    return {};
  }
  if (seen.has(parsed.promptKey)) return { cachedPromptTokens: parsed.promptTokens };
  if (seen.size >= PROMPT_CACHE_SIZE) seen.clear();
  seen.add(parsed.promptKey);
  return { cachedPromptTokens: 0 };
}

/**
 * The token ids of a prompt as the mock counts it: each text piece encoded after its special
 * tokens (placeholder ids, as in the count of `usage`), token-id pieces as sent.
 */
function promptIds(state: MockState, parts: readonly (string | readonly number[])[]): number[] {
  const ids: number[] = [];
  // One push per id: spreading a long prompt into push() would overflow the call stack.
  const append = (tokens: ArrayLike<number>) => {
    for (let i = 0; i < tokens.length; i++) ids.push(tokens[i]);
  };
  for (const part of parts) {
    if (typeof part !== "string") {
      append(part);
      continue;
    }
    append(new Array<number>(state.tokenizer.specialTokens).fill(0));
    append(state.tokenizer.encode(part));
  }
  return ids;
}

/** How many tokens a reply carries: all asked for, or fewer when the "model" stops early. */
function replyLength(state: MockState, parsed: ParsedRequest): number {
  const honoured = parsed.fullLength && !state.ignoreLengthControls;
  if (!state.stopEarly || honoured || parsed.maxTokens < 2) return parsed.maxTokens;
  return 1 + Math.floor(state.random() * (parsed.maxTokens - 1));
}

async function generate(
  state: MockState,
  request: Request,
  target: { path: string; route: GenerationRoute; reused?: boolean },
): Promise<Response> {
  const record: LiveRecord = {
    seq: ++state.seq,
    receivedAt: now(),
    path: target.path,
    headers: Object.fromEntries(request.headers),
    body: undefined,
    maxTokens: 0,
    tokens: 0,
    stream: false,
    tokensSent: 0,
    maxGapMs: 0,
    status: 0,
    aborted: false,
  };
  if (target.reused !== undefined) record.reusedConnection = target.reused;
  addRecord(state, record);
  const fail = (message: string, status = 400) => reject(record, target.route, { message, status });
  let text: string;
  try {
    text = await request.text();
  } catch {
    record.aborted = true;
    return fail("Cannot read the request body");
  }
  const bodyReadAt = now();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return fail(`Cannot parse the request body as JSON: ${(error as Error).message}`);
  }
  record.body = body;
  const parsed = target.route.parse(body);
  if (typeof parsed === "string") return fail(parsed);
  const over = overContext(state, parsed, target.route);
  if (over !== undefined) {
    const refused = target.route.contextError ?? openAIContextError;
    return fail(...refused(over));
  }
  const { fault, closeAfter } = drawFault(state, target.reused);
  const status = fault === undefined ? undefined : FAULT_STATUS[fault];
  if (status !== undefined) {
    record.fault = fault;
    return reject(record, target.route, {
      message: faultMessage(fault!, { request, model: parsed.model }),
      status,
      headers: status === 429 ? { "retry-after": "1" } : undefined,
    });
  }
  if (fault === "refuse") {
    record.fault = fault;
    record.doneAt = now();
    return withConnectionFault(new Response(null), "drop");
  }
  let tokens = replyLength(state, parsed);
  const prompt = parsed.promptTokens;
  const truncated = state.context !== undefined && prompt !== undefined &&
    prompt + tokens > state.context;
  if (truncated) tokens = Math.max(1, Math.min(tokens, state.context! - prompt!));
  const empty = state.emptyRate > 0 && state.random() < state.emptyRate;
  if (empty) tokens = 1;
  const cached = cachedPrompt(state, parsed);
  record.id = `mock${state.idTag}${record.seq}`;
  const reply = parsed.reply({
    id: record.id,
    created: Math.floor(record.receivedAt / 1000),
    tokens,
    finishReason: tokens === parsed.maxTokens && !empty ? "length" : "stop",
    ...(empty ? { empty } : {}),
    ...(truncated ? { truncated } : {}),
    ...cached,
  });
  record.maxTokens = parsed.maxTokens;
  if (parsed.promptTokens !== undefined) record.promptTokens = parsed.promptTokens;
  if (parsed.inputs !== undefined) record.inputs = parsed.inputs;
  if (parsed.documents !== undefined) record.documents = parsed.documents;
  if (parsed.images !== undefined) record.images = parsed.images;
  if (cached.cachedPromptTokens !== undefined) record.cachedTokens = cached.cachedPromptTokens;
  if (state.prefillUs > 0) {
    record.prefillMs = prefillMs(parsed.promptTokens ?? 0, {
      cachedTokens: cached.cachedPromptTokens ?? 0,
      usPerToken: state.prefillUs,
    });
  }
  record.tokens = tokens;
  record.stream = reply.stream;
  if (state.closing) {
    record.aborted = true;
    return fail("The mock server is closing", 503);
  }
  let start = bodyReadAt;
  if (state.slots !== undefined) {
    if (!await state.slots.acquire()) {
      record.aborted = true;
      return fail("The mock server is closing", 503);
    }
    start = now();
    record.queuedMs = start - bodyReadAt;
  }
  const response = await timedReply(state, reply, { record, start, fault, route: target.route });
  if (fault === "keepalive_close") record.fault = fault;
  else if (!closeAfter) return response;
  return withConnectionFault(response, "close");
}

/**
 * The reply from `start` on, faulted or not; with slots, the slot goes back once its body has
 * been written whole, cut off or cancelled.
 */
async function timedReply(
  state: MockState,
  reply: MockReply,
  options: { record: LiveRecord; start: number; fault?: FaultKind; route: GenerationRoute },
): Promise<Response> {
  const { record, start, fault } = options;
  const faulty = fault === undefined ? undefined : faultyBody(reply, fault);
  if (faulty !== undefined) record.fault = fault;
  const response = faulty !== undefined
    ? faultyResponse(state, faulty, {
      record,
      firstAt: start + firstWriteDelay(state, { reply, record }),
    })
    : await serveReply(state, reply, { record, bodyReadAt: start, route: options.route });
  return state.slots === undefined ? response : releasedAtEnd(response, state.slots);
}

/** `response` with a body that releases a slot when it ends, errors or is cancelled. */
function releasedAtEnd(response: Response, slots: Slots): Response {
  const body = response.body;
  if (body === null) {
    slots.release();
    return response;
  }
  const reader = body.getReader();
  let held = true;
  function release(): void {
    if (held) slots.release();
    held = false;
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  return new Response(stream, { status: response.status, headers: response.headers });
}

/**
 * The fault of one request. `refuse` only ever hits a request on a new connection: a request
 * dropped unanswered on a kept-alive connection looks to an HTTP client like one sent just as
 * the server closed the idle connection, and clients resend those, sometimes (Deno's, behind
 * both llmload transports, depending on timing), so the mock could not tell how many requests
 * the client meant to send. A refusal drawn on a kept-alive connection therefore waits: that
 * request is answered and its connection closed after it, and the next request that comes on a
 * new connection is refused instead.
 */
function drawFault(
  state: MockState,
  reused: boolean | undefined,
): { fault?: FaultKind; closeAfter: boolean } {
  if (state.faults.length === 0) return { closeAfter: false };
  if (reused === false && state.pendingRefusals > 0) {
    state.pendingRefusals--;
    return { fault: "refuse", closeAfter: false };
  }
  const fault = pickFault(state.faults, state.random());
  if (fault !== "refuse" || !reused) return { fault, closeAfter: false };
  state.pendingRefusals++;
  return { closeAfter: true };
}

/**
 * When a reply's first write is due after the request: its first token, or its whole body; the
 * record's prefill comes first.
 */
function firstWriteDelay(
  state: MockState,
  options: { reply: MockReply; record: LiveRecord },
): number {
  const { reply } = options;
  let delay = (options.record.prefillMs ?? 0) + state.ttftMs * jitterFactor(state);
  if (!reply.stream) {
    for (let k = 1; k < reply.tokens; k++) delay += state.itlMs * jitterFactor(state);
  }
  return delay;
}

/** The reply, timed: streamed token by token, or sent whole once it would be generated. */
async function serveReply(
  state: MockState,
  reply: MockReply,
  options: { record: LiveRecord; bodyReadAt: number; route: GenerationRoute },
): Promise<Response> {
  const { record, bodyReadAt } = options;
  if (reply.stream && state.itlMs > 0) {
    return timedStream(state, reply, { record, start: bodyReadAt });
  }
  const delay = firstWriteDelay(state, { reply, record });
  if (delay > 0) {
    if (!await waitUntil(state, bodyReadAt + delay)) {
      record.aborted = true;
      return reject(record, options.route, { message: "The mock server is closing", status: 503 });
    }
  }
  const payload = reply.stream ? wholeStream(reply) : reply.json();
  const sentAt = now();
  record.tokensSent = reply.tokens;
  record.firstTokenAt = sentAt;
  record.lastTokenAt = sentAt;
  record.doneAt = sentAt;
  record.status = 200;
  return new Response(payload, { headers: headersOf(reply, record) });
}

/** The error message of a status fault, as such a server words it. */
function faultMessage(fault: FaultKind, context: { request: Request; model: string }): string {
  switch (fault) {
    case "http_400":
      return "Injected fault: this request is invalid";
    case "http_401": {
      // Echoed in full on purpose: llmload must keep it out of everything it prints or writes.
      const authorization = context.request.headers.get("authorization");
      return authorization === null
        ? "You didn't provide an API key"
        : `Incorrect API key provided: ${authorization}`;
    }
    case "http_404":
      return `The model '${context.model}' does not exist`;
    case "http_429":
      return "Rate limit reached: retry after 1 s";
    case "http_500":
      return "Injected fault: internal server error";
    default:
      return "Injected fault: the server is overloaded, try again later";
  }
}

/** The reply's headers, with its id as `x-request-id`, as vLLM and many servers send it. */
function headersOf(reply: MockReply, record: MockRecord): Record<string, string> {
  const id: Record<string, string> = record.id === undefined ? {} : { "x-request-id": record.id };
  return reply.stream
    ? { "content-type": reply.contentType, "cache-control": "no-cache", ...id }
    : { ...JSON_HEADERS, ...id };
}

function reject(
  record: LiveRecord,
  route: GenerationRoute,
  error: { message: string; status: number; headers?: Record<string, string> },
): Response {
  record.status = error.status;
  record.doneAt = now();
  return new Response(route.errorBody(error.message, error.status), {
    status: error.status,
    headers: { ...JSON_HEADERS, ...error.headers },
  });
}

/**
 * Resolves `true` at `target` (never earlier), or `false` when the server closes first. A client
 * that disconnects meanwhile is not noticed (`request.signal` would also fire on every completed
 * response in Deno 2.9); its reply is written into the closed connection and dropped.
 */
function waitUntil(state: MockState, target: number): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flight: InFlight = {
      abort() {
        clearTimeout(timer);
        resolve(false);
      },
    };
    function wake(): void {
      const early = target - now();
      if (early > 0) {
        timer = setTimeout(wake, Math.ceil(early));
        return;
      }
      state.inFlight.delete(flight);
      resolve(true);
    }
    state.inFlight.add(flight);
    timer = setTimeout(wake, Math.max(0, Math.ceil(target - now())));
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** What a paced stream writes: a head at once, then one write per wake-up, then an ending. */
interface PacedPlan {
  /** Written as soon as the stream starts, or `null`. */
  readonly head: Uint8Array | null;
  /** Number of paced writes. */
  readonly writes: number;
  /** The bytes of write `k` and the tokens they carry. */
  write(k: number): { readonly bytes: Uint8Array; readonly tokens: number };
  /** When the first write is due (absolute ms). */
  readonly firstAt: number;
  /** Time from one write to the next, drawn for each gap. */
  gapMs(): number;
  /** After the last write: end the body, reset the connection when the next write was due, or
   * never send again (until the client leaves or `close()`). */
  readonly ending: FaultEnding;
}

/**
 * A body written on a timer, one write per wake-up and one timer at a time. Each write is due
 * at its own target time (the previous target plus a gap), so late timers do not add up. Token
 * writes update the record's timestamps.
 */
function pacedStream(
  state: MockState,
  record: LiveRecord,
  plan: PacedPlan,
): ReadableStream<Uint8Array> {
  let controller: ReadableStreamDefaultController<Uint8Array>;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let next = 0;
  let target = plan.firstAt;
  let lastAt = 0;
  // Set once the stream is cut off. The client can cancel it from inside an enqueue (Deno.serve
  // writes synchronously and cancels on a failed write), after which no timer may be set.
  let ended = false;
  const flight: InFlight = {
    abort() {
      ended = true;
      clearTimeout(timer);
      record.aborted = true;
      try {
        controller.error(new Error("The mock server closed the stream"));
      } catch {
        // Already closed or cancelled by the client: nothing to abort.
      }
    },
  };
  function schedule(): void {
    timer = setTimeout(tick, Math.max(0, Math.ceil(target - now())));
  }
  function tick(): void {
    if (ended) return;
    const at = now();
    if (at < target) {
      timer = setTimeout(tick, Math.ceil(target - at));
      return;
    }
    if (next === plan.writes) {
      // Only a reset gets here: closing happens with the last write, a stall never ticks again.
      state.inFlight.delete(flight);
      controller.error(new Error("Injected fault: connection reset"));
      return;
    }
    const { bytes, tokens } = plan.write(next++);
    controller.enqueue(bytes);
    if (tokens > 0) {
      if (record.tokensSent === 0) record.firstTokenAt = at;
      else if (at - lastAt > record.maxGapMs) record.maxGapMs = at - lastAt;
      lastAt = at;
      record.lastTokenAt = at;
      record.tokensSent += tokens;
    }
    if (ended) return;
    if (next < plan.writes) {
      target += plan.gapMs();
      schedule();
    } else end();
  }
  function end(): void {
    if (plan.ending === "close") {
      controller.close();
      state.inFlight.delete(flight);
      record.doneAt = now();
    } else if (plan.ending === "reset") {
      target += plan.gapMs();
      schedule();
    }
  }
  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      if (plan.head !== null) c.enqueue(plan.head);
      state.inFlight.add(flight);
      if (plan.writes === 0) end();
      else schedule();
    },
    cancel() {
      ended = true;
      clearTimeout(timer);
      state.inFlight.delete(flight);
      record.aborted = true;
    },
  });
}

/** The bytes of each token write of a stream: prebuilt where the events repeat. */
function tokenWriter(reply: MockReply, parts: StreamParts): (k: number) => Uint8Array {
  const n = reply.tokens;
  // Encoded once per stream; every token write reuses one of these buffers.
  const cycle = parts.cycle?.map((event) => encoder.encode(event)) ?? null;
  const tail = encoder.encode(parts.tail);
  const lastEvent = parts.last === undefined ? null : encoder.encode(parts.last);
  return function write(k: number): Uint8Array {
    const last = k + 1 === n;
    if (last && lastEvent !== null) return lastEvent;
    if (cycle === null) {
      const event = reply.tokenEvent(k);
      return encoder.encode(last ? event + parts.tail : event);
    }
    // The tail goes in the same write as the last token: one write less per request.
    return last ? concat(cycle[k % cycle.length], tail) : cycle[k % cycle.length];
  };
}

/** A stream that writes one token per timer wake-up, or per step of the lockstep grid. */
function timedStream(
  state: MockState,
  reply: MockReply,
  options: { record: LiveRecord; start: number },
): Response {
  const { record } = options;
  const parts = reply.streamParts();
  const write = tokenWriter(reply, parts);
  const head = parts.head === "" ? null : encoder.encode(parts.head);
  const body = state.grid === undefined
    ? pacedStream(state, record, {
      head,
      writes: reply.tokens,
      write: (k) => ({ bytes: write(k), tokens: 1 }),
      firstAt: options.start + (record.prefillMs ?? 0) + state.ttftMs * jitterFactor(state),
      gapMs: () => state.itlMs * jitterFactor(state),
      ending: "close",
    })
    : gridStream(state.grid, record, {
      head,
      writes: reply.tokens,
      write,
      due: options.start + (record.prefillMs ?? 0) + state.ttftMs,
    });
  record.status = 200;
  return new Response(body, { headers: headersOf(reply, record) });
}

/** A stream on the lockstep grid; each token write updates the record as a paced one does. */
function gridStream(
  grid: StepGrid,
  record: LiveRecord,
  plan: Pick<GridStreamPlan, "head" | "writes" | "write" | "due">,
): ReadableStream<Uint8Array> {
  return grid.stream({
    ...plan,
    onWrite({ at, step, stepAt }) {
      if (record.tokensSent === 0) {
        record.firstTokenAt = at;
        record.firstStep = step;
        record.firstStepAt = stepAt;
      } else if (at - record.lastTokenAt! > record.maxGapMs) {
        record.maxGapMs = at - record.lastTokenAt!;
      }
      record.lastTokenAt = at;
      record.lastStep = step;
      record.lastStepAt = stepAt;
      record.tokensSent++;
    },
    onDone(at) {
      record.doneAt = at;
    },
    onAbort() {
      record.aborted = true;
    },
  });
}

/**
 * A reply with a content fault: the head at once, the first piece at `firstAt`, then one piece
 * per interval, then the ending: the body ends, the stream errors (the connection is reset at
 * the moment the next piece was due), or nothing more is ever sent (until the client leaves or
 * `close()`).
 */
function faultyResponse(
  state: MockState,
  body: FaultyBody,
  options: { record: LiveRecord; firstAt: number },
): Response {
  const stream = pacedStream(state, options.record, {
    head: body.head,
    writes: body.pieces.length,
    write: (k) => body.pieces[k],
    firstAt: options.firstAt,
    gapMs: () => body.intervalMs ?? state.itlMs * jitterFactor(state),
    ending: body.ending,
  });
  options.record.status = 200;
  return new Response(stream, {
    headers: { "content-type": body.contentType, "cache-control": "no-cache" },
  });
}
