/**
 * The results' `serverMetrics` section: what the scrapes found, in the shape the results JSON,
 * the console and the HTML report show it. Pure.
 *
 * @module
 */
import type { GaugeTerm, HistogramTerm } from "./dialects.ts";
import {
  histogramQuantile,
  type HistogramReading,
  type TtftBreakdown,
  ttftBreakdown,
} from "./readings.ts";
import type { ServerMetricsReport } from "./scraper.ts";

/** One server histogram's increase over the measured window, in ms. */
export interface ServerHistogramSummary {
  /** Observations in the window. */
  count: number;
  /** Their mean. */
  meanMs: number;
  /** Median and 90th and 99th percentiles from the buckets; `null` for a sum-and-count source. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

/** One server point, on the client's time axis. */
export type ServerSeriesPoint = { t: number } & Partial<Record<GaugeTerm | "preemptions", number>>;

/** The results' `serverMetrics` section. */
export interface ServerMetricsResults {
  /** The scraped URL. */
  url: string;
  /** `vllm`, `sglang`, `tgi`, `llamacpp`, `triton`, or `null` for a server llmload does not know. */
  dialect: string | null;
  /** Scrapes that answered with metrics, and those that failed. */
  scrapes: number;
  failedScrapes: number;
  /** When a counter went down during the run (a server restart), absolute epoch ms. */
  resets: number[];
  /** Counters' increase over the measured window; terms the server does not publish are absent. */
  window: {
    requests?: number;
    promptTokens?: number;
    generatedTokens?: number;
    preemptions?: number;
    prefixCacheHitRate?: number;
    specDecodeAcceptance?: number;
    /** Histograms' increase, by term (`ttft`, `queue`, `prefill`, `decode`). */
    histograms: Partial<Record<HistogramTerm, ServerHistogramSummary>>;
  };
  /** Client TTFT p50 = server queue p50 + server prefill p50 + the rest; absent without TTFT. */
  breakdown?: TtftBreakdown;
  /** One point per scrape, `t` in epoch ms as the results' time series. */
  series: ServerSeriesPoint[];
  /** For an unknown server, the listed series it has, raw, per scrape. */
  raw?: { t: number; values: Record<string, number> }[];
}

/** The section of `report`, with the client's TTFT p50 and mean (ms) for the breakdown. */
export function summarizeServerMetrics(
  report: ServerMetricsReport,
  clientTtft: { readonly p50Ms: number; readonly meanMs: number } | undefined,
): ServerMetricsResults {
  const { counters, histograms } = report.window;
  const window: ServerMetricsResults["window"] = { histograms: {} };
  if (counters.requests !== undefined) window.requests = counters.requests;
  if (counters.prompt_tokens !== undefined) window.promptTokens = counters.prompt_tokens;
  if (counters.generated_tokens !== undefined) window.generatedTokens = counters.generated_tokens;
  if (counters.preemptions !== undefined) window.preemptions = counters.preemptions;
  const hitRate = share(counters.prefix_cache_hits, counters.prefix_cache_queries);
  if (hitRate !== undefined) window.prefixCacheHitRate = hitRate;
  const acceptance = share(counters.spec_decode_accepted_tokens, counters.spec_decode_draft_tokens);
  if (acceptance !== undefined) window.specDecodeAcceptance = acceptance;
  for (
    const [term, histogram] of Object.entries(histograms) as [HistogramTerm, HistogramReading][]
  ) {
    if (histogram.count > 0) window.histograms[term] = histogramSummary(histogram);
  }
  return {
    url: report.url,
    dialect: report.dialect,
    scrapes: report.scrapes,
    failedScrapes: report.failedScrapes,
    resets: [...report.window.resets],
    window,
    ...(clientTtft === undefined ? {} : { breakdown: ttftBreakdown(clientTtft, histograms) }),
    series: report.points.map((point) => ({ t: point.t, ...point.values })),
    ...(report.raw
      ? { raw: report.raw.map((point) => ({ t: point.t, values: { ...point.values } })) }
      : {}),
  };
}

function histogramSummary(histogram: HistogramReading): ServerHistogramSummary {
  const ms = (q: number) => {
    const seconds = histogramQuantile(histogram, q);
    return seconds === undefined ? null : seconds * 1000;
  };
  return {
    count: histogram.count,
    meanMs: histogram.sum / histogram.count * 1000,
    p50Ms: ms(0.5),
    p90Ms: ms(0.9),
    p99Ms: ms(0.99),
  };
}

function share(part: number | undefined, whole: number | undefined): number | undefined {
  return part === undefined || whole === undefined || whole <= 0 ? undefined : part / whole;
}

/**
 * The breakdown as the console prints it: the p50 line, e.g. `Client TTFT p50 52.1 ms = server
 * queue p50 10.0 ms + server prefill p50 30.2 ms + the rest (network and client) 11.9 ms`, then
 * the same by means.
 */
export function describeBreakdown(breakdown: TtftBreakdown): string {
  const { queue, prefill } = breakdown;
  const missing = [queue ? undefined : "queue", prefill ? undefined : "prefill"]
    .filter((part) => part !== undefined);
  const rest = missing.length === 0
    ? "the rest (network and client)"
    : `the rest (network, client and the server's ${missing.join(" and ")}, not published)`;
  const line = (
    label: string,
    client: number,
    terms: readonly (readonly [string, number] | undefined)[],
    restMs: number,
  ) =>
    [
      `Client TTFT ${label} ${ms(client)} = `,
      [
        ...terms.filter((term) => term !== undefined).map(([name, value]) =>
          `${name} ${ms(value)}`
        ),
        `${rest} ${ms(restMs)}`,
      ].join(" + "),
    ].join("");
  return [
    line("p50", breakdown.clientTtftMs, [
      queue && [`server queue ${queue.statistic}`, queue.ms],
      prefill && [`server prefill ${prefill.statistic}`, prefill.ms],
    ], breakdown.restMs),
    line("mean", breakdown.means.clientTtftMs, [
      queue && ["server queue mean", queue.meanMs],
      prefill && ["server prefill mean", prefill.meanMs],
    ], breakdown.means.restMs),
  ].join("\n");
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}
