/**
 * The validated run configuration and the choices it is made of. Built by `options/config.ts`.
 *
 * @module
 */
import type { TransportKind } from "../transport/types.ts";

/** How sends are spaced in fixed-QPS mode. */
export type ArrivalDistribution = "constant" | "uniform" | "exponential";

/** How `max_tokens` is sampled for each request. */
export type LengthDistribution = "constant" | "uniform" | "normal" | "exponential";

/** Validated, frozen configuration of one load test. Built by `options/config.ts`. */
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
