/**
 * Text the console shows at the end of a run: the per-metric table and the seed's summary block.
 * Pure string builders; printing is the caller's business.
 *
 * @module
 */

import { FAILURE_KINDS, METRIC_NAMES, type MetricName } from "../stats/metrics.ts";
import type { MetricResult, Results } from "./results.ts";
import { SERVER_TOKENIZER, TIKTOKEN_ENCODINGS } from "../load/tokenizer.ts";
import { counted } from "./progress.ts";
import { formatTurnTable } from "./turn_table.ts";
import { formatGoalSections } from "./goals_table.ts";

/** Settings the summary block shows that the results object does not carry in this form. */
export interface SummaryInfo {
  /** Description of the `max_tokens` sampler, as the seed prints it (e.g. `Constant(128)`). */
  generationTokens: string;
  /** Concurrent users. */
  users: number;
  /** Fixed-QPS target, in QPS mode. */
  qps?: number;
  /** Spacing of sends in QPS mode. */
  qpsDistribution: string;
  /** The replayed `--trace`: its file's name and `--trace-speed`. */
  trace?: { readonly file: string; readonly speed: number };
  /** Whether responses were streamed. */
  stream: boolean;
  /** Sampling temperature. */
  temperature: number;
  /** `logprobs` parameter, if set. */
  logprobs?: number;
  /** Configured prompt length in tokens, shown when the server reported none. */
  promptTokens: number;
}

/**
 * One summary value: the text Python's `str()` would give, or `null` for Python's `None`
 * (printed as `None` in the block, written empty by the CSV writer, as the seed's did).
 */
export type SummaryValue = string | null;

const WIDTH = 80;
const PERCENTILES = [
  ["P50", "p50"],
  ["P90", "p90"],
  ["P99", "p99"],
  ["P99.9", "p999"],
] as const;

/**
 * Formats a number the way Python's `str(float)` does: shortest round-trip digits, always a
 * decimal point (`100.0`), exponent form below 1e-4 and from 1e16 (`1e-05`, `1e+16`).
 *
 * @example
 * ```ts
 * formatPythonFloat(100); // "100.0"
 * formatPythonFloat(0.00001); // "1e-05"
 * ```
 */
export function formatPythonFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without digits gives the same shortest round-trip digits as Python's repr.
  const [mantissa, exponentText] = x.toExponential().split("e");
  const exponent = Number(exponentText);
  const sign = x < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exponent < -4 || exponent >= 16) {
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const magnitude = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${body}e${exponent < 0 ? "-" : "+"}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const integerDigits = exponent + 1;
  if (digits.length <= integerDigits) return `${sign}${digits.padEnd(integerDigits, "0")}.0`;
  return `${sign}${digits.slice(0, integerDigits)}.${digits.slice(integerDigits)}`;
}

/** Centres `text` in `width` columns like Python's `str.center`, extra padding on the right. */
export function centerPython(text: string, width: number, fill = " "): string {
  const margin = width - text.length;
  if (margin <= 0) return text;
  // CPython: left = margin / 2 + (margin & width & 1).
  const left = Math.floor(margin / 2) + (margin & width & 1);
  return fill.repeat(left) + text + fill.repeat(margin - left);
}

function pythonBool(value: boolean): string {
  return value ? "True" : "False";
}

/**
 * The seed's summary entries, in its order, with its keys and Python-formatted values. Time
 * values are milliseconds; a metric without samples is `None`.
 */
export function summaryEntries(results: Results, info: SummaryInfo): [string, SummaryValue][] {
  const m = results.metrics;
  const mean = (metric: MetricResult | undefined) => metric ? formatPythonFloat(metric.mean) : null;
  // The seed blanks these without streaming: they would be meaningless.
  const streamed = (value: SummaryValue) => info.stream ? value : "";
  const entries: [string, SummaryValue][] = [
    ["Provider", results.provider],
    ["Model", results.model],
    ["Prompt Tokens", m.prompt_tokens ? mean(m.prompt_tokens) : String(info.promptTokens)],
    ["Generation Tokens", info.generationTokens],
    ["Stream", pythonBool(info.stream)],
    ["Temperature", formatPythonFloat(info.temperature)],
    ["Logprobs", info.logprobs === undefined ? null : String(info.logprobs)],
    [
      "Concurrency",
      info.trace !== undefined
        ? `Trace ${info.trace.file} at ${info.trace.speed}x`
        : info.qps === undefined
        ? String(info.users)
        : `QPS ${formatPythonFloat(info.qps)} ${info.qpsDistribution}`,
    ],
    ["Time To First Token", streamed(mean(m.ttft))],
    ["Latency Per Token", streamed(mean(m.latency_per_token))],
    ["Num Tokens", mean(m.num_tokens)],
    ["Total Latency", mean(m.total_latency)],
    ["Num Requests", String(results.requests.ok)],
    ["Qps", formatPythonFloat(results.throughput.requestsPerSec)],
  ];
  for (const [label, key] of PERCENTILES) {
    const value = m.ttft ? formatPythonFloat(m.ttft[key]) : null;
    entries.push([`${label} Time To First Token`, streamed(value)]);
  }
  for (const [label, key] of PERCENTILES) {
    const value = m.total_latency ? formatPythonFloat(m.total_latency[key]) : null;
    entries.push([`${label} Total Latency`, value]);
  }
  return entries;
}

