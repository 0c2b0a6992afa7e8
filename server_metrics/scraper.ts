/**
 * Scrapes a server's Prometheus `/metrics` once a second during a run, on the coordinator's
 * thread (the shards that send requests never see it), and keeps in bounded memory what the
 * results need: one point per scrape in the common vocabulary, and the increase of counters
 * and histograms over the measured window. A scrape that fails or returns something other
 * than the text format is counted and warned of once; the run goes on.
 *
 * @module
 */
import { parsePrometheusText } from "./prometheus_text.ts";
import { detectDialect, type ServerDialect } from "./dialects.ts";
import {
  addIncreases,
  NO_INCREASE,
  pointOf,
  type Reading,
  readScrape,
  type ServerPoint,
  type WindowIncrease,
  windowIncrease,
} from "./readings.ts";

/** What a run's scrapes found. */
export interface ServerMetricsReport {
  /** The scraped URL. */
  readonly url: string;
  /** The server's dialect as its series named it, or `null` for a server llmload does not know. */
  readonly dialect: string | null;
  /** Scrapes that answered with metrics. */
  readonly scrapes: number;
  /** Scrapes that failed (no answer, an error status, not the text format). */
  readonly failedScrapes: number;
  /** One point per scrape (every other one dropped each time they fill {@link MAX_POINTS}). */
  readonly points: readonly ServerPoint[];
  /** The increase over the measured window. */
  readonly window: WindowIncrease;
  /** For an unknown server: the listed series it has, per scrape, raw. */
  readonly raw?: readonly {
    readonly t: number;
    readonly values: Readonly<Record<string, number>>;
  }[];
}

/** A running scraper. */
export interface ServerMetricsScraper {
  /** The measured window begins now (after warm-up): the increase counts from the next scrape. */
  restartWindow(): void;
  /** What the scrapes found so far, for the live results. */
  snapshot(): ServerMetricsReport;
  /** Scrapes a last time, stops, and reports. */
  stop(): Promise<ServerMetricsReport>;
}

/** Points kept at most; past that every other one is dropped, halving the resolution. */
export const MAX_POINTS = 3600;

/** Settings of {@link startScraper}. */
export interface ScraperOptions {
  /** Time between scrapes, ms. Default 1000. */
  readonly everyMs?: number;
  /** Prints one warning line. */
  readonly warn: (line: string) => void;
  /** Fetches with this client (a private CA), if given; `stop()` closes it. */
  readonly client?: Deno.HttpClient;
}

/** Outcome of one scrape: the text, or why there is none. */
type Fetched = { readonly text: string } | { readonly problem: string };

/**
 * Fetches `url` once: its text, or the problem in a few words. Bounded by `timeoutMs`.
 *
 * @example
 * ```ts
 * const fetched = await fetchMetrics("http://localhost:8000/metrics", { timeoutMs: 900 });
 * ```
 */
export async function fetchMetrics(
  url: string,
  options: { readonly timeoutMs: number; readonly client?: Deno.HttpClient },
): Promise<Fetched> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.client ? { client: options.client } : {}),
    });
    const text = await response.text();
    if (!response.ok) return { problem: `HTTP ${response.status}` };
    return { text };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Starts scraping `url` now: a first scrape at once (the window's baseline), then every second. */
export function startScraper(url: string, options: ScraperOptions): ServerMetricsScraper {
  const everyMs = options.everyMs ?? 1000;
  let dialect: ServerDialect | undefined;
  let known = false;
  let previous: Reading | undefined;
  let increase = NO_INCREASE;
  let restart = false;
  let scrapes = 0;
  let failedScrapes = 0;
  let warned = false;
  let points: ServerPoint[] = [];
  let raw: { t: number; values: Record<string, number> }[] = [];
  let pending: Promise<void> = Promise.resolve();

  async function scrape(): Promise<void> {
    const fetched = await fetchMetrics(url, { timeoutMs: everyMs * 0.9, client: options.client });
    const at = Date.now();
    let reading: Reading;
    try {
      if ("problem" in fetched) throw new Error(fetched.problem);
      const exposition = parsePrometheusText(fetched.text);
      if (!known) {
        dialect = detectDialect(exposition.samples.map((sample) => sample.name));
        known = true;
      }
      reading = readScrape(exposition, at, dialect);
    } catch (error) {
      failedScrapes++;
      if (!warned) {
        warned = true;
        options.warn(
          `Cannot read the server's metrics at ${url}: ${(error as Error).message}; ` +
            "the run goes on without them where scrapes fail",
        );
      }
      return;
    }
    scrapes++;
    if (previous !== undefined && !restart) {
      increase = addIncreases(increase, windowIncrease([previous, reading]));
    }
    if (restart) {
      increase = NO_INCREASE;
      restart = false;
    }
    points.push(pointOf(previous, reading));
    if (reading.raw !== undefined) raw.push({ t: at, values: reading.raw });
    if (points.length > MAX_POINTS) points = points.filter((_, i) => i % 2 === 1);
    if (raw.length > MAX_POINTS) raw = raw.filter((_, i) => i % 2 === 1);
    previous = reading;
  }

  /** One scrape at a time: a slow server delays the next instead of piling requests up. */
  function next(): Promise<void> {
    pending = pending.then(scrape);
    return pending;
  }

  function report(): ServerMetricsReport {
    return {
      url,
      dialect: dialect?.name ?? null,
      scrapes,
      failedScrapes,
      points,
      window: increase,
      ...(known && dialect === undefined ? { raw } : {}),
    };
  }

  next();
  const timer = setInterval(next, everyMs);
  return {
    snapshot: report,
    restartWindow() {
      restart = true;
      next();
    },
    async stop() {
      clearInterval(timer);
      await next();
      options.client?.close();
      return report();
    },
  };
}
