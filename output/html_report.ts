/**
 * The dashboard's data and page: what `/api/results` and `/api/timeseries` serve, the page's
 * files (`output/dashboard/`), and `--html`, which inlines the same page, its script and the
 * run's data into one file that opens offline.
 *
 * The page files are read through `new URL("./dashboard/...", import.meta.url)` so that
 * `deno compile --include output/dashboard` embeds them in the binary.
 *
 * @example
 * ```ts
 * const page = renderHtmlReport(await readDashboardAssets(), {
 *   results: dashboardResults(results, { state: "done" }),
 *   timeseries: dashboardTimeseries(series, { state: "done", startedAt }),
 * });
 * ```
 *
 * @module
 */
import chartScript from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import chartStyle from "uplot/dist/uPlot.min.css" with { type: "text" };
import { scrubSecrets } from "../common/secrets.ts";
import { type LatencyDistributions, latencyDistributions } from "./distributions.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import type { CurrentLoad, RunState } from "../run/types.ts";
import type { ClientLoad } from "../run/client_monitor.ts";
import type { Results } from "./results.ts";
import type { TimePoint, TimeSeries } from "./timeseries.ts";

/** The dashboard page's files: its own three and the chart library's two. */
export interface DashboardAssets {
  /** `index.html`. */
  readonly html: string;
  /** `app.js`: fetches or reads the data and draws the charts and tables. */
  readonly script: string;
  /** `style.css`. */
  readonly style: string;
  /** `uplot.js`: the uPlot chart library (npm `uplot`, MIT), which `app.js` draws with. */
  readonly chartScript: string;
  /** `uplot.css`: uPlot's own style. */
  readonly chartStyle: string;
}

/** What a run looks like right now, beyond the results. */
export interface LiveFacts {
  /** When these facts were true, ISO 8601. */
  updatedAt: string;
  /** Milliseconds since load started. */
  elapsedMs: number;
  /** Requests in flight. */
  inFlight: number;
  /** Users, or the in-flight cap in QPS mode. */
  users: number;
  /** QPS target; `null` outside QPS mode. */
  targetQps: number | null;
  /** The client's own load over the last second. */
  client: ClientLoad;
}

/** `/api/results`: the `--json` results plus where the run is and its latency curves. */
export type DashboardResults = Results & {
  /** `starting`, `running`, `stopping` or `done`. */
  state: RunState;
  /** Facts of the moment; absent before the first live view. */
  live?: LiveFacts;
  /** TTFT, ITL and E2E by percentile, read from `histograms` (output/distributions.ts). */
  distributions: LatencyDistributions;
};

/** `/api/timeseries`: the run's points, oldest first. */
export interface DashboardTimeseries {
  /** Layout version, `1`. */
  schemaVersion: 1;
  /** `starting`, `running`, `stopping` or `done`. */
  state: RunState;
  /** When load started, epoch milliseconds; `null` before it has. */
  startedAt: number | null;
  /** Longest span of a folded older point, in ms; newer points span about a second. */
  olderSpanMs: number;
  /** The points. */
  points: TimePoint[];
}

/** What `--html` inlines into the page. */
export interface ReportData {
  /** The final results. */
  readonly results: DashboardResults;
  /** The run's points. */
  readonly timeseries: DashboardTimeseries;
}

/**
 * Reads the dashboard's files (embedded in a compiled binary); the chart library comes in through
 * the module graph (a text import), so it is embedded wherever the code is.
 */
export async function readDashboardAssets(): Promise<DashboardAssets> {
  const [html, script, style] = await Promise.all([
    Deno.readTextFile(new URL("./dashboard/index.html", import.meta.url)),
    Deno.readTextFile(new URL("./dashboard/app.js", import.meta.url)),
    Deno.readTextFile(new URL("./dashboard/style.css", import.meta.url)),
  ]);
  return { html, script, style, chartScript, chartStyle };
}

