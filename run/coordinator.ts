/**
 * The coordinator: settles the target, builds the prompt, starts one Web Worker shard per slice
 * of the load, then ticks every 50 ms until the run ends. Each tick runs named pieces with one
 * job each: reset after warm-up, check the stop conditions, sample the client and publish the
 * live view (once a second), warn of the in-flight cap, print the progress line. The run's
 * state lives in one `Running` object that the pieces share.
 *
 * @module
 */
import type { WorkloadFacts } from "../load/pool_builder.ts";
import { absoluteNow, startClockThread } from "../load/clock.ts";
import type { FromShard, ShardInit, ShardStatus, ToShard } from "../load/shard.ts";
import { Aggregate } from "../stats/aggregate.ts";
import type { DeltaCounts, FailureStats } from "../stats/types.ts";
import { formatProgress, terminalColumns } from "../output/progress.ts";
import { planRun } from "./plan.ts";
import {
  capWarning,
  createWarmupRule,
  describeCurrentLoad,
  describeLoad,
  failFastReason,
  limitReached,
  noResetNote,
  warmupReason,
} from "./rules.ts";
import { clientWarning, createClientMonitor } from "./client_monitor.ts";
import type { FailureKind } from "../request/types.ts";
import { redactConfig } from "../common/secrets.ts";
import type { RunConfig } from "../options/types.ts";
import type { Target } from "./target.ts";
import type { CurrentLoad, LiveView, RunIo, RunOutcome, RunState } from "./types.ts";
import { shardTrace } from "../load/trace.ts";
import { Slicer } from "./slices.ts";
import { describeStage, loadOf, stageAt, stageEnds } from "./stages.ts";
import { checkThresholds } from "../stats/thresholds.ts";
import { shareOf, workerShard } from "../load/sharding.ts";
import { clockWarning, type PlannedStart, planStart, startLines } from "./start_at.ts";
import { localTokenizerSpec } from "../load/tokenizer.ts";
import type { ServerMetricsReport, ServerMetricsScraper } from "../server_metrics/scraper.ts";
import { startServerMetrics } from "./server_metrics.ts";
import { openRequestLog, type RequestLog } from "../output/request_log.ts";

const PROGRESS_MS = 1000;
const PLAIN_PROGRESS_MS = 5000;
const START_MARGIN_MS = 20;
const DONE_MARGIN_MS = 5000;
const TICK_MS = 50;

/**
 * Everything a run keeps while it goes, in one place: what the shards reported, where the
 * measured window begins, and what has been said already. The ticker's pieces below each read
 * and change a few of these fields.
 */
interface Running {
  readonly config: RunConfig;
  /** The config observers see: no API key, no serve token, no credential headers. */
  readonly viewConfig: LiveView["config"];
  readonly io: RunIo;
  readonly target: Target;
  readonly generationTokens: string;
  readonly workers: readonly Worker[];
  readonly startAt: number;
  /** The measured window (after warm-up). */
  readonly aggregate: Aggregate;
  /** What was measured since the last live view. */
  readonly interval: Aggregate;
  readonly monitor: ReturnType<typeof createClientMonitor>;
  /** Whether the warm-up is over, the measured window about to begin. */
  readonly warmup: (now: number, aggregate: Aggregate) => boolean;
  readonly warnings: string[];
  readonly statuses: ShardStatus[];
  /** Every request of the run, warm-up included: what --max-requests and --max-fail-ratio count. */
  readonly allTime: { ok: number; failed: number };
  /** Failures by kind until the first success: what the fail-fast check looks at. */
  readonly failuresBeforeSuccess: Partial<Record<FailureKind, FailureStats>>;
  /** Requests of the `--trace` slice: the run is over once that many completed or failed. */
  readonly traceRequests?: number;
  /** With `--stages`: when each stage ends, and what each measured (the stages begun so far). */
  readonly stageEnds: readonly number[];
  readonly stages: { aggregate: Aggregate; startedAt: number; endedAt?: number }[];
  /** With `--slice`: the measured window cut into slices. */
  readonly slicer?: Slicer;
  /** The stop limits, `--max-requests` cut to this process's share of a `--shard` run. */
  readonly limits: Pick<RunConfig, "maxRequests" | "maxFailRatio">;
  state: RunState;
  load: CurrentLoad;
  epoch: number;
  windowStart: number;
  lastCompletion: number;
  lastLive: number;
  lastProgress: { at: number; completed: number; tokens: number };
  capWarned: boolean;
  stopping: boolean;
  partial: boolean;
  thresholdAbort?: string;
  /** Scrapes the server's metrics, when `--server-metrics` finds them. */
  scraper?: ServerMetricsScraper;
  /** The per-request log, with `--log-requests`. */
  requestLog?: RequestLog;
}

