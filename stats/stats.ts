/**
 * What llmload measures and how. A shard's `Recorder` turns each `RequestRecord` and
 * `RequestFailure` into HDR histograms and counters and hands them over as a compact
 * `StatsDelta`; the coordinator's `Aggregate` merges deltas exactly and summarises them.
 *
 * Time metrics are recorded as integer microseconds and reported in milliseconds; count metrics
 * are recorded and reported as integers. Next to each histogram the exact count, sum, minimum and
 * maximum are kept, so means and extremes are exact and only percentiles carry HDR's 3-digit
 * resolution.
 *
 * @example
 * ```ts
 * const recorder = new Recorder();
 * recorder.recordRequest(record);
 * const aggregate = new Aggregate();
 * aggregate.merge(recorder.takeDelta());
 * console.log(aggregate.snapshot().metrics.ttft?.p99);
 * ```
 *
 * @module
 */

import * as hdr from "hdr-histogram-js";
import type { FailureKind, RequestFailure, RequestRecord, TokenSource } from "../request/types.ts";

/** Time metrics, recorded in microseconds. Order is the display order. */
export const TIME_METRICS = [
  "ttft",
  "ttfvt",
  "total_latency",
  "tpot",
  "itl",
  "latency_per_token",
  "overall_latency_per_token",
  "latency_per_char",
  "send_lag",
  "ttft_intended",
  "total_latency_intended",
] as const;

/** Count metrics, recorded as integers. */
export const COUNT_METRICS = ["num_tokens", "prompt_tokens"] as const;

/** Every metric, in display order. */
export const METRIC_NAMES = [...TIME_METRICS, ...COUNT_METRICS] as const;

/** Name of one metric, as it appears in tables, JSON and CSV. */
export type MetricName = typeof METRIC_NAMES[number];

/** Unit a metric is reported in. */
export type MetricUnit = "ms" | "ms/token" | "ms/char" | "tokens";

/** The unit each metric is reported in. */
export const METRIC_UNITS: Readonly<Record<MetricName, MetricUnit>> = {
  ttft: "ms",
  ttfvt: "ms",
  total_latency: "ms",
  tpot: "ms/token",
  itl: "ms",
  latency_per_token: "ms/token",
  overall_latency_per_token: "ms/token",
  latency_per_char: "ms/char",
  send_lag: "ms",
  ttft_intended: "ms",
  total_latency_intended: "ms",
  num_tokens: "tokens",
  prompt_tokens: "tokens",
};

/** Every failure kind, in display order. */
export const FAILURE_KINDS: readonly FailureKind[] = [
  "http_3xx",
  "http_4xx",
  "http_5xx",
  "http_other",
  "connect",
  "timeout",
  "bad_response",
  "aborted",
];

/** How many distinct messages per failure kind, and mismatch examples, are kept. */
export const MAX_EXAMPLES = 5;

const TIME_METRIC_SET: ReadonlySet<MetricName> = new Set(TIME_METRICS);
const MICROS_PER_MS = 1000;

/** One metric's samples since the last delta, in recording units (µs or count). */
export interface MetricDelta {
  /** The HDR histogram, `hdr.encodeIntoCompressedBase64`. */
  histogram: string;
  /** Number of samples. */
  count: number;
  /** Exact sum of the samples. */
  sum: number;
  /** Exact smallest sample. */
  min: number;
  /** Exact largest sample. */
  max: number;
}

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
}

/** Prompt tokens served from the server's prompt cache. */
export interface PromptCacheStats {
  /** Requests whose server reported how many prompt tokens it had cached. */
  requests: number;
  /** Cached prompt tokens summed over those requests. */
  cachedTokens: number;
  /** Prompt tokens summed over the same requests: the share is `cachedTokens / promptTokens`. */
  promptTokens: number;
}

/** Everything a `Recorder` saw since its last `takeDelta()`. Plain data: safe to `postMessage`. */
export interface StatsDelta {
  /** Metrics with at least one sample. */
  metrics: Partial<Record<MetricName, MetricDelta>>;
  /** Successful requests. */
  ok: number;
  /** Failures by kind; kinds without failures are absent. */
  failures: Partial<Record<FailureKind, FailureStats>>;
  /** Token and character totals. */
  tokens: TokenStats;
  /** Sends delayed because the in-flight cap was reached. */
  capped: number;
}

/** Summary of one metric, in display units (ms, ms/token, ms/char or tokens). */
export interface MetricSummary {
  /** Number of samples. */
  count: number;
  /** Exact mean (from the exact sum of the recorded values). */
  mean: number;
  /** Exact smallest sample. */
  min: number;
  /** Exact largest sample. */
  max: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
}

