/**
 * Where each inference server publishes the quantities llmload joins with the client's view:
 * one table per server, from its own documentation and source (named in
 * `tests/testdata/README.md`), mapping its Prometheus series to a common vocabulary. Data only:
 * `server_metrics/readings.ts` reads scrapes through these tables, and the mock serves its
 * `/metrics` through the same ones, so a name is written once.
 *
 * @module
 */

/** Instant values of the server, read as they are at each scrape. */
export type GaugeTerm =
  | "running"
  | "waiting"
  | "kv_cache_usage"
  | "prefix_cache_hit_rate"
  | "generated_tokens_per_s"
  | "spec_decode_acceptance";

/** Counts since the server started; llmload uses their increase over the measured window. */
export type CounterTerm =
  | "requests"
  | "prompt_tokens"
  | "generated_tokens"
  | "preemptions"
  | "prefix_cache_queries"
  | "prefix_cache_hits"
  | "spec_decode_draft_tokens"
  | "spec_decode_accepted_tokens";

/** Per-request time distributions on the server, in seconds once read. */
export type HistogramTerm = "ttft" | "queue" | "prefill" | "decode";

/** A gauge series. */
export interface GaugeSource {
  /** Series name. */
  readonly gauge: string;
}

/** A counter: a counter series, or the `_sum` (or `_count`) of a histogram family. */
export type CounterSource =
  | { readonly counter: string }
  | { readonly histogramSum: string; readonly buckets: readonly number[] };

/**
 * A time distribution: a histogram family (buckets in `unit`), or only a sum and a count
 * counter (Triton's `_duration_us` totals), which give a mean and no percentile.
 */
export type HistogramSource =
  | {
    readonly histogram: string;
    readonly unit: TimeUnit;
    /** Only the series with these labels (TGI's `method="prefill"`). */
    readonly labels?: Readonly<Record<string, string>>;
  }
  | { readonly sum: string; readonly count: string; readonly unit: TimeUnit };

/** Unit of a server's time series. */
export type TimeUnit = "s" | "ms" | "us";

/** One server's metrics, in the common vocabulary. */
export interface ServerDialect {
  /** Its name in results, e.g. `vllm`. */
  readonly name: string;
  /** The prefix every one of its series has: how a scrape tells which server it is. */
  readonly prefix: string;
  /** Labels its series carry, as the mock writes them (`{model}` is the model's name). */
  readonly labels: Readonly<Record<string, string>>;
  readonly gauges: Readonly<Partial<Record<GaugeTerm, GaugeSource>>>;
  readonly counters: Readonly<Partial<Record<CounterTerm, CounterSource>>>;
  readonly histograms: Readonly<Partial<Record<HistogramTerm, HistogramSource>>>;
}

/** Seconds in one `unit`. */
export const SECONDS_PER: Readonly<Record<TimeUnit, number>> = { s: 1, ms: 1e-3, us: 1e-6 };

/** vLLM's bucket bounds of its request-time histograms (seconds). */
const VLLM_BUCKETS = [
  0.001,
  0.005,
  0.01,
  0.02,
  0.04,
  0.06,
  0.08,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
  20,
  40,
  80,
];

/** TGI's token-count buckets (`tgi_request_generated_tokens`, `tgi_request_input_length`). */
const TOKEN_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/** The servers llmload knows, by name. */
export const SERVER_DIALECTS: Readonly<Record<string, ServerDialect>> = {
  vllm: {
    name: "vllm",
    prefix: "vllm:",
    labels: { model_name: "{model}", engine: "0" },
    gauges: {
      running: { gauge: "vllm:num_requests_running" },
      waiting: { gauge: "vllm:num_requests_waiting" },
      kv_cache_usage: { gauge: "vllm:kv_cache_usage_perc" },
    },
    counters: {
      requests: { counter: "vllm:request_success_total" },
      prompt_tokens: { counter: "vllm:prompt_tokens_total" },
      generated_tokens: { counter: "vllm:generation_tokens_total" },
      preemptions: { counter: "vllm:num_preemptions_total" },
      prefix_cache_queries: { counter: "vllm:prefix_cache_queries_total" },
      prefix_cache_hits: { counter: "vllm:prefix_cache_hits_total" },
      spec_decode_draft_tokens: { counter: "vllm:spec_decode_num_draft_tokens_total" },
      spec_decode_accepted_tokens: { counter: "vllm:spec_decode_num_accepted_tokens_total" },
    },
    histograms: {
      ttft: { histogram: "vllm:time_to_first_token_seconds", unit: "s" },
      queue: { histogram: "vllm:request_queue_time_seconds", unit: "s" },
      prefill: { histogram: "vllm:request_prefill_time_seconds", unit: "s" },
      decode: { histogram: "vllm:request_decode_time_seconds", unit: "s" },
    },
  },
  sglang: {
    name: "sglang",
    prefix: "sglang:",
    labels: { model_name: "{model}" },
    gauges: {
      running: { gauge: "sglang:num_running_reqs" },
      waiting: { gauge: "sglang:num_queue_reqs" },
      kv_cache_usage: { gauge: "sglang:token_usage" },
      prefix_cache_hit_rate: { gauge: "sglang:cache_hit_rate" },
      generated_tokens_per_s: { gauge: "sglang:gen_throughput" },
    },
    counters: {
      requests: { counter: "sglang:num_requests_total" },
      prompt_tokens: { counter: "sglang:prompt_tokens_total" },
      generated_tokens: { counter: "sglang:generation_tokens_total" },
    },
    histograms: {
      ttft: { histogram: "sglang:time_to_first_token_seconds", unit: "s" },
      queue: { histogram: "sglang:queue_time_seconds", unit: "s" },
    },
  },
  tgi: {
    name: "tgi",
    prefix: "tgi_",
    labels: {},
    gauges: {
      running: { gauge: "tgi_batch_current_size" },
      waiting: { gauge: "tgi_queue_size" },
    },
    counters: {
      requests: { counter: "tgi_request_success" },
      prompt_tokens: { histogramSum: "tgi_request_input_length", buckets: TOKEN_BUCKETS },
      generated_tokens: { histogramSum: "tgi_request_generated_tokens", buckets: TOKEN_BUCKETS },
    },
    histograms: {
      queue: { histogram: "tgi_request_queue_duration", unit: "s" },
      // Per batch; the prefill of a request is the prefill of the batch it joined.
      prefill: {
        histogram: "tgi_batch_inference_duration",
        unit: "s",
        labels: { method: "prefill" },
      },
    },
  },
  llamacpp: {
    name: "llamacpp",
    prefix: "llamacpp:",
    labels: {},
    gauges: {
      running: { gauge: "llamacpp:requests_processing" },
      waiting: { gauge: "llamacpp:requests_deferred" },
      kv_cache_usage: { gauge: "llamacpp:kv_cache_usage_ratio" },
    },
    counters: {
      prompt_tokens: { counter: "llamacpp:prompt_tokens_total" },
      generated_tokens: { counter: "llamacpp:tokens_predicted_total" },
    },
    histograms: {},
  },
  triton: {
    name: "triton",
    prefix: "nv_inference_",
    labels: { model: "{model}", version: "1" },
    gauges: {
      waiting: { gauge: "nv_inference_pending_request_count" },
    },
    counters: {
      requests: { counter: "nv_inference_request_success" },
    },
    histograms: {
      ttft: { histogram: "nv_inference_first_response_histogram_ms", unit: "ms" },
      queue: {
        sum: "nv_inference_queue_duration_us",
        count: "nv_inference_request_success",
        unit: "us",
      },
    },
  },
};

