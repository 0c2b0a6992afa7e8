/**
 * `llmload report`: one self-contained page that overlays several stored runs, their latency
 * distributions (from the HDR histograms, so the tails are exact) and their time series, drawn
 * by uPlot in the shell of output/chart_page.ts. The page's script is imported as text, so the
 * compiled binary carries it and the page opens offline.
 *
 * @module
 */
import pageScript from "./runs_report/app.js" with { type: "text" };
import { scrubSecrets } from "../common/secrets.ts";
import { chartPage } from "./chart_page.ts";
import { METRIC_UNITS } from "../stats/metrics.ts";
import {
  DISTRIBUTION_METRICS,
  DISTRIBUTION_PERCENTILES,
  latencyDistributions,
} from "./distributions.ts";
import { type DashboardTimeseries, escapeHtml } from "./html_report.ts";
import type { Results } from "./results.ts";

/** One run of the page: its id, results, time series and tags. */
export interface ReportedRun {
  /** The id it is shown by. */
  readonly id: string;
  /** Its results (histograms included). */
  readonly results: Results;
  /** Its points. */
  readonly timeseries: DashboardTimeseries;
  /** Its `--tag` labels. */
  readonly tags: Readonly<Record<string, string>>;
}

/** The time-series fields drawn, with their titles. */
const SERIES_FIELDS = [
  ["requestsPerSec", "requests/s"],
  ["outputTokensPerSec", "output tokens/s"],
  ["ttftP50", "TTFT p50 (ms)"],
  ["itlP50", "ITL p50 (ms)"],
  ["latencyP50", "total latency p50 (ms)"],
  ["inFlight", "requests in flight"],
] as const;

/** The page's data: what the script draws. */
export function runsReportData(runs: readonly ReportedRun[]) {
  const metrics = DISTRIBUTION_METRICS.filter((name) =>
    runs.some((run) => run.results.histograms[name])
  ).map((name) => ({ name, unit: METRIC_UNITS[name] }));
  return {
    percentiles: DISTRIBUTION_PERCENTILES,
    metrics,
    seriesFields: SERIES_FIELDS,
    runs: runs.map((run) => {
      const tags = Object.entries(run.tags).map(([key, value]) => `${key}=${value}`).join(" ");
      const start = run.timeseries.startedAt ?? run.timeseries.points[0]?.t ?? 0;
      return {
        id: run.id,
        label: `${run.id} ${run.results.model}${tags ? ` ${tags}` : ""}`,
        distributions: latencyDistributions(run.results).metrics,
        series: run.timeseries.points.map((point) => ({
          ...point,
          s: Math.round((point.t + point.durationMs - start) / 100) / 10,
        })),
      };
    }),
  };
}

/**
 * The page: uPlot and the script inline, the data as JSON with `<` escaped so no text can end
 * its script element, every secret of the runs' configs already absent (they are stored
 * redacted) and the failure messages scrubbed of `secrets`.
 */
export function renderRunsReport(
  runs: readonly ReportedRun[],
  options: { readonly secrets?: readonly string[] } = {},
): string {
  const data = scrubSecrets(runsReportData(runs), options.secrets ?? []);
  const title = `llmload report: ${runs.map((run) => run.id).join(", ")}`;
  const rows = runs.map((run) =>
    `<tr><td>${escapeHtml(run.id)}</td><td>${escapeHtml(run.results.model)}</td><td>${
      escapeHtml(run.results.provider)
    }</td><td>${
      escapeHtml(run.results.startedAt)
    }</td><td>${run.results.requests.ok} / ${run.results.requests.failed}</td></tr>`
  );
  return chartPage({
    title,
    body: "<table><tr><th>id</th><th>model</th><th>provider</th><th>started</th>" +
      `<th>requests ok / failed</th></tr>\n${rows.join("\n")}\n</table>`,
    dataId: "llmload-runs",
    data,
    script: pageScript,
    style: "table { border-collapse: collapse; margin-bottom: 24px; }\n" +
      "td, th { padding: 2px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; }",
  });
}