/**
 * The seed's summary block, line for line: a centred ` Summary ` rule, `Key: value` lines with
 * keys padded to the longest, and a closing rule. No trailing newline.
 */
export function formatSummaryBlock(results: Results, info: SummaryInfo): string {
  const entries = summaryEntries(results, info);
  const keyWidth = Math.max(...entries.map(([key]) => key.length));
  const lines = [centerPython(" Summary ", WIDTH, "=")];
  for (const [key, value] of entries) lines.push(`${key.padEnd(keyWidth)}: ${value ?? "None"}`);
  lines.push("=".repeat(WIDTH));
  return lines.join("\n");
}

/** Pads cells to column width; `rightAligned[i]` right-aligns column i (numbers). */
function alignRows(rows: readonly string[][], rightAligned: readonly boolean[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  }
  return rows.map((row) =>
    row.map((cell, i) => rightAligned[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))
      .join("  ").trimEnd()
  );
}

function formatValue(value: number, name: MetricName, isMean: boolean): string {
  // Token counts are whole numbers, except their mean.
  if (name === "num_tokens" || name === "prompt_tokens") {
    return value.toFixed(isMean ? 2 : 0);
  }
  return value.toFixed(2);
}

function metricRows(results: Results): string[] {
  const header = [
    "metric",
    "unit",
    "count",
    "mean",
    "min",
    "p50",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "max",
  ];
  const rows = [header];
  for (const name of METRIC_NAMES) {
    const metric = results.metrics[name];
    if (!metric) continue;
    const values = [metric.min, metric.p50, metric.p90, metric.p95, metric.p99, metric.p999];
    rows.push([
      name,
      metric.unit,
      String(metric.count),
      formatValue(metric.mean, name, true),
      ...values.map((value) => formatValue(value, name, false)),
      formatValue(metric.max, name, false),
    ]);
  }
  if (rows.length === 1) return ["No successful requests: no metrics to show"];
  return alignRows(rows, header.map((_, i) => i >= 2));
}

function failureLines(results: Results): string[] {
  const { failed, total } = results.requests;
  if (failed === 0) return [];
  const share = (failed / total * 100).toFixed(1);
  const lines = [`Failures: ${failed} of ${total} requests (${share}%)`];
  const rows: string[][] = [];
  const messages: string[][] = [];
  for (const kind of FAILURE_KINDS) {
    const stats = results.failures[kind];
    if (!stats) continue;
    const statuses = Object.entries(stats.statuses)
      .sort(([, a], [, b]) => b - a)
      .map(([status, count]) => `${status}: ${count}`)
      .join(", ");
    rows.push([kind, String(stats.count), statuses ? `(status ${statuses})` : ""]);
    messages.push(stats.messages);
  }
  alignRows(rows, [false, true, false]).forEach((row, i) => {
    lines.push(`  ${row}`);
    for (const message of messages[i]) lines.push(`      ${message}`);
  });
  return lines;
}

/** Share of prompt tokens served from the server's cache above which a warning is shown. */
export const PROMPT_CACHE_WARN_SHARE = 0.5;

