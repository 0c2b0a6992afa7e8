/**
 * The run history as an output: at the end of the run, one write of the results, the summary
 * figures, the time series and the tags into the SQLite history (`history/store.ts`), secrets
 * scrubbed. Nothing happens while the run goes. A history that cannot be written never fails
 * the run: it is one warning line.
 *
 * @module
 */
import { scrubSecrets } from "../common/secrets.ts";
import { openHistory } from "../history/store.ts";
import { dashboardTimeseries } from "./html_report.ts";
import type { TimeSeries } from "./timeseries.ts";
import type { Output } from "./types.ts";

/** What {@link historyOutput} needs beyond the path. */
export interface HistoryOutputOptions {
  /** The run's points; another output (the series or the server) fills it. */
  readonly series: TimeSeries;
  /** `--tag` labels. */
  readonly tags: Readonly<Record<string, string>>;
  /** Strings scrubbed from everything stored (see `secretsOf`). */
  readonly secrets: readonly string[];
  /** Where "Run stored in the history as ..." and the warning go. */
  readonly log: (line: string) => void;
}

/** Stores the finished run in the history at `path` and says under which id. */
export function historyOutput(path: string, options: HistoryOutputOptions): Output {
  return {
    name: "run history",
    finish({ results, outcome, info }) {
      const record = scrubSecrets(
        {
          results,
          info,
          timeseries: dashboardTimeseries(options.series, {
            state: "done",
            startedAt: outcome.startedAt,
          }),
          tags: options.tags,
        },
        options.secrets,
        { keep: ["histograms"] },
      );
      let id: string;
      try {
        const history = openHistory(path, { write: true });
        try {
          id = history.add(record);
        } finally {
          history.close();
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        options.log(`Warning: run not stored in the history: ${reason}`);
        return;
      }
      options.log(
        `Run stored in the history as ${id.slice(0, 7)} (llmload show ${id.slice(0, 7)})`,
      );
    },
  };
}
