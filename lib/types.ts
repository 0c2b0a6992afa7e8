/**
 * The shared vocabulary of llmload: the validated run configuration, what a provider turns a
 * sample into, what one request yields, and how failures are named. Pure types, no logic.
 *
 * @module
 */

/** How sends are spaced in fixed-QPS mode. */
export type ArrivalDistribution = "constant" | "uniform" | "exponential";

/** How `max_tokens` is sampled for each request. */
export type LengthDistribution = "constant" | "uniform" | "normal" | "exponential";

/** Which HTTP client carries the requests. */
export type TransportKind = "node" | "fetch";

/** Validated, frozen configuration of one load test. Built by `lib/config.ts`. */
export interface RunConfig {
  /** Target base URL without a trailing slash, e.g. `http://localhost:80`. */
  readonly host: string;
  /** Model name; `undefined` means "ask `/v1/models` and take the first". */
  readonly model?: string;
  /** Provider dialect name; `undefined` means "guess". */
  readonly provider?: string;
  /** Sent as `Authorization: Bearer …`; never printed or written. */
  readonly apiKey?: string;
  /** Extra request headers (`--header K:V`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Concurrent users (closed loop) or the in-flight cap (QPS mode). */
  readonly users: number;
  /** Users started per second. */
  readonly spawnRate: number;
  /** Run duration in milliseconds; `undefined` runs until Ctrl+C. */
  readonly runTimeMs?: number;
  /** Fixed-QPS target; `undefined` means closed-loop users. */
  readonly qps?: number;
  /** Spacing of sends in fixed-QPS mode. */
  readonly qpsDistribution: ArrivalDistribution;
  /** Burst period in seconds: all users fire together every period. */
  readonly burstSeconds?: number;
  /** Length of the generated prompt in tokens (ignored with `promptText`). */
  readonly promptTokens: number;
  /** The prompt itself (an `@file` already read), instead of a generated one. */
  readonly promptText?: string;
  /** Mean of the `max_tokens` distribution. */
  readonly maxTokens: number;
  /** Distribution of `max_tokens`. */
  readonly maxTokensDistribution: LengthDistribution;
  /** Width of the distribution relative to `maxTokens` (alpha). */
  readonly maxTokensRange: number;
  /** Upper bound of sampled `max_tokens` (lower bound is always 1). */
  readonly maxTokensCap?: number;
  /** Each request's `max_tokens` moves by a uniform integer in `[-jitter, +jitter]`. */
  readonly maxTokensJitter: number;
  /** Use the chat API instead of raw completions. */
  readonly chat: boolean;
  /** Stream the response (gives TTFT and ITL). */
  readonly stream: boolean;
  /** `logprobs` API parameter. */
  readonly logprobs?: number;
  /** Sampling temperature. */
  readonly temperature: number;
  /** Tokenizer for prompt building and client-side counts: a tiktoken encoding name or a path. */
  readonly tokenizer: string;
  /** CSV file that gets one summary row appended. */
  readonly summaryFile?: string;
  /** File that gets the full results JSON. */
  readonly jsonFile?: string;
  /** Stats reset after this many ms; `undefined` resets at steady state; 0 never resets. */
  readonly warmupMs?: number;
  /** Worker shards; 0 picks automatically. */
  readonly workers: number;
  /** HTTP client implementation. */
  readonly transport: TransportKind;
  /** Per-request timeout in milliseconds. */
  readonly timeoutMs: number;
  /** Seed of the random source, for reproducible workloads; `undefined` draws one. */
  readonly seed?: number;
  /** Random single-token words replace the prompt's padding, so prefix caches cannot help. */
  readonly promptRandomize: boolean;
  /** Completions generated per request (`n` API parameter). */
  readonly n: number;
  /** Print each generated text (debugging). */
  readonly showResponse: boolean;
  /** Probe what the server honours before the run and report it. */
  readonly preflight: boolean;
  /** Address of the embedded results server (`--serve`); `undefined` serves nothing. */
  readonly serve?: { readonly hostname: string; readonly port: number };
  /** Bearer token that `POST /api/stop` and `POST /api/load` require; a secret. */
  readonly serveToken?: string;
  /** Keep serving the final results this long after the run (ms). */
  readonly serveLingerMs?: number;
  /** File that gets the self-contained HTML report. */
  readonly htmlFile?: string;
  /** Stop early once failures exceed this fraction of requests (after a minimum sample). */
  readonly maxFailRatio?: number;
  /** Stop after this many requests have completed or failed. */
  readonly maxRequests?: number;
  /** Send on even when the first requests all fail the same way (no early stop). */
  readonly keepGoing: boolean;
  /** How long in-flight requests may finish after a graceful stop (ms). */
  readonly stopGraceMs: number;
}

/** One request's worth of workload: what to ask and how long the answer may be. */
export interface Sample {
  /** The prompt text. */
  readonly prompt: string;
  /** `max_tokens` for this request. */
  readonly maxTokens: number;
}

/** What a provider wants sent for one sample. */
export interface HttpRequestSpec {
  /** Path appended to the host, e.g. `/v1/completions`. */
  readonly path: string;
  /** JSON body, already serialised. */
  readonly body: string;
  /** Whether the response is a stream of events. */
  readonly stream: boolean;
}