function tokenLines(results: Results): string[] {
  const { sources, mismatches, promptMismatches } = results.tokens;
  const lines: string[] = [];
  const ok = results.requests.ok;
  const counted = Object.entries(sources).filter(([, count]) => count > 0);
  if (counted.length > 0) {
    const parts = counted.map(([source, count]) => `${source} ${count}`).join(", ");
    lines.push(`Output tokens counted from: ${parts}`);
  }
  // Results written before these counts existed have none of them.
  const empty = results.tokens.empty ?? 0;
  if (empty > 0) {
    lines.push(
      `Empty replies: ${empty} of ${ok} requests ended without generated text (the model ` +
        `stopped on its first token); counted as successes, left out of ttft and itl`,
    );
  }
  const truncated = results.tokens.truncated ?? 0;
  if (truncated > 0) {
    lines.push(
      `Truncated replies: ${truncated} of ${ok} requests were cut at the server's context ` +
        `size (truncated: true); shorten the prompt (-p) or --max-tokens`,
    );
  }
  const reasoning = results.tokens.reasoning ?? 0;
  if (reasoning > 0) {
    const output = results.tokens.output;
    lines.push(
      `Reasoning tokens: ${reasoning} of ${output} output tokens (${
        (reasoning / output * 100).toFixed(1)
      }%) went to reasoning, as usage reasoning_tokens says; ttft is the first reasoning or ` +
        `text token, ttfvt the first visible one`,
    );
  }
  const cancelled = results.tokens.cancelled ?? 0;
  if (cancelled > 0) {
    lines.push(
      `Cancelled: ${cancelled} of ${ok} requests closed after their first token ` +
        `(--cancel-rate); counted in ok with their ttft and ttfvt only, never as failures`,
    );
  }
  const cache = results.tokens.promptCache;
  if (cache !== undefined && cache.requests > 0) {
    const share = cache.promptTokens > 0 ? cache.cachedTokens / cache.promptTokens : 0;
    const advice = share >= PROMPT_CACHE_WARN_SHARE && !results.config.promptRandomize
      ? "; the server skipped most of the prompt work, pass --prompt-randomize to measure it"
      : "";
    const hits = cache.hits ?? 0;
    lines.push(
      `Prompt cache: ${cache.cachedTokens} of ${cache.promptTokens} prompt tokens ` +
        `(${(share * 100).toFixed(1)}%) served from the server's cache; ${hits} of ` +
        `${cache.requests} requests hit it (${(hits / cache.requests * 100).toFixed(1)}%)` +
        advice,
    );
  }
  if (mismatches.count > 0) {
    const examples = mismatches.examples.map(({ asked, got }) => `asked ${asked} got ${got}`);
    lines.push(
      `Max tokens mismatch: ${mismatches.count} of ${results.requests.ok} requests did not ` +
        `generate exactly max_tokens (${examples.join("; ")})`,
    );
  }
  if (promptMismatches.count > 0) {
    const examples = promptMismatches.examples.map(({ server, local }) =>
      `server ${server} local ${local}`
    );
    lines.push(
      `Prompt tokens mismatch: ${promptMismatches.count} of ${results.requests.ok} requests ` +
        `(${examples.join("; ")}); ${promptMismatchAdvice(results)}`,
    );
  }
  return lines;
}

/** What to do about prompt counts that differ, never what the run already does. */
function promptMismatchAdvice(results: Results): string {
  const tokenizer = results.config.tokenizer;
  if (tokenizer === SERVER_TOKENIZER) {
    return "the server's usage counts differ from its own tokenize endpoint's";
  }
  if (!(TIKTOKEN_ENCODINGS as readonly string[]).includes(tokenizer)) {
    const gaps = new Set(results.tokens.promptMismatches.examples.map((e) => e.server - e.local));
    const gap = gaps.size === 1 ? [...gaps][0] : undefined;
    const by = gap === undefined
      ? "differently"
      : `${Math.abs(gap)} token${Math.abs(gap) === 1 ? "" : "s"} ${gap > 0 ? "more" : "fewer"}`;
    return `the server counts every prompt ${by} than ${tokenizer} (a tokenizer of another ` +
      `model, or special tokens the server adds that its post-processor and ` +
      `tokenizer_config.json do not declare); pass --tokenizer server to count with the ` +
      `server's own tokenizer`;
  }
  return "pass --tokenizer with the model's tokenizer.json, or --tokenizer server";
}

function throughputLines(results: Results): string[] {
  const { ok, failed, total } = results.requests;
  const { requestsPerSec, outputTokensPerSec, totalTokensPerSec } = results.throughput;
  const seconds = (results.durationMs / 1000).toFixed(2);
  const { inputsPerSec, documentsPerSec, promptTokensPerSec } = results.throughput;
  const texts = inputsPerSec === undefined
    ? documentsPerSec === undefined ? undefined : `${documentsPerSec.toFixed(2)} documents/s`
    : `${inputsPerSec.toFixed(2)} inputs/s`;
  const rates = texts === undefined
    ? `${outputTokensPerSec.toFixed(2)} output tokens/s, ` +
      `${totalTokensPerSec.toFixed(2)} total tokens/s`
    : `${texts}, ${(promptTokensPerSec ?? 0).toFixed(2)} prompt tokens/s`;
  const lines = [
    `Requests: ${ok} ok, ${failed} failed, ${total} total in ${seconds} s`,
    `Throughput: ${requestsPerSec.toFixed(2)} requests/s, ${rates}`,
  ];
  if (results.capped > 0) {
    lines.push(
      `In-flight cap reached: ${counted(results.capped, "send")} waited for a free slot, so the ` +
        `offered load was lower than asked; raise -u`,
    );
  }
  return lines;
}

/**
 * The end-of-run table: one row per metric with samples (count, mean, min, percentiles, max;
 * 2 decimals), then failures by kind with statuses and first messages, token-count sources and
 * `max_tokens` mismatches, and throughput. No trailing newline.
 */
export function formatMetricTable(results: Results): string {
  const sections = [metricRows(results), failureLines(results), tokenLines(results)];
  sections.push(formatTurnTable(results.turns));
  sections.push(...formatGoalSections(results));
  sections.push(throughputLines(results));
  return sections.filter((lines) => lines.length > 0).map((lines) => lines.join("\n"))
    .join("\n\n");
}
