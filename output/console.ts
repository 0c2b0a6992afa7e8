/**
 * The console's two outputs: the metric table (with the server's TTFT breakdown, the cut-off
 * line and the warnings after it)
 * first, and the seed's summary block, printed last so that it stays the final lines a script
 * reads. Both print through the functions they are given; the text comes from `report.ts`.
 *
 * @module
 */
import type { RunOutcome } from "../run/types.ts";
import { counted } from "./progress.ts";
import { formatMetricTable, formatSummaryBlock } from "./report.ts";
import type { Output } from "./types.ts";
import { describeBreakdown } from "../server_metrics/summary.ts";

/** Where the console outputs print: results on one stream, notes on the other. */
export interface ConsolePrinter {
  /** Results: the table and the summary block. */
  readonly out: (text: string) => void;
  /** Notes: the cut-off line and the warnings. */
  readonly log: (line: string) => void;
}

/** Prints the metric table, then the cut-off line and each warning. */
export function metricTableOutput(printer: ConsolePrinter): Output {
  return {
    name: "metric table",
    finish({ results, outcome }) {
      printer.out(formatMetricTable(results));
      const server = results.serverMetrics;
      if (server?.breakdown) printer.out(describeBreakdown(server.breakdown));
      if (server && server.resets.length > 0) {
        printer.log(
          `Server metrics: counters went down ${counted(server.resets.length, "time")} ` +
            "(a restart?); the increase restarted from zero each time",
        );
      }
      const cutOff = cutOffLine(outcome);
      if (cutOff) printer.log(cutOff);
      for (const warning of outcome.warnings) printer.log(`Warning: ${warning}`);
    },
  };
}

/** Prints the seed's summary block; list it last. */
export function summaryBlockOutput(printer: ConsolePrinter): Output {
  return {
    name: "summary block",
    finish({ results, info }) {
      printer.out(formatSummaryBlock(results, info));
    },
  };
}

/**
 * The line about requests the stop cut off, e.g. "3 requests still in flight were cut off at the
 * stop after waiting 2.1–5.0 s (not counted)"; undefined when there were none.
 */
export function cutOffLine(
  outcome: Pick<RunOutcome, "cancelled" | "cutOffWaitMs">,
): string | undefined {
  if (outcome.cancelled === 0) return undefined;
  const wait = outcome.cutOffWaitMs;
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const waited = wait === undefined
    ? ""
    : wait.max - wait.min < 50
    ? ` after waiting ${seconds(wait.max)} s`
    : ` after waiting ${seconds(wait.min)}–${seconds(wait.max)} s`;
  const one = outcome.cancelled === 1;
  return `${counted(outcome.cancelled, "request")} still in flight ${
    one ? "was" : "were"
  } cut off at the stop${waited} (not counted)`;
}
