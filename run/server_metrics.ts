/**
 * Whether and where a run scrapes the server's metrics (`--server-metrics`): off, the URL
 * given, or (`auto`) the target's `/metrics` when a first scrape finds metrics there.
 *
 * @module
 */
import type { RunConfig } from "../options/types.ts";
import { parsePrometheusText } from "../server_metrics/prometheus_text.ts";
import {
  fetchMetrics,
  type ServerMetricsScraper,
  startScraper,
} from "../server_metrics/scraper.ts";

/** How long the first scrape of `auto` may take. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * Starts the scraper the config asks for, or returns `undefined` (off, or `auto` and the
 * target has no metrics: one log line says so). A URL given that does not answer is scraped
 * all the same, with one warning: the server may come up during the run.
 */
export async function startServerMetrics(
  config: Pick<RunConfig, "serverMetrics" | "host" | "caCerts">,
  io: { readonly log: (line: string) => void; readonly warn: (warning: string) => void },
): Promise<ServerMetricsScraper | undefined> {
  const source = config.serverMetrics ?? "auto";
  if (source === "off") return undefined;
  const client = config.caCerts
    ? Deno.createHttpClient({ caCerts: [...config.caCerts] })
    : undefined;
  if (source !== "auto") return startScraper(source, { warn: io.warn, client });
  const url = `${config.host}/metrics`;
  const fetched = await fetchMetrics(url, { timeoutMs: PROBE_TIMEOUT_MS, client });
  const problem = "problem" in fetched ? fetched.problem : metricsProblem(fetched.text);
  if (problem !== undefined) {
    client?.close();
    io.log(`Server metrics: none at ${url} (${problem}); --server-metrics URL names another place`);
    return undefined;
  }
  io.log(`Server metrics: scraping ${url} every second`);
  return startScraper(url, { warn: io.warn, client });
}

function metricsProblem(text: string): string | undefined {
  try {
    return parsePrometheusText(text).samples.length === 0 ? "no samples" : undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