/** Runs one load test to its end and returns what it measured. */
export async function runLoadTest(config: RunConfig, io: RunIo): Promise<RunOutcome> {
  // A --start-at long past is refused before anything is prepared.
  planStart(config, absoluteNow(), START_MARGIN_MS);
  const plan = await planRun(config, io.log);
  const { target, prompt, localPromptTokens, seed, generationTokens, shardCount } = plan;
  const requestLog = config.logRequests === undefined
    ? undefined
    : await openRequestLog(config.logRequests);
  const [workers, clockThread] = await Promise.all([
    startWorkers(shardCount),
    startClockThread(shardCount),
  ]);
  // A trace, and --prompt-randomize, build prompts in the shards as the load starts: loading the
  // tokenizer there first keeps the first sends on time (it took ~0.6 s on a loaded 2-core host).
  if (plan.trace !== undefined || config.promptRandomize) {
    await prepareTokenizers(workers, localTokenizerSpec(config.tokenizer));
  }
  const warnings = [...plan.warnings];
  // Before the start time is set: the first scrape (the window's baseline) must not delay load.
  const scraper = await startServerMetrics(config, {
    log: io.log,
    warn(warning) {
      warnings.push(warning);
      io.log(`Warning: ${warning}`);
    },
  });
  const startWarnings = [await clockWarning(config)].filter((note) => note !== undefined);
  startWarnings.forEach((note) => io.log(`Warning: ${note}`));
  warnings.push(...startWarnings);
  let start: PlannedStart;
  try {
    start = planStart(config, absoluteNow(), START_MARGIN_MS);
  } catch (error) {
    // Preparing took past the run's end: nothing will be sent.
    workers.forEach((worker) => worker.terminate());
    clockThread.close();
    throw error;
  }
  const { startAt } = start;
  for (const line of startLines(start, absoluteNow())) io.log(line);
  if (start.lateMs > 0) {
    warnings.push(`Started ${start.lateMs.toFixed(0)} ms after --start-at`);
  }
  const run: Running = {
    config,
    viewConfig: redactConfig(config),
    io,
    target,
    generationTokens,
    workers,
    startAt,
    aggregate: new Aggregate(),
    interval: new Aggregate(),
    // The coordinator thread and the runtime's I/O threads work beside the shards.
    monitor: createClientMonitor(Math.min(shardCount + 1, navigator.hardwareConcurrency)),
    warmup: createWarmupRule(config, startAt),
    warnings,
    statuses: Array.from(
      { length: shardCount },
      () => ({ inFlight: 0, cancelled: 0, loopLagMs: 0 }),
    ),
    allTime: { ok: 0, failed: 0 },
    failuresBeforeSuccess: {},
    stageEnds: config.stages ? stageEnds(config.stages, startAt) : [],
    stages: config.stages ? [{ aggregate: new Aggregate(), startedAt: startAt }] : [],
    slicer: config.sliceMs === undefined ? undefined : new Slicer(config.sliceMs, startAt),
    traceRequests: plan.trace === undefined ? undefined : shareOf(plan.trace.count, config.shard),
    limits: {
      maxFailRatio: config.maxFailRatio,
      maxRequests: config.maxRequests === undefined
        ? undefined
        : shareOf(config.maxRequests, config.shard),
    },
    state: "starting",
    load: { users: config.users, qps: config.qps },
    epoch: 0,
    windowStart: startAt,
    lastCompletion: startAt,
    lastLive: startAt,
    lastProgress: { at: startAt, completed: 0, tokens: 0 },
    capWarned: false,
    stopping: false,
    partial: false,
    scraper,
    requestLog,
  };
  let finishedShards = 0;
  let resolveAllDone: () => void = () => {};
  const allDone = new Promise<void>((resolve) => resolveAllDone = resolve);
  let markStopped: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => markStopped = resolve);
  const stop = (graceMs: number) => stopRun(run, graceMs, markStopped);

  workers.forEach((worker, slot) => {
    const { shardIndex, shardCount: allShards } = workerShard(config.shard, slot, shardCount);
    worker.onmessage = (event: MessageEvent<FromShard>) => {
      const message = event.data;
      if (message.type === "done") {
        if (++finishedShards === shardCount) resolveAllDone();
      } else takeShardMessage(run, message);
    };
    const init: ShardInit = {
      config: {
        ...config,
        model: target.model,
        provider: target.provider,
        transport: plan.transport,
      },
      prompt,
      localPromptTokens,
      ...(plan.pool === undefined ? {} : { pool: plan.pool }),
      shardIndex,
      shardCount: allShards,
      slot,
      startAt,
      seed,
      clockBuffer: clockThread.buffer,
      ...(plan.trace === undefined ? {} : { trace: shardTrace(plan.trace, shardIndex, allShards) }),
    };
    post(worker, { type: "start", init });
  });
  io.log(describeLoad(config, shardCount));
  if (config.shard !== undefined) {
    io.log(
      `Shard ${config.shard.index}/${config.shard.count}: this process runs 1/${config.shard.count} ` +
        `of that load; merge the shards' --json files with llmload merge`,
    );
  }
  const noReset = noResetNote(config);
  if (noReset) io.log(noReset);
  run.state = "running";

  const onStop = () => stop(config.stopGraceMs);
  const onAbort = () => stop(0);
  io.stopSignal?.addEventListener("abort", onStop);
  io.abortSignal?.addEventListener("abort", onAbort);
  if (io.stopSignal?.aborted) onStop();
  io.control?.({ stop: onStop, setLoad: (change) => changeLoad(run, change) });

  const deadline = config.runTimeMs === undefined ? undefined : startAt + config.runTimeMs;
  const ticker = setInterval(() => {
    const now = absoluteNow();
    resetAfterWarmup(run, now);
    advanceStage(run, now);
    if (shouldStop(run, now, deadline)) stop(config.stopGraceMs);
    if (now - run.lastLive >= PROGRESS_MS) {
      sampleClient(run);
      if (failedThreshold(run, now)) stop(config.stopGraceMs);
      publishLive(run, now);
    }
    warnOfCap(run);
    printProgress(run, now);
  }, TICK_MS);

  await Promise.race([allDone, stopRequested]);
  const finishedInTime = await Promise.race([
    allDone.then(() => true),
    delay(config.stopGraceMs + DONE_MARGIN_MS).then(() => false),
  ]);
  clearInterval(ticker);
  const serverMetrics = await run.scraper?.stop();
  await closeRequestLog(run);
  run.state = "done";
  publishLive(run, absoluteNow());
  io.stopSignal?.removeEventListener("abort", onStop);
  io.abortSignal?.removeEventListener("abort", onAbort);
  workers.forEach((worker) => worker.terminate());
  clockThread.close();
  return outcomeOf(run, {
    finishedInTime,
    localPromptTokens,
    shards: shardCount,
    workload: plan.workload,
    serverMetrics,
  });
}

