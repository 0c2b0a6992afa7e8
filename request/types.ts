/**
 * What one request yields: a record of its measurements, or one classified failure.
 *
 * @module
 */

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
  /** Texts the request sent at once: embedding inputs or rerank documents; absent in generate mode. */
  readonly inputs?: number;
  /** A complete reply without any generated text (the model stopped on its first token). */
  readonly empty?: boolean;
  /** The server cut the reply at its context size. */
  readonly truncated?: boolean;
  /** Generated tokens the server says went to reasoning (`reasoning_tokens`), when it said. */
  readonly reasoningTokens?: number;
  /**
   * Closed on purpose right after its first token (`--cancel-rate`): only its TTFT (and TTFVT)
   * is measured, and it counts as cancelled, never as a failure.
   */
  readonly cancelled?: boolean;
  /** HTTP status of the response. */
  readonly status?: number;
  /** The server's id of the request: `x-request-id`, else the reply's `id`. */
  readonly serverId?: string;
  /** Server-side timing headers (Fireworks' `fireworks-server-*`) by lower-cased name. */
  readonly serverTiming?: Readonly<Record<string, string>>;
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
  /** The server's id of the request, when its response gave one. */
  readonly serverId?: string;
}
