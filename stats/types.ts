/**
 * The plain data stats travel in: the `SampleDelta` a shard posts to the coordinator (raw
 * samples, failures and token totals) and the `StatsDelta` an `Aggregate` hands out (the same
 * counters with encoded histograms, for the results file). Every type here survives
 * `postMessage` unchanged; a `StatsDelta` survives JSON too.
 *
 * @module
 */

import type { FailureKind, TokenSource } from "../request/types.ts";
import type { MetricDelta } from "./histogram.ts";
import type { MetricName } from "./metrics.ts";
import type { SloCounts } from "./slo.ts";

/** Failures of one kind. */
export interface FailureStats {
  /** Number of failures of this kind. */
  count: number;
  /** Failures per HTTP status (keys are status codes); failures without a status are not here. */
  statuses: Record<string, number>;
  /** The first distinct messages, at most `MAX_EXAMPLES`. */
  messages: string[];
}

/** A request whose output token count differed from the `max_tokens` it asked for. */
export interface MismatchExample {
  /** `max_tokens` sent. */
  asked: number;
  /** Tokens generated. */
  got: number;
}

/** A request whose prompt the server counted differently from the local tokenizer. */
export interface PromptMismatchExample {
  /** Prompt tokens by the server. */
  server: number;
  /** Prompt tokens by the local tokenizer. */
  local: number;
}

/** Token and character totals of successful requests. */
export interface TokenStats {
  /** Sum of output tokens. */
  output: number;
  /** Sum of prompt tokens, over requests that know theirs. */
  prompt: number;
  /** Sum of generated characters (text and reasoning). */
  chars: number;
  /** Requests per source of the output token count. */
  sources: Record<TokenSource, number>;
  /** Requests whose output token count differed from `max_tokens`. */
  mismatches: {
    /** How many. */
    count: number;
    /** The first ones, at most `MAX_EXAMPLES`. */
    examples: MismatchExample[];
  };
  /** Requests whose prompt the server counted differently from the local tokenizer. */
  promptMismatches: {
    /** How many. */
    count: number;
    /** The first ones, at most `MAX_EXAMPLES`. */
    examples: PromptMismatchExample[];
  };
  /** Successful replies without generated text (the model stopped on its first token). */
  empty: number;
  /** Successful replies the server cut at its context size (llama.cpp `truncated: true`). */
  truncated: number;
  /** The server's prompt cache, over the requests whose server reported cached tokens. */
  promptCache: PromptCacheStats;
  /** Texts sent by successful requests: embedding inputs or rerank documents; 0 in generate mode. */
  inputs: number;
  /**
   * Generated tokens the server said went to reasoning (`reasoning_tokens`), summed; they are
   * part of `output`.
   */
  reasoning: number;
  /**
   * Successful requests closed on purpose after their first token (`--cancel-rate`): counted in
   * `ok`, measured by their TTFT only, their tokens in no total.
   */
  cancelled: number;
}

/** Prompt tokens served from the server's prompt cache. */
export interface PromptCacheStats {
  /** Requests whose server reported how many prompt tokens it had cached. */
  requests: number;
  /** Those of them with at least one cached prompt token (cache hits). */
  hits: number;
  /** Cached prompt tokens summed over those requests. */
  cachedTokens: number;
  /** Prompt tokens summed over the same requests: the share is `cachedTokens / promptTokens`. */
  promptTokens: number;
}

/** The counters every delta carries beside its metrics. */
export interface DeltaCounts {
  /** Successful requests. */
  ok: number;
  /** Failures by kind; kinds without failures are absent. */
  failures: Partial<Record<FailureKind, FailureStats>>;
  /** Token and character totals. */
  tokens: TokenStats;
  /** Sends delayed because the in-flight cap was reached. */
  capped: number;
  /** Requests judged against `--slo`; absent without one. */
  slo?: SloCounts;
}

/**
 * Everything a `Recorder` saw since its last `takeDelta()`: each metric's samples in recording
 * units (µs or count), exactly as measured and in the order recorded, for the coordinator to
 * put into its histograms. Safe to `postMessage`.
 */
export interface SampleDelta extends DeltaCounts {
  /** Samples of the metrics that have at least one. */
  metrics: Partial<Record<MetricName, Float64Array>>;
  /** Multi-turn sessions: the same, per turn index (`"1"`, `"2"`, ...); absent without sessions. */
  turns?: Record<string, SampleDelta>;
}

/** Everything an `Aggregate` holds, histograms encoded. Plain data: safe to write to JSON. */
export interface StatsDelta extends DeltaCounts {
  /** Metrics with at least one sample. */
  metrics: Partial<Record<MetricName, MetricDelta>>;
  /** Multi-turn sessions: the same, per turn index (`"1"`, `"2"`, ...); absent without sessions. */
  turns?: Record<string, StatsDelta>;
}
