/**
 * `llmload sweep`: the same load test at a list of loads (`--users 1,2,4,8`, `--qps 1:64:x2`),
 * one point after the other in this process, each a whole run with its warm-up (`--warmup`)
 * and a fixed `--point-duration` (or `--requests-per-point`). Consecutive runs rather than
 * stages of one run: each point starts with an empty queue on the server and ends with its
 * requests in flight counted, so points never borrow load from each other, and each point's
 * results are a run's results. `--summary-file` gets one CSV row per point (the run's row);
 * `--json` one file with every point, `--html` one report (output/sweep_report.ts). Ctrl+C stops the point running and writes every finished
 * point. `--find-max` runs the points a search picks instead (stats/find_max.ts): the largest
 * load whose SLO attainment meets `--attainment`.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { kneeIndex } from "../stats/knee.ts";
import { createSaturationCheck } from "../stats/saturation.ts";
import { RESULTS_SCHEMA_VERSION } from "../output/results.ts";
import { writeFileAtomic } from "../output/atomic_write.ts";
import { formatSweepTable, type SweepPoint } from "../output/sweep_table.ts";
import { renderSweepReport } from "../output/sweep_report.ts";
import { secretsOf } from "../common/secrets.ts";
import { sweepList } from "../options/sweep_parsers.ts";
import { boolean, duration, jitter, wholeNumber } from "../options/parsers.ts";
import {
  type FindMaxGoal,
  foundMax,
  meanInterval,
  nextLoad,
  passed,
  type TriedLoad,
} from "../stats/find_max.ts";
import type { FlagValues, RawSetting } from "../options/settings.ts";
import { validated } from "../options/settings.ts";
import type { OptionSpec } from "../options/spec.ts";
import type { RunConfig } from "../options/types.ts";
import { EXIT_FAILED, EXIT_OK } from "./exit_codes.ts";
import type { CommandOutput } from "./command_output.ts";
import type { LiveView } from "../run/types.ts";
import { formatDuration } from "../options/duration.ts";
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
  {
    name: "find-max",
    help: "search for the largest load whose --slo attainment meets --attainment: from the " +
      "first load of the list, x2 until a point fails (the list's last load, if more than one, " +
      "is the ceiling), then bisect to --precision; needs --slo",
    default: "false",
  },
  {
    name: "attainment",
    value: "share",
    help: "with --find-max, the SLO attainment a load must reach: 95% or 0.95",
    default: "95%",
  },
  {
    name: "precision",
    value: "share",
    help: "with --find-max, stop when the passing and failing loads are this close: 5% or 0.05",
    default: "5%",
  },
  {
    name: "saturation-window",
    value: "duration",
    help: "stop the point, and load no higher, when requests in flight and TTFT both climb " +
      "for this long (an over-saturated server, as GuideLLM detects it); 0 turns it off",
    default: "10s",
  },
  {
    name: "repeats",
    value: "n",
    help: "with --find-max, runs per load: a load passes on their mean attainment, shown with " +
      "its 95% confidence interval; a whole number >= 1",
    default: "1",
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

/** A sweep, checked: its loads and the run at any load. */
export interface SweepCommand {
  /** What the points vary. */
  readonly unit: "users" | "qps";
  /** The loads of the list, in order; with `findMax`, its first is where the search starts. */
  readonly loads: readonly number[];
  /** The run of the point at `load`, outputs written once per sweep taken out. */
  configAt(load: number): RunConfig;
  /** `--find-max`: what the search is after, and the runs per load. */
  readonly findMax?: FindMaxGoal & { readonly repeats: number };
  /** `--json`: the sweep's results file. */
  readonly jsonFile?: string;
  /** `--html`: the sweep's report (output/sweep_report.ts). */
  readonly htmlFile?: string;
  /** `--saturation-window` in ms: how long both climbs must last; 0 when not checked. */
  readonly saturationWindowMs: number;
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
  const saturationWindowMs = validated(setting("saturation-window"), duration({ allowZero: true }));
  const runFlags: FlagValues = Object.fromEntries(
    Object.entries(flags).filter(([name]) =>
      !SWEEP_OPTIONS.some((spec) => spec.name === name) && !SWEEP_REPLACED_OPTIONS.includes(name)
    ),
  );
  function resolvedAt(load: number): RunConfig {
    return resolve({
      ...runFlags,
      ...(unit === "users"
        ? { users: String(load) }
        : { qps: String(load), users: String(inFlight) }),
      ...(perPoint === undefined
        ? { "run-time": `${pointMs}ms` }
        : { "max-requests": String(perPoint) }),
    });
  }
  function configAt(load: number): RunConfig {
    // One results file, report and history entry per sweep, not per point.
    const { jsonFile: _json, htmlFile: _html, history: _history, ...pointConfig } = resolvedAt(
      load,
    );
    return Object.freeze(pointConfig) as RunConfig;
  }
  // Resolved now, so a bad run option is a usage error before the first point runs; --json and
  // --html may come from the environment or the config file, as in a run.
  const first = resolvedAt(loads[0]);
  loads.slice(1).forEach(configAt);
  const { jsonFile, htmlFile } = first;
  return {
    unit,
    loads,
    configAt,
    saturationWindowMs,
    ...findMaxOf(setting, { unit, loads, slo: first.slo !== undefined }),
    ...(jsonFile === undefined ? {} : { jsonFile }),
    ...(htmlFile === undefined ? {} : { htmlFile }),
  };
}

