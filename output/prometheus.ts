/**
 * Prometheus exposition of a run: a small formatter for the text format (version 0.0.4) and
 * `RunMetrics`, which turns the coordinator's live views into llmload's counters, histograms and
 * gauges.
 *
 * Counters and histograms count every request since load started, warm-up included, so they
 * never go backwards when the stats window resets; `/api/results` is where the measured window
 * lives. Histogram buckets are counted from the HDR histograms, so a bucket boundary is as exact
 * as HDR's 3 significant digits.
 *
 * @example
 * ```ts
 * const metrics = new RunMetrics();
 * metrics.observe(view); // about once a second
 * const text = metrics.format("running");
 * ```
 *
 * @module
 */
import type { LiveView, RunState } from "../run/types.ts";
import { FAILURE_KINDS, type MetricName } from "../stats/metrics.ts";
import { addSloCounts, emptySloCounts, type SloCounts, sloMetricsOf } from "../stats/slo.ts";

/** Content type of the text format served at `/metrics`. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** One value of a counter or gauge. */
export interface ScalarSample {
  /** Labels of this series. */
  readonly labels: Labels;
  /** Its value. */
  readonly value: number;
}

/** One series of a histogram. */
export interface HistogramSample {
  /** Labels of this series (without `le`). */
  readonly labels: Labels;
  /** Upper bounds, ascending, with the cumulative count of observations at or below each. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  /** Sum of all observations. */
  readonly sum: number;
  /** Number of observations; also the `+Inf` bucket. */
  readonly count: number;
}

/** A metric family: name, help text, type and its series. */
export type MetricFamily =
  | {
    readonly type: "counter" | "gauge";
    readonly name: string;
    readonly help: string;
    readonly samples: readonly ScalarSample[];
  }
  | {
    readonly type: "histogram";
    readonly name: string;
    readonly help: string;
    readonly samples: readonly HistogramSample[];
  };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Formats metric families in the Prometheus text format: `# HELP`, `# TYPE`, then one line per
 * sample; histograms get cumulative `_bucket` lines (ending with `le="+Inf"`), `_sum` and
 * `_count`. Throws on a name the format does not allow: that is a bug, not input.
 */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`Invalid metric name '${family.name}'`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    if (family.type === "histogram") {
      for (const sample of family.samples) {
        for (const bucket of sample.buckets) {
          lines.push(sampleLine(`${family.name}_bucket`, sample.labels, bucket.count, bucket.le));
        }
        lines.push(sampleLine(`${family.name}_bucket`, sample.labels, sample.count, Infinity));
        lines.push(sampleLine(`${family.name}_sum`, sample.labels, sample.sum));
        lines.push(sampleLine(`${family.name}_count`, sample.labels, sample.count));
      }
    } else {
      for (const sample of family.samples) {
        lines.push(sampleLine(family.name, sample.labels, sample.value));
      }
    }
  }
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

function sampleLine(name: string, labels: Labels, value: number, le?: number): string {
  const pairs = Object.entries(labels).map(([label, text]) => {
    if (!LABEL_NAME.test(label) || label.startsWith("__")) {
      throw new Error(`Invalid label name '${label}'`);
    }
    return `${label}="${escapeLabelValue(text)}"`;
  });
  if (le !== undefined) pairs.push(`le="${formatNumber(le)}"`);
  const labelText = pairs.length > 0 ? `{${pairs.join(",")}}` : "";
  return `${name}${labelText} ${formatNumber(value)}`;
}

/** A number as the text format writes it: `+Inf`, `-Inf`, `NaN`, else the shortest exact digits. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Bucket upper bounds in seconds, per histogram. */
export const HISTOGRAM_BUCKETS: Readonly<Record<HistogramMetric, readonly number[]>> = {
  // From a cached prefix on a local GPU (~10 ms) to a long prompt queued behind a busy batch.
  ttft: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  // Decode steps: a fast small model streams a token every few ms, a loaded server every 100+.
  itl: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1],
  tpot: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1],
  total_latency: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300],
};

/** Metrics exposed as Prometheus histograms. */
export type HistogramMetric = Extract<MetricName, "ttft" | "itl" | "tpot" | "total_latency">;

const HISTOGRAM_HELP: Readonly<Record<HistogramMetric, string>> = {
  ttft: "Time to first token: from sending the request to the first chunk with generated text",
  itl: "Inter-token latency: gap between consecutive token-carrying chunks, pooled over requests",
  tpot: "Time per output token: (total latency - TTFT) / (output tokens - 1)",
  total_latency: "Total latency: from sending the request to the last byte of the response",
};

