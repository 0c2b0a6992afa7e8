/**
 * What llmload measures: the metric catalog in display order, the unit each metric is reported
 * in, the failure kinds, and the definitions that turn one `RequestRecord` into its samples.
 *
 * Time metrics are recorded as integer microseconds and reported in milliseconds; count metrics
 * are recorded and reported as integers.
 *
 * @example
 * ```ts
 * forEachSample(record, (name, value) => console.log(name, value / displayScale(name)));
 * ```
 *
 * @module
 */

import type { FailureKind, RequestRecord } from "../request/types.ts";

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
  "ttft_cache_hit",
  "ttft_cache_miss",
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
  ttft_cache_hit: "ms",
  ttft_cache_miss: "ms",
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

/** `amount` per second over `durationMs`; 0 for an empty window (JSON has no Infinity). */
export function perSecond(amount: number, durationMs: number): number {
  return durationMs > 0 ? amount / (durationMs / 1000) : 0;
}

/** What a metric's recorded values are divided by to give its display unit (µs → ms, or 1). */
export function displayScale(name: MetricName): number {
  return TIME_METRIC_SET.has(name) ? MICROS_PER_MS : 1;
}

function toMicros(ms: number): number {
  return Math.max(0, Math.round(ms * MICROS_PER_MS));
}

/**
 * The request's time per output token after the first, (E2E − TTFT) / (tokens − 1), in ms;
 * `undefined` for a reply without decode time.
 */
export function requestTpot(rec: RequestRecord): number | undefined {
  // Decode time is observed only between two token-carrying chunks; a reply whose text came in
  // one chunk (a 1-token reply, or one text token plus a text-less EOS token) has none.
  if (rec.ttft === undefined || rec.outputTokens <= 1 || rec.itl.length === 0) return undefined;
  return (rec.totalLatency - rec.ttft) / (rec.outputTokens - 1);
}

/**
 * Calls `visit` once per sample that one request contributes, in recording units. Each rule
 * follows the README's metric definitions; a metric whose inputs are missing gets no sample at all, so
 * a non-streamed run never reports a TTFT of zero. A request cancelled after its first token
 * (`--cancel-rate`) gives only its TTFT, TTFVT and send lag: the rest of its reply never came.
 */
export function forEachSample(
  rec: RequestRecord,
  visit: (name: MetricName, value: number) => void,
): void {
  const tokens = rec.outputTokens;
  if (rec.ttft !== undefined) visit("ttft", toMicros(rec.ttft));
  if (rec.ttfvt !== undefined) visit("ttfvt", toMicros(rec.ttfvt));
  if (rec.cancelled) {
    if (rec.intendedStart === undefined) return;
    const lag = Math.max(0, rec.start - rec.intendedStart);
    visit("send_lag", toMicros(lag));
    if (rec.ttft !== undefined) visit("ttft_intended", toMicros(rec.ttft + lag));
    return;
  }
  visit("total_latency", toMicros(rec.totalLatency));
  const tpot = requestTpot(rec);
  if (tpot !== undefined) visit("tpot", toMicros(tpot));
  if (rec.ttft !== undefined) {
    const decode = rec.totalLatency - rec.ttft;
    if (tokens > 0) visit("latency_per_token", toMicros(decode / tokens));
    if (rec.chars > 0) visit("latency_per_char", toMicros(decode / rec.chars));
  }
  // Split by cache hit only where the server said how much of the prompt it had cached.
  if (rec.ttft !== undefined && rec.cachedPromptTokens !== undefined) {
    visit(rec.cachedPromptTokens > 0 ? "ttft_cache_hit" : "ttft_cache_miss", toMicros(rec.ttft));
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
  // Embeddings and rerank requests generate nothing: no output tokens to report.
  if (rec.inputs === undefined) visit("num_tokens", Math.max(0, Math.round(tokens)));
  if (rec.promptTokens !== undefined) {
    visit("prompt_tokens", Math.max(0, Math.round(rec.promptTokens)));
  }
}