function findMaxOf(
  setting: (name: string) => RawSetting,
  context: { unit: "users" | "qps"; loads: readonly number[]; slo: boolean },
): { findMax?: SweepCommand["findMax"] } {
  if (!validated(setting("find-max"), boolean)) return {};
  if (!context.slo) {
    throw new UsageError(
      "Cannot use --find-max without --slo: the search needs a latency goal to meet, e.g. " +
        '--slo "ttft<=500ms,e2e<=20s"',
    );
  }
  const { loads } = context;
  return {
    findMax: Object.freeze({
      target: validated(setting("attainment"), jitter),
      precision: validated(setting("precision"), jitter),
      repeats: validated(setting("repeats"), wholeNumber(1)),
      whole: context.unit === "users",
      ...(loads.length > 1 ? { ceiling: loads[loads.length - 1] } : {}),
    }),
  };
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
  /** Every finished point, in order of load (with `--repeats`, each run its own point). */
  readonly points: readonly SweepPoint[];
  /** With `--find-max`: the goal, every load tried and the largest that passed. */
  readonly findMax?: FindMaxResult;
}

/** What `--find-max` found. */
export interface FindMaxResult {
  /** `--attainment`: the share of requests that must meet the SLO. */
  readonly target: number;
  /** `--precision`: the relative gap at which the search stopped. */
  readonly precision: number;
  /** `--repeats`: runs per load. */
  readonly repeats: number;
  /** The largest load that passed, or `null` when none did. */
  readonly load: number | null;
  /** Every load tried, in the order tried: the attainment's mean, its 95% interval, the verdict. */
  readonly tried: readonly {
    readonly load: number;
    readonly mean: number;
    readonly low: number;
    readonly high: number;
    readonly passed: boolean;
  }[];
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
  let runs = 0;
  /** The lowest load at which the server was over-saturated; no higher load is run. */
  let saturatedAt: number | undefined;
  /** Runs the point at `load`; `undefined` when Ctrl+C stopped it. */
  async function runAt(load: number): Promise<SweepPoint | undefined> {
    if (hooks.stopSignal?.aborted) return undefined;
    const of = command.findMax ? "" : `/${command.loads.length}`;
    output.log(`Point ${++runs}${of}: ${load} ${command.unit}`);
    const saturation = saturationWatch(command.saturationWindowMs, hooks.abortSignal);
    const { results } = await runCommand(command.configAt(load), quiet, {
      ...hooks,
      abortSignal: saturation.abortSignal,
      observe: saturation.observe,
    });
    // A point stopped part-way measured less than its duration: it is not a finished point.
    if (hooks.stopSignal?.aborted) return undefined;
    const point = { load, results, saturated: saturation.saturated() };
    if (point.saturated) {
      saturatedAt = Math.min(saturatedAt ?? Infinity, load);
      output.log(
        `Point ${runs}: the server is over-saturated at ${load} ${command.unit} (requests in ` +
          `flight and TTFT both climbed for ${formatDuration(command.saturationWindowMs)}): ` +
          "stopped it, and no higher load runs",
      );
    }
    points.push(point);
    return point;
  }
  const tried: TriedLoad[] = [];
  if (command.findMax === undefined) {
    for (const load of command.loads) {
      if ((await runAt(load))?.saturated !== false) break;
    }
  } else {
    const goal = command.findMax;
    for (let load: number | undefined = command.loads[0]; load !== undefined;) {
      const attainments: number[] = [];
      for (let repeat = 0; repeat < goal.repeats; repeat++) {
        const point = await runAt(load);
        if (point === undefined) break;
        // An over-saturated point was cut short: it fails, whatever its early requests met.
        attainments.push(point.saturated ? 0 : point.results.goodput?.attainment.all ?? 0);
        if (point.saturated) break;
      }
      if (attainments.length < goal.repeats && saturatedAt !== load) break;
      tried.push({ load, attainments });
      load = nextLoad(tried, goal);
      if (load !== undefined && saturatedAt !== undefined && load >= saturatedAt) break;
    }
  }
  stopped = hooks.stopSignal?.aborted ?? false;
  const byLoad = [...points].sort((a, b) => a.load - b.load);
  const knee = kneeIndex(byLoad.map(({ results }) => ({
    throughput: results.throughput.outputTokensPerSec,
    p99: results.metrics.total_latency?.p99,
  })));
  output.out(formatSweepTable(byLoad, { unit: command.unit, knee }).join("\n"));
  output.out(
    knee === undefined
      ? "Knee: none (throughput kept growing, or p99 E2E latency kept steady)"
      : `Knee: ${byLoad[knee].load} ${command.unit} (the next point gained < 10% output ` +
        "tokens/s while p99 E2E grew > 50%)",
  );
  const findMax = command.findMax && findMaxResult(tried, command.findMax);
  if (findMax) output.out(findMaxLines(findMax, command.unit).join("\n"));
  if (stopped) {
    output.log(
      `Sweep stopped: ${points.length} finished point${points.length === 1 ? "" : "s"} written`,
    );
  }
  if (command.jsonFile !== undefined) {
    const results: SweepResults = {
      version: RESULTS_SCHEMA_VERSION,
      kind: "sweep",
      unit: command.unit,
      stopped,
      knee: knee === undefined ? null : byLoad[knee].load,
      points: byLoad,
      ...(findMax ? { findMax } : {}),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(results, null, 2) + "\n");
    await writeFileAtomic(command.jsonFile, bytes, "sweep results");
    output.log(`Sweep results written to ${command.jsonFile}`);
  }
  if (command.htmlFile !== undefined) {
    const page = renderSweepReport(byLoad, {
      unit: command.unit,
      knee: knee === undefined ? null : byLoad[knee].load,
      max: findMax?.load ?? null,
      secrets: secretsOf(command.configAt(command.loads[0])),
    });
    await writeFileAtomic(command.htmlFile, new TextEncoder().encode(page), "sweep report");
    output.log(`Sweep report written to ${command.htmlFile}`);
  }
  if (points.some(({ results }) => results.requests.ok === 0) && !command.findMax) {
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

function findMaxResult(
  tried: readonly TriedLoad[],
  goal: NonNullable<SweepCommand["findMax"]>,
): FindMaxResult {
  return {
    target: goal.target,
    precision: goal.precision,
    repeats: goal.repeats,
    load: foundMax(tried, goal) ?? null,
    tried: tried.map((point) => ({
      load: point.load,
      ...meanInterval(point.attainments),
      passed: passed(point, goal),
    })),
  };
}

function findMaxLines(found: FindMaxResult, unit: string): string[] {
  const percent = (share: number) => `${(share * 100).toFixed(2)}%`;
  const tried = found.tried.map((point) =>
    `  ${point.load} ${unit}: attainment ${percent(point.mean)}` +
    (found.repeats > 1 ? ` (95% CI ${percent(point.low)} to ${percent(point.high)})` : "") +
    (point.passed ? " pass" : " FAIL")
  );
  return [
    found.load === null
      ? `Find max: no load tried met the SLO attainment of ${percent(found.target)}`
      : `Find max: ${found.load} ${unit} is the largest load whose SLO attainment met ` +
        `${percent(found.target)} (precision ${percent(found.precision)})`,
    ...tried,
  ];
}

/**
 * The over-saturation watch of one point: an abort signal (the point stops at once, its requests
 * in flight cut off: a queue that only grows would take long to drain, and the point fails
 * anyway) that also fires when the live views show requests in flight and TTFT both climbing
 * for `windowMs` (stats/saturation.ts), the observer that feeds it, and whether it fired.
 * `windowMs` 0 watches nothing.
 */
function saturationWatch(windowMs: number, userAbort: AbortSignal | undefined) {
  const stop = new AbortController();
  const check = windowMs > 0 ? createSaturationCheck({ windowMs }) : undefined;
  let fired = false;
  return {
    abortSignal: userAbort ? AbortSignal.any([userAbort, stop.signal]) : stop.signal,
    observe(view: LiveView): void {
      if (fired || check === undefined) return;
      const ttftMs = view.interval.metric("ttft")?.p50 ?? null;
      if (!check({ at: view.now, inFlight: view.inFlight, ttftMs })) return;
      fired = true;
      stop.abort();
    },
    saturated: () => fired,
  };
}
