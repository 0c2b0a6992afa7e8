/**
 * The contract every output of a run implements: it may watch the live views while the run goes,
 * and it is told once, at the end, what the run measured. The console table, the summary CSV,
 * the results JSON, the HTML report, the time series and the results server each implement it in
 * their own file; `cli/run.ts` lists the ones the config asks for and `output/fanout.ts` calls
 * them in that order, each failure isolated from the others.
 *
 * @example
 * ```ts
 * const lineCount: Output = {
 *   name: "line count",
 *   finish: ({ results }) => console.log(`${results.requests.total} requests`),
 * };
 * ```
 *
 * @module
 */
import type { LiveView, RunOutcome } from "../run/types.ts";
import type { SummaryInfo } from "./report.ts";
import type { Results } from "./results.ts";

/** What a run ended with, as every output receives it once. */
export interface FinishedRun {
  /** The results, exactly as the results JSON holds them (config redacted). */
  readonly results: Results;
  /** What the coordinator measured, before formatting. */
  readonly outcome: RunOutcome;
  /** The figures the seed's summary block and the summary CSV show beside the results. */
  readonly info: SummaryInfo;
}

/** One output of a run. */
export interface Output {
  /** What it is, for the error line when it fails, e.g. `results JSON`. */
  readonly name: string;
  /** Takes one live view (about once a second and at each change of state); must not block. */
  observe?(view: LiveView): void;
  /**
   * Takes the end of the run, once. A failure (a file that cannot be written) is thrown: the
   * fan-out reports it and the other outputs still run.
   */
  finish?(run: FinishedRun): void | Promise<void>;
}