/** Takes a shard's delta (counted always, merged when of the current epoch) or its error. */
function takeShardMessage(run: Running, message: Exclude<FromShard, { type: "done" }>) {
  if (message.type === "error") {
    run.warnings.push(`Shard ${message.shardIndex} failed: ${message.message}`);
    run.io.log(`Error: shard ${message.shardIndex} failed: ${message.message}`);
    return;
  }
  if (message.type === "requests") {
    run.requestLog?.write(message.lines);
    return;
  }
  if (message.type !== "delta") return;
  const { delta } = message;
  run.statuses[message.shardIndex] = message.status;
  run.monitor.noteLag(message.status.loopLagMs);
  const failed = failureCount(delta);
  run.allTime.ok += delta.ok;
  run.allTime.failed += failed;
  if (run.allTime.ok === 0) noteFailures(run.failuresBeforeSuccess, delta);
  if (message.epoch !== run.epoch) return;
  run.aggregate.merge(delta);
  run.interval.merge(delta);
  run.stages[message.stage]?.aggregate.merge(delta);
  if (delta.ok === 0 && failed === 0) return;
  run.lastCompletion = absoluteNow();
  // Slices advance with completions only, so that they end where the measured window does.
  run.slicer?.merge(delta, run.lastCompletion);
}

/** Starts the measured window anew once the warm-up rule says so (once per run). */
function resetAfterWarmup(run: Running, now: number) {
  if (run.epoch !== 0 || run.stopping || !run.warmup(now, run.aggregate)) return;
  run.epoch++;
  run.aggregate.reset();
  // The live points cover the measured window only, so that they add up to the results.
  run.interval.reset();
  run.windowStart = absoluteNow();
  // Stages and slices cover the measured window only, so that they add up to the totals.
  for (const stage of run.stages) {
    stage.aggregate.reset();
    stage.startedAt = Math.max(stage.startedAt, run.windowStart);
  }
  run.slicer?.restart(run.windowStart);
  run.scraper?.restartWindow();
  run.workers.forEach((worker) => post(worker, { type: "reset", epoch: run.epoch }));
  run.io.log(`Stats reset: ${warmupReason(run.config)}`);
}