/** What {@link dashboardResults} adds to the results. */
export interface DashboardResultsOptions {
  /** Where the run is. */
  readonly state: RunState;
  /** Facts of the moment, from the latest live view. */
  readonly live?: LiveFacts;
  /** Strings to scrub from every text value: the run's `secretsOf` (common/secrets.ts). */
  readonly secrets?: readonly string[];
}

/** The results with the run state in front and live facts added, secrets scrubbed. */
export function dashboardResults(
  results: Results,
  options: DashboardResultsOptions,
): DashboardResults {
  const { schemaVersion, ...rest } = results;
  const live = options.live ? { live: options.live } : {};
  const distributions = latencyDistributions(results);
  return scrubSecrets(
    { schemaVersion, state: options.state, ...live, ...rest, distributions },
    options.secrets ?? [],
    // Failure messages and warnings quote servers, which may quote the key; histograms are data.
    { keep: ["histograms"] },
  );
}

/** Live facts from what a view knows. */
export function liveFacts(
  view: {
    readonly now: number;
    readonly startedAt: number;
    readonly inFlight: number;
    readonly load: CurrentLoad;
    readonly client: ClientLoad;
  },
): LiveFacts {
  return {
    updatedAt: new Date(view.now).toISOString(),
    elapsedMs: Math.max(0, view.now - view.startedAt),
    inFlight: view.inFlight,
    users: view.load.users,
    targetQps: view.load.qps ?? null,
    client: view.client,
  };
}

/** The series as `/api/timeseries` serves it. */
export function dashboardTimeseries(
  series: TimeSeries,
  options: { readonly state: RunState; readonly startedAt?: number },
): DashboardTimeseries {
  return {
    schemaVersion: 1,
    state: options.state,
    startedAt: options.startedAt ?? null,
    olderSpanMs: series.olderSpanMs,
    points: series.points(),
  };
}

const STYLE_TAG = '<link rel="stylesheet" href="assets/style.css">';
const SCRIPT_TAG = '<script src="assets/app.js"></script>';
const CHART_STYLE_TAG = '<link rel="stylesheet" href="assets/uplot.css">';
const CHART_SCRIPT_TAG = '<script src="assets/uplot.js"></script>';

/**
 * The dashboard page as one self-contained document: style, script and data inline, nothing
 * fetched, so it opens offline and can be mailed around.
 */
export function renderHtmlReport(assets: DashboardAssets, data: ReportData): string {
  const tags = [STYLE_TAG, SCRIPT_TAG, CHART_STYLE_TAG, CHART_SCRIPT_TAG];
  if (tags.some((tag) => !assets.html.includes(tag))) {
    throw new Error("Cannot build the HTML report: index.html lacks a style or script tag");
  }
  const scripts = [assets.script, assets.chartScript];
  const styles = [assets.style, assets.chartStyle];
  if (
    scripts.some((text) => /<\/script/i.test(text)) || styles.some((text) => /<\/style/i.test(text))
  ) {
    throw new Error("Cannot build the HTML report: a script or style closes its own tag");
  }
  // `<` escaped: no text in the data can close the script element early or open a comment.
  const json = JSON.stringify(data).replaceAll("<", "\\u003c");
  const title = `llmload report: ${data.results.model} (${data.results.provider})`;
  return assets.html
    .replace(/<title>[^<]*<\/title>/, () => `<title>${escapeHtml(title)}</title>`)
    .replace(CHART_STYLE_TAG, () => `<style>\n${assets.chartStyle}</style>`)
    .replace(CHART_SCRIPT_TAG, () => `<script>\n${assets.chartScript}</script>`)
    .replace(STYLE_TAG, () => `<style>\n${assets.style}</style>`)
    .replace(
      SCRIPT_TAG,
      () =>
        `<script type="application/json" id="llmload-data">${json}</script>\n` +
        `<script>\n${assets.script}</script>`,
    );
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/**
 * Writes the report. The text goes to a temporary file next to `path` that is then renamed over
 * it, so a failed write never leaves half a report; a path that is not a regular file (a pipe,
 * `/dev/stdout`) is written in place, since renaming over it would replace the device.
 */
export async function writeHtmlReport(path: string, page: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(page), "the HTML report");
}