/** Bucket bounds (in the source's unit) the mock uses for a histogram of `dialect`. */
export function bucketsOf(source: HistogramSource): readonly number[] {
  if (!("histogram" in source)) return [];
  const perSecond = 1 / SECONDS_PER[source.unit];
  return VLLM_BUCKETS.map((bound) => Math.round(bound * perSecond * 1e6) / 1e6);
}

/** The server dialect whose series `names` hold, or `undefined` for a server llmload does not know. */
export function detectDialect(names: Iterable<string>): ServerDialect | undefined {
  const dialects = Object.values(SERVER_DIALECTS);
  for (const name of names) {
    const found = dialects.find((dialect) => name.startsWith(dialect.prefix));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The metrics dialect of a `--provider` (the server behind it), if it publishes metrics. */
export function serverDialectOf(provider: string): ServerDialect | undefined {
  if (provider.startsWith("triton")) return SERVER_DIALECTS.triton;
  return SERVER_DIALECTS[provider];
}

/** Every series name any table lists: what is kept raw from a server llmload does not know. */
export const LISTED_SERIES: readonly string[] = [
  ...new Set(
    Object.values(SERVER_DIALECTS).flatMap((dialect) => [
      ...Object.values(dialect.gauges).map((source) => source.gauge),
      ...Object.values(dialect.counters).map((source) =>
        "counter" in source ? source.counter : source.histogramSum
      ),
      ...Object.values(dialect.histograms).flatMap((source) =>
        "histogram" in source ? [source.histogram] : [source.sum, source.count]
      ),
    ]),
  ),
];

/** Every term of the vocabulary, in the order the README's table lists them. */
export const TERMS = {
  gauges: [
    "running",
    "waiting",
    "kv_cache_usage",
    "prefix_cache_hit_rate",
    "generated_tokens_per_s",
    "spec_decode_acceptance",
  ],
  counters: [
    "requests",
    "prompt_tokens",
    "generated_tokens",
    "preemptions",
    "prefix_cache_queries",
    "prefix_cache_hits",
    "spec_decode_draft_tokens",
    "spec_decode_accepted_tokens",
  ],
  histograms: ["ttft", "queue", "prefill", "decode"],
} as const satisfies {
  gauges: readonly GaugeTerm[];
  counters: readonly CounterTerm[];
  histograms: readonly HistogramTerm[];
};

/** The mapping as a Markdown table, one column per server: the README's, checked by a test. */
export function mappingTable(): string {
  const dialects = Object.values(SERVER_DIALECTS);
  const rows: string[][] = [["term", ...dialects.map((dialect) => dialect.name)]];
  const cell = (text: string | undefined) => text === undefined ? "–" : text;
  for (const term of TERMS.gauges) {
    rows.push([
      `\`${term}\``,
      ...dialects.map((d) => cell(d.gauges[term] && `\`${d.gauges[term]!.gauge}\``)),
    ]);
  }
  for (const term of TERMS.counters) {
    rows.push([
      `\`${term}\``,
      ...dialects.map((d) => {
        const source = d.counters[term];
        if (source === undefined) return cell(undefined);
        return "counter" in source ? `\`${source.counter}\`` : `\`${source.histogramSum}_sum\``;
      }),
    ]);
  }
  for (const term of TERMS.histograms) {
    rows.push([
      `\`${term}\``,
      ...dialects.map((d) => {
        const source = d.histograms[term];
        if (source === undefined) return cell(undefined);
        if (!("histogram" in source)) return `\`${source.sum}\` / \`${source.count}\` (mean)`;
        const labels = Object.entries(source.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(",");
        return `\`${source.histogram}${labels ? `{${labels}}` : ""}\``;
      }),
    ]);
  }
  const lines = rows.map((row) => `| ${row.join(" | ")} |`);
  lines.splice(1, 0, `|${rows[0].map(() => " --- ").join("|")}|`);
  return lines.join("\n");
}