/** Token usage as reported by the server. */
export interface Usage {
  /** Prompt tokens counted by the server. */
  readonly promptTokens?: number;
  /** Generated tokens counted by the server. */
  readonly completionTokens?: number;
  /** Prompt tokens the server served from its prompt cache, when it says. */
  readonly cachedPromptTokens?: number;
  /**
   * The choice these counts belong to, when the server reports usage per choice (llama.cpp
   * with `n > 1`); absent when they cover the whole response.
   */
  readonly choice?: number;
}

/** What a provider reads out of one streamed event or one whole body. */
export interface Chunk {
  /** Visible generated text in this chunk (may be empty). */
  readonly text: string;
  /** Reasoning text in this chunk (may be empty). */
  readonly reasoning: string;
  /** Tokens in this chunk known from logprobs, if the server sent them. */
  readonly logprobTokens?: number;
  /** Usage, if this chunk carries it. */
  readonly usage?: Usage;
  /** The server says the reply was cut at its context size (llama.cpp `truncated: true`). */
  readonly truncated?: boolean;
}

/** How a streamed response is framed on the wire. */
export type StreamFraming = "sse" | "ndjson";

/** Settings every provider receives once, at construction. */
export interface ProviderOptions {
  /** Model name to put in requests. */
  readonly model: string;
  /** Chat API instead of completions. */
  readonly chat: boolean;
  /** Ask for a streamed response. */
  readonly stream: boolean;
  /** Sampling temperature. */
  readonly temperature: number;
  /** `logprobs` parameter, if asked for. */
  readonly logprobs?: number;
  /** Completions per request (`n`), when more than one. */
  readonly n?: number;
}

/**
 * One API dialect: data in, data out. The HTTP loop never branches on a provider's name.
 */
export interface Provider {
  /** Dialect name, as given to `--provider`. */
  readonly name: string;
  /** Wire framing of streamed responses. */
  readonly framing: StreamFraming;
  /**
   * Payload of the event that ends every complete stream (`[DONE]` in the OpenAI dialects), when
   * the dialect has one: a stream that ends without it was cut short and is a `bad_response`.
   * Wrappers of a provider must pass it on.
   */
  readonly endMarker?: string;
  /** Builds the request for one sample. */
  request(sample: Sample): HttpRequestSpec;
  /**
   * Parses the payload of one streamed event (an SSE `data:` field or an NDJSON line).
   * Returns `null` for the end-of-stream marker or an event that carries nothing.
   * Throws on a payload it cannot read.
   */
  parseEvent(data: string): Chunk | null;
  /** Parses a whole non-streamed response body. Throws on a body it cannot read. */
  parseBody(body: string): Chunk;
  /** The server's tokenize endpoint (`--tokenizer server`), when the dialect has one. */
  readonly tokenize?: TokenizeSpec;
}

/** A server's tokenize endpoint, as data: where to send a text and how to read its count. */
export interface TokenizeSpec {
  /** Path appended to the host, e.g. `/tokenize`. */
  readonly path: string;
  /**
   * JSON body that asks for the tokens of `text`; `special` asks for the special tokens (BOS)
   * the server adds to a prompt, where the endpoint lets the client choose.
   */
  body(text: string, special: boolean): string;
  /** Tokens in the parsed JSON reply. Throws on a reply it cannot read. */
  count(reply: unknown): number;
}

/** Where a request's output token count came from. */
export type TokenSource = "usage" | "logprobs" | "tokenizer";

/** Measurements of one successful request. Times are milliseconds. */
export interface RequestRecord {
  /** Absolute time (`performance.timeOrigin + performance.now()`) the request was handed over. */
  readonly start: number;
  /** Absolute time the schedule meant to send it, in QPS and burst modes. */
  readonly intendedStart?: number;
  /** Time to the first chunk carrying text or reasoning; `undefined` when not streamed. */
  readonly ttft?: number;
  /** Time to the first chunk carrying visible text. */
  readonly ttfvt?: number;
  /** Time to the last byte of the response. */
  readonly totalLatency: number;
  /** Gaps between consecutive token-carrying chunks. */
  readonly itl: readonly number[];
  /** Generated tokens. */
  readonly outputTokens: number;
  /** Where `outputTokens` came from. */
  readonly tokenSource: TokenSource;
  /** Prompt tokens (server usage, else the local count). */
  readonly promptTokens?: number;
  /** Generated characters (text and reasoning). */
  readonly chars: number;
  /** The `max_tokens` that was asked for. */
  readonly maxTokens: number;
  /** Tokens a full-length answer has when it differs from `maxTokens` (`max_tokens × n`). */
  readonly expectedOutputTokens?: number;
  /** Prompt tokens as the server counted them, when it said. */
  readonly serverPromptTokens?: number;
  /** Prompt tokens by the local tokenizer, where comparable with the server's (not chat). */
  readonly localPromptTokens?: number;
  /** Prompt tokens the server served from its prompt cache, when it said. */
  readonly cachedPromptTokens?: number;
  /** A complete reply without any generated text (the model stopped on its first token). */
  readonly empty?: boolean;
  /** The server cut the reply at its context size. */
  readonly truncated?: boolean;
}

/** The kinds a failed request is counted under. */
export type FailureKind =
  | "http_3xx"
  | "http_4xx"
  | "http_5xx"
  | "http_other"
  | "connect"
  | "timeout"
  | "bad_response"
  | "aborted";

/** One failed request. */
export interface RequestFailure {
  /** The kind it is counted under. */
  readonly kind: FailureKind;
  /** A short description, free of secrets. */
  readonly message: string;
  /** HTTP status, when there was one. */
  readonly status?: number;
}
