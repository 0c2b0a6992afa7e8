/**
 * `--html`: the dashboard as one self-contained page with the final results and the run's
 * points inline, written once at the end of the run.
 *
 * @module
 */
import {
  dashboardResults,
  dashboardTimeseries,
  readDashboardAssets,
  renderHtmlReport,
  writeHtmlReport,
} from "./html_report.ts";
import type { TimeSeries } from "./timeseries.ts";
import type { Output } from "./types.ts";

/** What {@link htmlReportOutput} needs beyond the path. */
export interface HtmlReportOptions {
  /** The run's points; another output (the series or the server) fills it. */
  readonly series: TimeSeries;
  /** Strings scrubbed from every text of the page (see `secretsOf`). */
  readonly secrets: readonly string[];
  /** Where "HTML report written to ..." goes. */
  readonly log: (line: string) => void;
}

/** Writes the HTML report to `path` at the end of the run. */
export function htmlReportOutput(path: string, options: HtmlReportOptions): Output {
  return {
    name: "HTML report",
    async finish({ results, outcome }) {
      const page = renderHtmlReport(await readDashboardAssets(), {
        results: dashboardResults(results, { state: "done", secrets: options.secrets }),
        timeseries: dashboardTimeseries(options.series, {
          state: "done",
          startedAt: outcome.startedAt,
        }),
      });
      await writeHtmlReport(path, page);
      options.log(`HTML report written to ${path}`);
    },
  };
}