/**
 * Whether the run must stop now: its deadline passed, the trace is done (a log line), or a
 * limit (--max-requests, --max-fail-ratio, fail-fast) was reached, which is then a warning and a
 * log line.
 */
function shouldStop(run: Running, now: number, deadline: number | undefined): boolean {
  if (run.stopping) return false;
  if (deadline !== undefined && now >= deadline) return true;
  const { config, allTime } = run;
  const done = traceDone(run);
  if (done !== undefined) {
    // The normal end of a replay, not a warning.
    run.io.log(`Stopping: ${done}`);
    return true;
  }
  const limit = limitReached(run.limits, allTime) ??
    failFastReason(config, allTime, run.failuresBeforeSuccess);
  if (!limit) return false;
  run.warnings.push(limit);
  run.io.log(`Stopping: ${limit}`);
  return true;
}

/** Why the run is over with a `--trace`: every request of it completed or failed. */
function traceDone(run: Running): string | undefined {
  const total = run.traceRequests;
  if (total === undefined || run.allTime.ok + run.allTime.failed < total) return undefined;
  return `the trace is done (${total} requests)`;
}

/** Stops the shards: gracefully within `graceMs`, or at once (partial results) for 0. */
function stopRun(run: Running, graceMs: number, markStopped: () => void) {
  if (graceMs === 0) run.partial = true;
  if (run.stopping && graceMs !== 0) return;
  run.stopping = true;
  run.state = "stopping";
  markStopped();
  publishLive(run, absoluteNow());
  run.workers.forEach((worker) => post(worker, { type: "stop", graceMs }));
}

/** Starts the next `--stages` stage once the current one's time is up (the last one runs on). */
function advanceStage(run: Running, now: number) {
  const current = run.stages.length - 1;
  if (run.stopping || current < 0 || stageAt(run.stageEnds, now) <= current) return;
  const next = current + 1;
  const stage = run.config.stages![next];
  run.stages[current].endedAt = run.stageEnds[current];
  run.stages.push({ aggregate: new Aggregate(), startedAt: run.stageEnds[current] });
  run.io.log(`Stage ${next + 1}/${run.stageEnds.length}: ${describeStage(stage)}`);
  changeLoad(run, { ...loadOf(stage), stage: next });
}

/**
 * With `--abort-on-threshold`, whether a threshold fails on what was measured so far; the first
 * that does becomes a warning and a log line. A threshold with nothing measured yet waits.
 */
function failedThreshold(run: Running, now: number): boolean {
  const { config } = run;
  if (!config.abortOnThreshold || config.thresholds === undefined || run.stopping) return false;
  const input = { snapshot: run.aggregate.snapshot(), durationMs: now - run.windowStart };
  const failed = checkThresholds(config.thresholds, input, { live: true })
    .find((verdict) => !verdict.pass);
  if (failed === undefined) return false;
  run.thresholdAbort = `threshold ${failed.threshold} failed (measured ${failed.value})`;
  run.warnings.push(`Stopped early: ${run.thresholdAbort}`);
  run.io.log(`Stopping: ${run.thresholdAbort}`);
  return true;
}

