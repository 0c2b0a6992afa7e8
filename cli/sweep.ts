/**
 * `llmload sweep`: the same load test at a list of loads (`--users 1,2,4,8`, `--qps 1:64:x2`),
 * one point after the other in this process, each a whole run with its warm-up (`--warmup`)
 * and a fixed `--point-duration` (or `--requests-per-point`). Consecutive runs rather than
 * stages of one run: each point starts with an empty queue on the server and ends with its
 * requests in flight counted, so points never borrow load from each other, and each point's
 * results are a run's results. `--summary-file` gets one CSV row per point (the run's row);
 * `--json` one file with every point. Ctrl+C stops the point running and writes every finished
 * point.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { kneeIndex } from "../stats/knee.ts";
import { RESULTS_SCHEMA_VERSION } from "../output/results.ts";
import { writeFileAtomic } from "../output/atomic_write.ts";
import { formatSweepTable, type SweepPoint } from "../output/sweep_table.ts";
import { sweepList } from "../options/sweep_parsers.ts";
import { duration, wholeNumber } from "../options/parsers.ts";
import type { FlagValues, RawSetting } from "../options/settings.ts";
import { validated } from "../options/settings.ts";
import type { OptionSpec } from "../options/spec.ts";
import type { RunConfig } from "../options/types.ts";
import { EXIT_FAILED, EXIT_OK } from "./exit_codes.ts";
import type { CommandOutput } from "./command_output.ts";
import { runCommand, type RunHooks } from "./run.ts";

/** The options `llmload sweep` has beyond the run's (whose `--users` and `--qps` it replaces). */
export const SWEEP_OPTIONS: readonly OptionSpec[] = [
  {
    name: "users",
    value: "list",
    help: "closed-loop users at each point: a strictly increasing list such as 1,2,4,8, or a " +
      "range FROM:TO:xFACTOR (1:64:x2) or FROM:TO:+STEP (1:10:+1); not with --qps",
    unset: "none",
  },
  {
    name: "qps",
    value: "list",
    help: "requests per second at each point, as --users lists them (2,4,8 or 1:64:x2); not " +
      "with --users",
    unset: "none",
  },
  {
    name: "in-flight",
    value: "n",
    help: "with --qps, the cap on requests in flight at every point (-u of a QPS run): a whole " +
      "number >= 1",
    default: "256",
  },
  {
    name: "point-duration",
    value: "duration",
    help: "how long each point measures, after its --warmup, e.g. 30s",
    default: "30s",
  },
  {
    name: "requests-per-point",
    value: "n",
    help: "end each point after this many requests instead of after --point-duration: a whole " +
      "number >= 1",
    unset: "--point-duration",
  },
];

/** Run options the sweep sets per point itself, so its command line does not take them. */
export const SWEEP_REPLACED_OPTIONS: readonly string[] = [
  "users",
  "qps",
  "run-time",
  "max-requests",
  "stages",
];

/** A sweep, checked: the load at each point and the run of each point. */
export interface SweepCommand {
  /** What the points vary. */
  readonly unit: "users" | "qps";
  /** The points' runs, in order of load; outputs written once per sweep are taken out. */
  readonly points: readonly { readonly load: number; readonly config: RunConfig }[];
  /** `--json`: the sweep's results file. */
  readonly jsonFile?: string;
}

/**
 * Checks a sweep's flags and resolves the run of each point with `resolve` (the run's own
 * option machinery, so every run option is validated as a run validates it).
 *
 * @throws {UsageError} when the list is missing, given twice or does not parse
 */