const MICROS_PER_SECOND = 1_000_000;

interface HistogramState {
  /** Per-slot counts, not cumulative; the last slot is above every bound. */
  slots: number[];
  sum: number;
  count: number;
}

const STATES: readonly RunState[] = ["starting", "running", "stopping", "done"];

/**
 * llmload's Prometheus metrics for one run, fed by the coordinator's live views. All series carry
 * `provider` and `model` labels.
 */
export class RunMetrics {
  #labels: Labels | undefined;
  #requests = new Map<string, { outcome: string; status: string; count: number }>();
  #tokens = { input: 0, output: 0 };
  /** Embedding inputs or rerank documents of successful requests (`--mode embeddings`, `rerank`). */
  #inputs = 0;
  /** The server's prompt cache and `--cancel-rate`, added up from the intervals. */
  #extras = { cacheHits: 0, cachedPromptTokens: 0, cancelled: 0 };
  #histograms = new Map<HistogramMetric, HistogramState>();
  #view: LiveView | undefined;
  /** With `--slo`: the requests judged and met since the start, added up from the intervals. */
  #slo: SloCounts | undefined;

  /**
   * Adds what the view's interval measured, read from its live histograms (nothing encoded or
   * decoded), and keeps the view for the gauges.
   */
  observe(view: LiveView): void {
    this.#labels = { provider: view.target.provider, model: view.target.model };
    this.#view = view;
    const { interval } = view;
    const counts = interval.counts();
    if (counts.ok > 0) this.#countRequests("ok", "2xx", counts.ok);
    const failures = interval.failures();
    for (const kind of FAILURE_KINDS) {
      const failure = failures[kind];
      if (!failure) continue;
      let withStatus = 0;
      for (const [status, count] of Object.entries(failure.statuses)) {
        this.#countRequests(kind, status, count);
        withStatus += count;
      }
      if (failure.count > withStatus) this.#countRequests(kind, "none", failure.count - withStatus);
    }
    this.#tokens.input += counts.promptTokens;
    this.#tokens.output += counts.outputTokens;
    const slo = interval.sloCounts();
    if (slo) addSloCounts(this.#slo ??= emptySloCounts(sloMetricsOf(slo)), slo);
    this.#inputs += counts.inputs;
    this.#extras.cacheHits += counts.cacheHits;
    this.#extras.cachedPromptTokens += counts.cachedPromptTokens;
    this.#extras.cancelled += counts.cancelled;
    for (const name of Object.keys(HISTOGRAM_BUCKETS) as HistogramMetric[]) {
      const part = interval.buckets(
        name,
        HISTOGRAM_BUCKETS[name].map((bound) => bound * MICROS_PER_SECOND),
      );
      if (!part) continue;
      let state = this.#histograms.get(name);
      if (!state) {
        state = { slots: Array(HISTOGRAM_BUCKETS[name].length + 1).fill(0), sum: 0, count: 0 };
        this.#histograms.set(name, state);
      }
      part.slots.forEach((count, slot) => state.slots[slot] += count);
      state.sum += part.sum / MICROS_PER_SECOND;
      state.count += part.count;
    }
  }

  /** Every family, in a stable order. Series appear once the first view has named the target. */
  families(state: RunState): MetricFamily[] {
    const labels = this.#labels;
    const view = this.#view;
    const scalar = (value: number, extra: Labels = {}): ScalarSample[] =>
      labels ? [{ labels: { ...labels, ...extra }, value }] : [];
    const requests = [...this.#requests.values()]
      .sort((a, b) => a.outcome.localeCompare(b.outcome) || a.status.localeCompare(b.status))
      .flatMap(({ outcome, status, count }) => scalar(count, { outcome, status }));
    const families: MetricFamily[] = [
      {
        type: "counter",
        name: "llmload_requests_total",
        help: 'Requests finished, by outcome ("ok" or the failure kind) and HTTP status',
        samples: requests,
      },
      {
        type: "counter",
        name: "llmload_tokens_total",
        help: "Tokens of successful requests: prompt (input) and generated (output)",
        samples: [
          ...scalar(this.#tokens.input, { direction: "input" }),
          ...scalar(this.#tokens.output, { direction: "output" }),
        ],
      },
    ];
    families.push(...this.#sloFamilies(scalar));
    const counters: [name: string, help: string, value: number][] = [
      [
        "llmload_inputs_total",
        "Texts of successful embeddings and rerank requests: inputs or documents",
        this.#inputs,
      ],
      [
        "llmload_prompt_cache_hits_total",
        "Successful requests whose server reported at least one prompt token served from its cache",
        this.#extras.cacheHits,
      ],
      [
        "llmload_cached_prompt_tokens_total",
        "Prompt tokens the server reported as served from its prompt cache (cached_tokens)",
        this.#extras.cachedPromptTokens,
      ],
      [
        "llmload_cancelled_requests_total",
        "Requests closed on purpose after their first token (--cancel-rate), counted as ok",
        this.#extras.cancelled,
      ],
    ];
    // Each appears once it counts something: a run without that feature shows none of them.
    for (const [name, help, value] of counters) {
      if (value > 0) families.push({ type: "counter", name, help, samples: scalar(value) });
    }
    for (const name of Object.keys(HISTOGRAM_BUCKETS) as HistogramMetric[]) {
      families.push({
        type: "histogram",
        name: `llmload_${name}_seconds`,
        help: HISTOGRAM_HELP[name],
        samples: labels ? [this.#histogramSample(name, labels)] : [],
      });
    }
    families.push(
      {
        type: "gauge",
        name: "llmload_requests_in_flight",
        help: "Requests sent and not yet finished",
        samples: view ? scalar(view.inFlight) : [],
      },
      {
        type: "gauge",
        name: "llmload_users",
        help: "Concurrent users, or the in-flight cap in QPS mode",
        samples: view ? scalar(view.load.users) : [],
      },
      {
        type: "gauge",
        name: "llmload_target_qps",
        help: "Requests per second the QPS schedule aims at (QPS mode only)",
        samples: view?.load.qps !== undefined ? scalar(view.load.qps) : [],
      },
      {
        type: "gauge",
        name: "llmload_client_cpu_ratio",
        help: "CPU time of the llmload process over wall time, as a share of the cores it uses",
        samples: view ? scalar(view.client.cpu) : [],
      },
      {
        type: "gauge",
        name: "llmload_client_event_loop_lag_seconds",
        help: "Worst event-loop lag of the load shards over the last second",
        samples: view ? scalar(view.client.loopLagMs / 1000) : [],
      },
      {
        type: "gauge",
        name: "llmload_client_saturated",
        help: "1 when the client itself is saturated (its latencies then include client delay)",
        samples: view ? scalar(view.client.saturated ? 1 : 0) : [],
      },
      {
        type: "gauge",
        name: "llmload_run_state",
        help: "1 for the state the run is in (starting, running, stopping, done), else 0",
        samples: STATES.map((name) => ({
          labels: { ...labels, state: name },
          value: name === state ? 1 : 0,
        })),
      },
    );
    return families;
  }

  /** The text `/metrics` serves. */
  format(state: RunState): string {
    return formatPrometheus(this.families(state));
  }

  /** The SLO counters, by bound (`all` for every bound at once); none without `--slo`. */
  #sloFamilies(scalar: (value: number, extra?: Labels) => ScalarSample[]): MetricFamily[] {
    const slo = this.#slo;
    if (slo === undefined) return [];
    const bounds = Object.entries(slo.bounds).flatMap(([bound, met]) => scalar(met, { bound }));
    return [
      {
        type: "counter",
        name: "llmload_slo_judged_requests_total",
        help: "Requests judged against --slo (every success and failure)",
        samples: scalar(slo.judged),
      },
      {
        type: "counter",
        name: "llmload_slo_met_requests_total",
        help: 'Requests that met --slo, per bound ("all": every bound, the goodput requests)',
        samples: [...scalar(slo.met, { bound: "all" }), ...bounds],
      },
      {
        type: "counter",
        name: "llmload_goodput_output_tokens_total",
        help: "Output tokens of the requests that met every bound of --slo",
        samples: scalar(slo.metOutputTokens),
      },
    ];
  }

  #countRequests(outcome: string, status: string, count: number) {
    const key = `${outcome} ${status}`;
    const entry = this.#requests.get(key);
    if (entry) entry.count += count;
    else this.#requests.set(key, { outcome, status, count });
  }

  #histogramSample(name: HistogramMetric, labels: Labels): HistogramSample {
    const bounds = HISTOGRAM_BUCKETS[name];
    const state = this.#histograms.get(name);
    let cumulative = 0;
    const buckets = bounds.map((le, i) => {
      cumulative += state?.slots[i] ?? 0;
      return { le, count: cumulative };
    });
    return { labels, buckets, sum: state?.sum ?? 0, count: state?.count ?? 0 };
  }
}