/** Changes the load of every shard (the results server's `POST /api/load`, or a stage). */
function changeLoad(
  run: Running,
  change: { readonly users?: number; readonly qps?: number; readonly stage?: number },
) {
  if (run.stopping) return;
  run.load = {
    users: change.users ?? run.load.users,
    qps: run.load.qps === undefined ? undefined : change.qps ?? run.load.qps,
  };
  const at = absoluteNow() + START_MARGIN_MS;
  run.workers.forEach((worker) => post(worker, { type: "load", load: { ...change, at } }));
  run.io.log(`Load changed: ${describeCurrentLoad(run.load)}`);
}

/** Samples the client's own load; warns when saturation or delay starts, not every second. */
function sampleClient(run: Running) {
  const before = run.monitor.current();
  const after = run.monitor.sample();
  const saturation = run.monitor.saturationWarning();
  const started = (after.saturated && !before.saturated) || (after.delayed && !before.delayed);
  if (saturation && started) run.io.log(`Warning: ${saturation}`);
}

/** Hands the observer a view, then starts a new interval: each request is in one point only. */
function publishLive(run: Running, now: number) {
  run.io.live?.({
    state: run.state,
    config: run.viewConfig,
    target: run.target,
    startedAt: run.startAt,
    windowStart: run.windowStart,
    now,
    aggregate: run.aggregate,
    interval: run.interval,
    inFlight: inFlight(run.statuses),
    load: run.load,
    warnings: run.warnings,
    generationTokens: run.generationTokens,
    client: run.monitor.current(),
    serverMetrics: run.scraper?.snapshot(),
  });
  run.interval.reset();
  run.lastLive = now;
}

/** Warns once, as soon as it happens, that the in-flight cap delayed sends (QPS or trace). */
function warnOfCap(run: Running) {
  const { aggregate, config } = run;
  if (run.capWarned || (config.qps === undefined && config.traceFile === undefined)) return;
  if (aggregate.metric("total_latency") === undefined || aggregate.counts().capped === 0) return;
  run.capWarned = true;
  const warning = capWarning(config, aggregate);
  run.warnings.push(warning);
  run.io.log(`Warning: ${warning}`);
}

/** Prints the progress line: every second on a terminal, every 5 s otherwise. */
function printProgress(run: Running, now: number) {
  const { io, aggregate, monitor, lastProgress } = run;
  const every = io.status ? PROGRESS_MS : PLAIN_PROGRESS_MS;
  if (now - lastProgress.at < every - TICK_MS) return;
  const counts = aggregate.counts();
  const seconds = (now - lastProgress.at) / 1000;
  const client = monitor.current();
  const line = formatProgress({
    elapsedMs: now - run.startAt,
    completed: counts.ok,
    failed: counts.failed,
    inFlight: inFlight(run.statuses),
    requestsPerSec: Math.max(0, counts.ok - lastProgress.completed) / seconds,
    tokensPerSec: Math.max(0, counts.outputTokens - lastProgress.tokens) / seconds,
    ttftP50: aggregate.metric("ttft")?.p50,
    saturated: client.saturated,
    delayedMs: client.delayed ? client.loopLagMs : undefined,
  }, io.status ? terminalColumns() : undefined);
  (io.status ?? io.log)(line);
  run.lastProgress = { at: now, completed: counts.ok, tokens: counts.outputTokens };
}

/** What the run measured, with the warnings only its end can tell. */
function outcomeOf(
  run: Running,
  end: {
    finishedInTime: boolean;
    localPromptTokens?: number;
    shards: number;
    workload: WorkloadFacts;
    serverMetrics?: ServerMetricsReport;
  },
): RunOutcome {
  const { aggregate, config, warnings } = run;
  const client = run.monitor.summary();
  const clientNote = clientWarning(client);
  if (clientNote) warnings.push(clientNote);
  if (!end.finishedInTime) {
    run.partial = true;
    warnings.push("Some shards did not finish in time; their last requests are missing");
  }
  const paced = config.qps !== undefined || config.traceFile !== undefined;
  if (aggregate.counts().capped > 0 && paced && !run.capWarned) {
    warnings.push(capWarning(config, aggregate));
  }
  return {
    target: run.target,
    aggregate,
    windowStart: run.windowStart,
    windowEnd: Math.max(run.lastCompletion, run.windowStart),
    startedAt: run.startAt,
    generationTokens: run.generationTokens,
    localPromptTokens: end.localPromptTokens,
    workload: end.workload,
    shards: end.shards,
    cancelled: run.statuses.reduce((sum, status) => sum + status.cancelled, 0),
    ...cutOffWaits(run.statuses),
    partial: run.partial,
    warnings,
    client,
    ...stagesAndSlices(run),
    ...(end.serverMetrics ? { serverMetrics: end.serverMetrics } : {}),
    ...(run.thresholdAbort ? { thresholdAbort: run.thresholdAbort } : {}),
  };
}