export function sweepCommand(
  flags: FlagValues,
  resolve: (flags: FlagValues) => RunConfig,
): SweepCommand {
  // Sweep options come as flags only; a missing one takes its default from SWEEP_OPTIONS.
  const setting = (name: string): RawSetting => ({
    value: (flags[name] as string | undefined) ??
      SWEEP_OPTIONS.find((spec) => spec.name === name)!.default ?? "",
    label: `--${name}`,
  });
  if (flags.users !== undefined && flags.qps !== undefined) {
    throw new UsageError(
      "Cannot use --users together with --qps in a sweep: the points vary one of them; choose one",
    );
  }
  if (flags.users === undefined && flags.qps === undefined) {
    throw new UsageError(
      "Cannot sweep without points: give --users 1,2,4,8 (closed-loop users) or --qps 1:64:x2 " +
        "(requests per second)",
    );
  }
  const unit = flags.users !== undefined ? "users" : "qps";
  const loads = validated(setting(unit), (value) => sweepList(value, { whole: unit === "users" }));
  const pointMs = validated(setting("point-duration"), duration({ allowZero: false }));
  const perPoint = flags["requests-per-point"] === undefined
    ? undefined
    : validated(setting("requests-per-point"), wholeNumber(1));
  const inFlight = validated(setting("in-flight"), wholeNumber(1));
  const runFlags: FlagValues = Object.fromEntries(
    Object.entries(flags).filter(([name]) =>
      !SWEEP_OPTIONS.some((spec) => spec.name === name) && !SWEEP_REPLACED_OPTIONS.includes(name)
    ),
  );
  const points = loads.map((load) => {
    const config = resolve({
      ...runFlags,
      ...(unit === "users"
        ? { users: String(load) }
        : { qps: String(load), users: String(inFlight) }),
      ...(perPoint === undefined
        ? { "run-time": `${pointMs}ms` }
        : { "max-requests": String(perPoint) }),
    });
    // One results file, report and history entry per sweep, not per point.
    const { jsonFile: _json, htmlFile: _html, history: _history, ...pointConfig } = config;
    return { load, config: Object.freeze(pointConfig) as RunConfig };
  });
  const jsonFile = typeof flags.json === "string" ? flags.json : undefined;
  return { unit, points, ...(jsonFile === undefined ? {} : { jsonFile }) };
}

/** The sweep's results file: every finished point's results, and the knee. */
export interface SweepResults {
  /** The results schema version every point's results follow. */
  readonly version: number;
  /** Always `"sweep"`: what tells a sweep's file from a run's. */
  readonly kind: "sweep";
  /** What the points vary: `users` or `qps`. */
  readonly unit: "users" | "qps";
  /** Whether Ctrl+C stopped the sweep before its last point. */
  readonly stopped: boolean;
  /** The load of the knee point (see stats/knee.ts), or `null` when none was found. */
  readonly knee: number | null;
  /** Every finished point, in order of load. */
  readonly points: readonly SweepPoint[];
}

/**
 * Runs every point of `command` in turn, prints the table of points and the knee, and writes
 * `--json`. Exit code 1 when a point had no successful request, else 0.
 */
export async function runSweepCommand(
  command: SweepCommand,
  output: CommandOutput,
  hooks: RunHooks = {},
): Promise<number> {
  const points: SweepPoint[] = [];
  const quiet: CommandOutput = { out: () => {}, log: output.log, status: output.status };
  let stopped = false;
  for (const [index, point] of command.points.entries()) {
    if (hooks.stopSignal?.aborted) {
      stopped = true;
      break;
    }
    output.log(`Point ${index + 1}/${command.points.length}: ${point.load} ${command.unit}`);
    const { results } = await runCommand(point.config, quiet, hooks);
    if (hooks.stopSignal?.aborted) {
      // The point stopped part-way measured less than its duration: it is not a finished point.
      stopped = true;
      break;
    }
    points.push({ load: point.load, results });
  }
  const knee = kneeIndex(points.map(({ results }) => ({
    throughput: results.throughput.outputTokensPerSec,
    p99: results.metrics.total_latency?.p99,
  })));
  output.out(formatSweepTable(points, { unit: command.unit, knee }).join("\n"));
  output.out(
    knee === undefined
      ? "Knee: none (throughput kept growing, or p99 E2E latency kept steady)"
      : `Knee: ${points[knee].load} ${command.unit} (the next point gained < 10% output ` +
        "tokens/s while p99 E2E grew > 50%)",
  );
  if (stopped) output.log(`Sweep stopped: ${points.length} of ${command.points.length} points`);
  if (command.jsonFile !== undefined) {
    const results: SweepResults = {
      version: RESULTS_SCHEMA_VERSION,
      kind: "sweep",
      unit: command.unit,
      stopped,
      knee: knee === undefined ? null : points[knee].load,
      points,
    };
    const bytes = new TextEncoder().encode(JSON.stringify(results, null, 2) + "\n");
    await writeFileAtomic(command.jsonFile, bytes, "sweep results");
    output.log(`Sweep results written to ${command.jsonFile}`);
  }
  return points.some(({ results }) => results.requests.ok === 0) ? EXIT_FAILED : EXIT_OK;
}
