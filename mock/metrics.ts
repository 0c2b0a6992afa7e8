/**
 * The mock's `/metrics`: what it served, counted as an inference server counts it and published
 * in the names of the server it imitates (vLLM, SGLang, TGI, llama.cpp or Triton, through the
 * tables of `server_metrics/dialects.ts`). Counters and histograms take a request when it ends
 * successfully; gauges are read from the requests in flight at the scrape.
 *
 * Each time to first token splits into queue time (its first `queueMs`) and prefill (the rest);
 * decode runs from the first token to the last. The KV cache holds the prompt and the tokens sent
 * of each request in flight, out of {@link KV_CACHE_TOKENS}. `reset()` zeroes every counter and
 * histogram, as a server restart does.
 *
 * @module
 */
import { formatPrometheus, type MetricFamily } from "../output/prometheus.ts";
import {
  bucketsOf,
  type CounterTerm,
  type GaugeTerm,
  type HistogramTerm,
  SECONDS_PER,
  type ServerDialect,
} from "../server_metrics/dialects.ts";

/** Tokens the mock's "KV cache" holds: its usage gauge is the tokens in flight over this. */
export const KV_CACHE_TOKENS = 65536;

/** The part of a mock record the metrics read. */
export interface ServedRequest {
  readonly receivedAt: number;
  readonly status: number;
  readonly aborted: boolean;
  readonly promptTokens?: number;
  readonly cachedTokens?: number;
  readonly tokensSent: number;
  readonly firstTokenAt?: number;
  readonly lastTokenAt?: number;
  readonly doneAt?: number;
  /** With slots: how long it waited for one, set once it got one (`mock/slots.ts`). */
  readonly queuedMs?: number;
}

/** Observations of one histogram, on fixed bounds. */
interface Tally {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum: number;
  count: number;
}

/** The mock's server-side metrics. */
export interface MockMetrics {
  /** Notes a request as it arrives; it is counted once it ends. */
  arrived(request: ServedRequest): void;
  /** The exposition, at absolute ms `now`. */
  format(now: number): string;
  /** Zeroes counters and histograms, as a server restart does. */
  reset(): void;
}

/** Requests noted but not swept at most; past that a sweep runs before the next is noted. */
const SWEEP_AT = 1024;

/** Creates the metrics of a mock imitating `dialect`'s server, for `model`. */
export function createMockMetrics(
  dialect: ServerDialect,
  options: {
    readonly model: string;
    /** The artificial queue time of each request (`queueMs`), counted before its prefill. */
    readonly queueMs: number;
    /** Whether requests wait for a generation slot first (`slots`), as `queuedMs` says. */
    readonly slots?: boolean;
  },
): MockMetrics {
  const open = new Set<ServedRequest>();
  let counters = emptyCounters();
  let histograms = emptyHistograms(dialect);
  let tokens = emptyTokenTallies(dialect);
  let last = { at: 0, generated: 0 };

  /** Its time in the queue: waiting for a slot, then the artificial `queueMs`. */
  function queueOf(request: ServedRequest): number {
    const ttft = (request.firstTokenAt ?? request.receivedAt) - request.receivedAt;
    return Math.min((request.queuedMs ?? 0) + options.queueMs, ttft);
  }

  /** Whether it waits now: for a slot it has not got, or inside the artificial queue time. */
  function waitingAt(request: ServedRequest, now: number): boolean {
    if (options.slots && request.queuedMs === undefined) return true;
    return now - request.receivedAt - (request.queuedMs ?? 0) < options.queueMs;
  }

  function sweep(): void {
    for (const request of open) {
      if (request.doneAt === undefined && !request.aborted) continue;
      open.delete(request);
      counters.generated_tokens += request.tokensSent;
      if (request.status !== 200 || request.aborted || request.firstTokenAt === undefined) continue;
      const prompt = request.promptTokens ?? 0;
      counters.requests++;
      counters.prompt_tokens += prompt;
      if (request.cachedTokens !== undefined) {
        counters.prefix_cache_queries += prompt;
        counters.prefix_cache_hits += request.cachedTokens;
      }
      const ttft = (request.firstTokenAt - request.receivedAt) / 1000;
      const queue = queueOf(request) / 1000;
      const seconds: Record<HistogramTerm, number> = {
        ttft,
        queue,
        prefill: ttft - queue,
        decode: ((request.lastTokenAt ?? request.firstTokenAt) - request.firstTokenAt) / 1000,
      };
      for (const [term, tally] of Object.entries(histograms)) {
        observe(tally, seconds[term as HistogramTerm]);
      }
      if (tokens.prompt_tokens) observe(tokens.prompt_tokens, prompt);
      if (tokens.generated_tokens) observe(tokens.generated_tokens, request.tokensSent);
    }
  }

  function gauges(now: number): Record<GaugeTerm, number> {
    let running = 0;
    let waiting = 0;
    let held = 0;
    for (const request of open) {
      if (request.doneAt !== undefined || request.aborted) continue;
      if (waitingAt(request, now)) waiting++;
      else running++;
      held += (request.promptTokens ?? 0) + request.tokensSent;
    }
    const seconds = (now - last.at) / 1000;
    const rate = last.at > 0 && seconds > 0
      ? (counters.generated_tokens - last.generated) / seconds
      : 0;
    last = { at: now, generated: counters.generated_tokens };
    return {
      running,
      waiting,
      kv_cache_usage: held / KV_CACHE_TOKENS,
      prefix_cache_hit_rate: counters.prefix_cache_queries > 0
        ? counters.prefix_cache_hits / counters.prefix_cache_queries
        : 0,
      generated_tokens_per_s: Math.max(0, rate),
      spec_decode_acceptance: 0,
    };
  }

  function format(now: number): string {
    sweep();
    const labels = Object.fromEntries(
      Object.entries(dialect.labels).map((
        [name, value],
      ) => [name, value.replace("{model}", options.model)]),
    );
    const families = new Map<string, MetricFamily>();
    const add = (family: MetricFamily) =>
      families.has(family.name) || families.set(family.name, family);
    const instant = gauges(now);
    for (const [term, source] of Object.entries(dialect.gauges)) {
      const value = instant[term as GaugeTerm];
      add({
        type: "gauge",
        name: source.gauge,
        help: `Mock ${term}`,
        samples: [{ labels, value }],
      });
    }
    for (const [term, source] of Object.entries(dialect.counters)) {
      const value = counters[term as CounterTerm];
      if ("counter" in source) {
        add({
          type: "counter",
          name: source.counter,
          help: `Mock ${term}`,
          samples: [{ labels, value }],
        });
      } else {
        const tally = tokens[term as "prompt_tokens" | "generated_tokens"]!;
        add(histogramFamily(source.histogramSum, { labels, tally, scale: 1 }));
      }
    }
    for (const [term, source] of Object.entries(dialect.histograms)) {
      const tally = histograms[term as HistogramTerm]!;
      const scale = 1 / SECONDS_PER[source.unit];
      if ("histogram" in source) {
        const all = { ...labels, ...source.labels };
        add(histogramFamily(source.histogram, { labels: all, tally, scale }));
      } else {
        const value = tally.sum * scale;
        add({
          type: "counter",
          name: source.sum,
          help: `Mock ${term} total`,
          samples: [{ labels, value }],
        });
        add({
          type: "counter",
          name: source.count,
          help: "Mock requests",
          samples: [{ labels, value: tally.count }],
        });
      }
    }
    return formatPrometheus([...families.values()]);
  }

  return {
    arrived(request) {
      if (open.size >= SWEEP_AT) sweep();
      open.add(request);
    },
    format,
    reset() {
      sweep();
      counters = emptyCounters();
      histograms = emptyHistograms(dialect);
      tokens = emptyTokenTallies(dialect);
      last = { at: 0, generated: 0 };
    },
  };
}