/** The outcome's `stages` and `slices`, each absent without its option. */
function stagesAndSlices(run: Running): Pick<RunOutcome, "stages" | "slices"> {
  const end = Math.max(run.lastCompletion, run.windowStart);
  const stages = run.stages.map((stage, index) => ({
    stage: run.config.stages![index],
    startedAt: stage.startedAt,
    // A stage wholly inside the warm-up measured nothing: it is empty, not negative.
    endedAt: Math.max(stage.endedAt ?? end, stage.startedAt),
    aggregate: stage.aggregate,
  }));
  return {
    ...(stages.length > 0 ? { stages } : {}),
    ...(run.slicer ? { slices: run.slicer.finish(end) } : {}),
  };
}

/** Closes the request log; lines it could not write are a warning. */
async function closeRequestLog(run: Running) {
  const summary = await run.requestLog?.close();
  if (summary === undefined) return;
  run.io.log(`Request log: ${summary.written} lines in ${run.config.logRequests}`);
  if (summary.dropped === 0) return;
  const warning = `The request log ${run.config.logRequests} lost ${summary.dropped} lines: ` +
    (summary.error ?? "the disk was slower than the load");
  run.warnings.push(warning);
  run.io.log(`Warning: ${warning}`);
}

function inFlight(statuses: readonly ShardStatus[]): number {
  return statuses.reduce((sum, status) => sum + status.inFlight, 0);
}

function failureCount(delta: DeltaCounts): number {
  let count = 0;
  for (const failures of Object.values(delta.failures)) count += failures.count;
  return count;
}

/** Adds the failures of `delta` to `into`, keeping each kind's first message. */
function noteFailures(
  into: Partial<Record<FailureKind, FailureStats>>,
  delta: DeltaCounts,
) {
  for (const [kind, part] of Object.entries(delta.failures) as [FailureKind, FailureStats][]) {
    const stats = into[kind] ??= { count: 0, statuses: {}, messages: [] };
    stats.count += part.count;
    if (stats.messages.length === 0 && part.messages.length > 0) {
      stats.messages.push(part.messages[0]);
    }
  }
}

/** The shortest and longest wait of the requests cut off by the stop, over all shards. */
function cutOffWaits(statuses: readonly ShardStatus[]): Pick<RunOutcome, "cutOffWaitMs"> {
  const waits = statuses.flatMap((status) => status.cutOffWaitMs ? [status.cutOffWaitMs] : []);
  if (waits.length === 0) return {};
  return {
    cutOffWaitMs: {
      min: Math.min(...waits.map((wait) => wait.min)),
      max: Math.max(...waits.map((wait) => wait.max)),
    },
  };
}

function post(worker: Worker, message: ToShard) {
  worker.postMessage(message);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    Deno.unrefTimer(id);
  });
}

/** Has every shard load the tokenizer, and waits until each has. */
async function prepareTokenizers(workers: readonly Worker[], tokenizer: string): Promise<void> {
  await Promise.all(workers.map((worker) =>
    new Promise<void>((resolve) => {
      worker.onmessage = (event: MessageEvent<FromShard>) => {
        if (event.data.type === "prepared") resolve();
      };
      post(worker, { type: "prepare", tokenizer });
    })
  ));
}

/** Starts the shard Workers and waits until each has loaded its modules. */
async function startWorkers(count: number): Promise<Worker[]> {
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL("../load/worker.ts", import.meta.url), { type: "module" }),
  );
  await Promise.all(workers.map((worker) =>
    new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`Shard worker failed to start: ${event.message}`));
      };
    })
  ));
  return workers;
}