/** What an `Aggregate` holds, summarised. */
export interface StatsSnapshot {
  /** Metrics with at least one sample. */
  metrics: Partial<Record<MetricName, MetricSummary>>;
  /** Successful requests. */
  ok: number;
  /** Failed requests, all kinds. */
  failed: number;
  /** Failures by kind; kinds without failures are absent. */
  failures: Partial<Record<FailureKind, FailureStats>>;
  /** Token and character totals. */
  tokens: TokenStats;
  /** Sends delayed because the in-flight cap was reached. */
  capped: number;
}

interface Accumulator {
  histogram: hdr.Histogram;
  count: number;
  sum: number;
  min: number;
  max: number;
}

function newHistogram(): hdr.Histogram {
  // Float64 counts: pooled ITL over a long run can pass what 32-bit buckets hold.
  return hdr.build({
    bitBucketSize: 64,
    autoResize: true,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

function newAccumulator(): Accumulator {
  return { histogram: newHistogram(), count: 0, sum: 0, min: Infinity, max: -Infinity };
}

function emptyTokens(): TokenStats {
  return {
    output: 0,
    prompt: 0,
    chars: 0,
    sources: { usage: 0, logprobs: 0, tokenizer: 0 },
    mismatches: { count: 0, examples: [] },
    promptMismatches: { count: 0, examples: [] },
    empty: 0,
    truncated: 0,
    promptCache: { requests: 0, cachedTokens: 0, promptTokens: 0 },
  };
}

function toMicros(ms: number): number {
  return Math.max(0, Math.round(ms * MICROS_PER_MS));
}

/**
 * Calls `visit` once per sample that one request contributes, in recording units. Each rule
 * follows DESIGN.md's definitions; a metric whose inputs are missing gets no sample at all, so
 * a non-streamed run never reports a TTFT of zero.
 */
function forEachSample(rec: RequestRecord, visit: (name: MetricName, value: number) => void) {
  const tokens = rec.outputTokens;
  if (rec.ttft !== undefined) visit("ttft", toMicros(rec.ttft));
  if (rec.ttfvt !== undefined) visit("ttfvt", toMicros(rec.ttfvt));
  visit("total_latency", toMicros(rec.totalLatency));
  if (rec.ttft !== undefined) {
    const decode = rec.totalLatency - rec.ttft;
    // Decode time is observed only between two token-carrying chunks; a reply whose text came in
    // one chunk (a 1-token reply, or one text token plus a text-less EOS token) has none.
    if (tokens > 1 && rec.itl.length > 0) visit("tpot", toMicros(decode / (tokens - 1)));
    if (tokens > 0) visit("latency_per_token", toMicros(decode / tokens));
    if (rec.chars > 0) visit("latency_per_char", toMicros(decode / rec.chars));
  }
  for (const gap of rec.itl) visit("itl", toMicros(gap));
  if (tokens > 0) visit("overall_latency_per_token", toMicros(rec.totalLatency / tokens));
  if (rec.intendedStart !== undefined) {
    // A send ahead of schedule is no lag; negative values would also break the histogram.
    const lag = Math.max(0, rec.start - rec.intendedStart);
    visit("send_lag", toMicros(lag));
    if (rec.ttft !== undefined) visit("ttft_intended", toMicros(rec.ttft + lag));
    visit("total_latency_intended", toMicros(rec.totalLatency + lag));
  }
  visit("num_tokens", Math.max(0, Math.round(tokens)));
  if (rec.promptTokens !== undefined) {
    visit("prompt_tokens", Math.max(0, Math.round(rec.promptTokens)));
  }
}

function addFailure(
  failures: Partial<Record<FailureKind, FailureStats>>,
  kind: FailureKind,
  part: { count: number; statuses: Record<string, number>; messages: readonly string[] },
) {
  const stats = failures[kind] ??= { count: 0, statuses: {}, messages: [] };
  stats.count += part.count;
  for (const [status, n] of Object.entries(part.statuses)) {
    stats.statuses[status] = (stats.statuses[status] ?? 0) + n;
  }
  for (const message of part.messages) {
    if (stats.messages.length >= MAX_EXAMPLES) break;
    if (!stats.messages.includes(message)) stats.messages.push(message);
  }
}

function addTokens(into: TokenStats, part: TokenStats) {
  into.output += part.output;
  into.prompt += part.prompt;
  into.chars += part.chars;
  for (const source of Object.keys(into.sources) as TokenSource[]) {
    into.sources[source] += part.sources[source];
  }
  into.mismatches.count += part.mismatches.count;
  for (const example of part.mismatches.examples) {
    if (into.mismatches.examples.length >= MAX_EXAMPLES) break;
    into.mismatches.examples.push({ ...example });
  }
  into.promptMismatches.count += part.promptMismatches.count;
  for (const example of part.promptMismatches.examples) {
    if (into.promptMismatches.examples.length >= MAX_EXAMPLES) break;
    into.promptMismatches.examples.push({ ...example });
  }
  // Results written before these counts existed merge as zeros.
  into.empty += part.empty ?? 0;
  into.truncated += part.truncated ?? 0;
  into.promptCache.requests += part.promptCache?.requests ?? 0;
  into.promptCache.cachedTokens += part.promptCache?.cachedTokens ?? 0;
  into.promptCache.promptTokens += part.promptCache?.promptTokens ?? 0;
}

function cloneTokens(tokens: TokenStats): TokenStats {
  const copy = emptyTokens();
  addTokens(copy, tokens);
  return copy;
}

function cloneFailures(
  failures: Partial<Record<FailureKind, FailureStats>>,
): Partial<Record<FailureKind, FailureStats>> {
  const copy: Partial<Record<FailureKind, FailureStats>> = {};
  for (const kind of FAILURE_KINDS) {
    const stats = failures[kind];
    if (stats) addFailure(copy, kind, stats);
  }
  return copy;
}

function encodeMetrics(
  accumulators: Map<MetricName, Accumulator>,
): Partial<Record<MetricName, MetricDelta>> {
  const metrics: Partial<Record<MetricName, MetricDelta>> = {};
  for (const name of METRIC_NAMES) {
    const acc = accumulators.get(name);
    if (!acc || acc.count === 0) continue;
    metrics[name] = {
      histogram: hdr.encodeIntoCompressedBase64(acc.histogram),
      count: acc.count,
      sum: acc.sum,
      min: acc.min,
      max: acc.max,
    };
  }
  return metrics;
}

/**
 * Shard side: records requests and failures, and hands over what it saw as a `StatsDelta`.
 * Not thread-safe by design: one per Worker.
 */
export class Recorder {
  #metrics = new Map<MetricName, Accumulator>();
  #ok = 0;
  #failures: Partial<Record<FailureKind, FailureStats>> = {};
  #tokens = emptyTokens();
  #capped = 0;

  /** Records the metrics and counters of one successful request. */
  recordRequest(rec: RequestRecord): void {
    forEachSample(rec, (name, value) => this.#record(name, value));
    this.#ok++;
    const tokens = this.#tokens;
    tokens.output += rec.outputTokens;
    tokens.prompt += rec.promptTokens ?? 0;
    tokens.chars += rec.chars;
    tokens.sources[rec.tokenSource]++;
    const expected = rec.expectedOutputTokens ?? rec.maxTokens;
    if (rec.outputTokens !== expected) {
      tokens.mismatches.count++;
      if (tokens.mismatches.examples.length < MAX_EXAMPLES) {
        tokens.mismatches.examples.push({ asked: expected, got: rec.outputTokens });
      }
    }
    if (rec.empty) tokens.empty++;
    if (rec.truncated) tokens.truncated++;
    if (rec.cachedPromptTokens !== undefined) {
      tokens.promptCache.requests++;
      tokens.promptCache.cachedTokens += rec.cachedPromptTokens;
      tokens.promptCache.promptTokens += rec.promptTokens ?? rec.cachedPromptTokens;
    }
    const { serverPromptTokens: server, localPromptTokens: local } = rec;
    if (server !== undefined && local !== undefined && server !== local) {
      tokens.promptMismatches.count++;
      if (tokens.promptMismatches.examples.length < MAX_EXAMPLES) {
        tokens.promptMismatches.examples.push({ server, local });
      }
    }
  }

  /** Counts one failed request under its kind and status, keeping its message if new. */
  recordFailure(failure: RequestFailure): void {
    const statuses: Record<string, number> = {};
    if (failure.status !== undefined) statuses[String(failure.status)] = 1;
    addFailure(this.#failures, failure.kind, {
      count: 1,
      statuses,
      messages: [failure.message],
    });
  }

  /** Notes `n` sends delayed because the in-flight cap was reached. */
  noteCapped(n = 1): void {
    this.#capped += n;
  }

  /** Returns everything recorded since the last call and starts afresh. */
  takeDelta(): StatsDelta {
    const delta: StatsDelta = {
      metrics: encodeMetrics(this.#metrics),
      ok: this.#ok,
      failures: this.#failures,
      tokens: this.#tokens,
      capped: this.#capped,
    };
    // Histograms are reused: allocating ~13 per delta every 250 ms would only feed the GC.
    for (const acc of this.#metrics.values()) {
      acc.histogram.reset();
      acc.count = 0;
      acc.sum = 0;
      acc.min = Infinity;
      acc.max = -Infinity;
    }
    this.#ok = 0;
    this.#failures = {};
    this.#tokens = emptyTokens();
    this.#capped = 0;
    return delta;
  }

  #record(name: MetricName, value: number) {
    let acc = this.#metrics.get(name);
    if (!acc) {
      acc = newAccumulator();
      this.#metrics.set(name, acc);
    }
    acc.histogram.recordValue(value);
    acc.count++;
    acc.sum += value;
    if (value < acc.min) acc.min = value;
    if (value > acc.max) acc.max = value;
  }
}

/** Running counters of an {@link Aggregate}. */
export interface AggregateCounts {
  /** Successful requests. */
  readonly ok: number;
  /** Failed requests, all kinds. */
  readonly failed: number;
  /** Output tokens summed over successful requests. */
  readonly outputTokens: number;
  /** Sends delayed because the in-flight cap was reached. */
  readonly capped: number;
}

/**
 * Coordinator side: merges deltas from any number of shards (or whole runs) exactly, and
 * summarises them. Merging the deltas of several recorders gives the same snapshot, to the last
 * percentile, as one recorder that saw every request.
 */
export class Aggregate {
  #metrics = new Map<MetricName, Accumulator>();
  #ok = 0;
  #failures: Partial<Record<FailureKind, FailureStats>> = {};
  #tokens = emptyTokens();
  #capped = 0;

  /** Adds one delta. */
  merge(delta: StatsDelta): void {
    for (const name of METRIC_NAMES) {
      const part = delta.metrics[name];
      if (!part || part.count === 0) continue;
      let acc = this.#metrics.get(name);
      if (!acc) {
        acc = newAccumulator();
        this.#metrics.set(name, acc);
      }
      acc.histogram.add(hdr.decodeFromCompressedBase64(part.histogram, 64, false));
      acc.count += part.count;
      acc.sum += part.sum;
      acc.min = Math.min(acc.min, part.min);
      acc.max = Math.max(acc.max, part.max);
    }
    this.#ok += delta.ok;
    for (const kind of FAILURE_KINDS) {
      const part = delta.failures[kind];
      if (part) addFailure(this.#failures, kind, part);
    }
    addTokens(this.#tokens, delta.tokens);
    this.#capped += delta.capped;
  }

  /** Forgets everything, e.g. at the end of the warm-up. */
  reset(): void {
    this.#metrics.clear();
    this.#ok = 0;
    this.#failures = {};
    this.#tokens = emptyTokens();
    this.#capped = 0;
  }

  /** The running counters, cheap enough to read on every tick. */
  counts(): AggregateCounts {
    let failed = 0;
    for (const stats of Object.values(this.#failures)) failed += stats.count;
    return { ok: this.#ok, failed, outputTokens: this.#tokens.output, capped: this.#capped };
  }

  /** One metric summarised in display units, or `undefined` while it has no samples. */
  metric(name: MetricName): MetricSummary | undefined {
    const acc = this.#metrics.get(name);
    return acc && acc.count > 0 ? summarise(name, acc) : undefined;
  }

  /** Summarises every metric in display units, plus the counters. Returns fresh objects. */
  snapshot(): StatsSnapshot {
    const metrics: Partial<Record<MetricName, MetricSummary>> = {};
    for (const name of METRIC_NAMES) {
      const acc = this.#metrics.get(name);
      if (acc && acc.count > 0) metrics[name] = summarise(name, acc);
    }
    let failed = 0;
    for (const stats of Object.values(this.#failures)) failed += stats.count;
    return {
      metrics,
      ok: this.#ok,
      failed,
      failures: cloneFailures(this.#failures),
      tokens: cloneTokens(this.#tokens),
      capped: this.#capped,
    };
  }

  /**
   * Everything held, as one delta: the histograms in their portable form, for the results file
   * or to merge this aggregate into another.
   */
  toDelta(): StatsDelta {
    return {
      metrics: encodeMetrics(this.#metrics),
      ok: this.#ok,
      failures: cloneFailures(this.#failures),
      tokens: cloneTokens(this.#tokens),
      capped: this.#capped,
    };
  }
}

function summarise(name: MetricName, acc: Accumulator): MetricSummary {
  const scale = TIME_METRIC_SET.has(name) ? MICROS_PER_MS : 1;
  // HDR answers with the top of a bucket, which can lie past the exact extremes; clamping keeps
  // p50 <= max and a single-valued metric exact.
  const at = (percentile: number) => {
    const value = acc.histogram.getValueAtPercentile(percentile);
    return Math.min(acc.max, Math.max(acc.min, value)) / scale;
  };
  return {
    count: acc.count,
    mean: acc.sum / acc.count / scale,
    min: acc.min / scale,
    max: acc.max / scale,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
  };
}