function emptyCounters(): Record<CounterTerm, number> {
  return {
    requests: 0,
    prompt_tokens: 0,
    generated_tokens: 0,
    preemptions: 0,
    prefix_cache_queries: 0,
    prefix_cache_hits: 0,
    spec_decode_draft_tokens: 0,
    spec_decode_accepted_tokens: 0,
  };
}

function emptyHistograms(dialect: ServerDialect): Partial<Record<HistogramTerm, Tally>> {
  const tallies: Partial<Record<HistogramTerm, Tally>> = {};
  for (const [term, source] of Object.entries(dialect.histograms)) {
    const scale = SECONDS_PER[source.unit];
    tallies[term as HistogramTerm] = tally(bucketsOf(source).map((bound) => bound * scale));
  }
  return tallies;
}

function emptyTokenTallies(
  dialect: ServerDialect,
): Partial<Record<"prompt_tokens" | "generated_tokens", Tally>> {
  const tallies: Partial<Record<"prompt_tokens" | "generated_tokens", Tally>> = {};
  for (const term of ["prompt_tokens", "generated_tokens"] as const) {
    const source = dialect.counters[term];
    if (source !== undefined && "histogramSum" in source) tallies[term] = tally(source.buckets);
  }
  return tallies;
}

function tally(bounds: readonly number[]): Tally {
  return { bounds, counts: bounds.map(() => 0), sum: 0, count: 0 };
}

function observe(tally: Tally, value: number): void {
  tally.sum += value;
  tally.count++;
  // Bounds in seconds are compared with a little slack: a bound of 0.05 s may be 0.05000000001.
  const at = tally.bounds.findIndex((bound) => value <= bound * (1 + 1e-9));
  if (at >= 0) tally.counts[at]++;
}

function histogramFamily(
  name: string,
  parts: { labels: Record<string, string>; tally: Tally; scale: number },
): MetricFamily {
  const { tally, scale } = parts;
  let cumulative = 0;
  const buckets = tally.bounds.map((bound, i) => {
    cumulative += tally.counts[i];
    return { le: Math.round(bound * scale * 1e6) / 1e6, count: cumulative };
  });
  return {
    type: "histogram",
    name,
    help: `Mock ${name}`,
    samples: [{ labels: parts.labels, buckets, sum: tally.sum * scale, count: tally.count }],
  };
}
