/**
 * The coordinator: settles the target, builds the prompt, starts one Web Worker shard per slice
 * of the load, merges their stats deltas, resets stats after warm-up, prints progress, stops on
 * the deadline or a signal, and hands back the final results.
 *
 * @module
 */
import { absoluteNow } from "../load/clock.ts";
import type { FromShard, ShardInit, ShardStatus, ToShard } from "../load/shard.ts";
import { Aggregate } from "../stats/aggregate.ts";
import type { FailureStats, StatsDelta } from "../stats/types.ts";
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
import type { RunConfig } from "../options/types.ts";
import type { CurrentLoad, LiveView, RunIo, RunOutcome, RunState } from "./types.ts";

const PROGRESS_MS = 1000;
const PLAIN_PROGRESS_MS = 5000;
const START_MARGIN_MS = 20;
const DONE_MARGIN_MS = 5000;

/** Runs one load test to its end and returns what it measured. */
export async function runLoadTest(config: RunConfig, io: RunIo): Promise<RunOutcome> {
  const plan = await planRun(config, io.log);
  const { target, prompt, localPromptTokens, seed, generationTokens, shardCount } = plan;
  const workers = await startWorkers(shardCount);
  const aggregate = new Aggregate();
  const interval = new Aggregate();
  // Every request of the run, warm-up included: what --max-requests and --max-fail-ratio count.
  const allTime = { ok: 0, failed: 0 };
  // Failures by kind until the first success: what the fail-fast check looks at.
  const failuresBeforeSuccess: Partial<Record<FailureKind, FailureStats>> = {};
  // The coordinator thread and the runtime's I/O threads work beside the shards.
  const monitor = createClientMonitor(Math.min(shardCount + 1, navigator.hardwareConcurrency));
  let state: RunState = "starting";
  let load: CurrentLoad = { users: config.users, qps: config.qps };
  const warnings: string[] = [...plan.warnings];
  const statuses: ShardStatus[] = Array.from(
    { length: shardCount },
    () => ({ inFlight: 0, cancelled: 0, loopLagMs: 0 }),
  );
  const startAt = absoluteNow() + START_MARGIN_MS;
  let epoch = 0;
  let windowStart = startAt;
  let lastCompletion = startAt;
  let lastLive = startAt;
  let capWarned = false;
  let finishedShards = 0;
  let resolveAllDone: () => void = () => {};
  const allDone = new Promise<void>((resolve) => resolveAllDone = resolve);

  function onMessage(message: FromShard) {
    if (message.type === "delta") {
      statuses[message.shardIndex] = message.status;
      monitor.noteLag(message.status.loopLagMs);
      allTime.ok += message.delta.ok;
      allTime.failed += failureCount(message.delta);
      if (allTime.ok === 0) noteFailures(failuresBeforeSuccess, message.delta);
      if (message.epoch !== epoch) return;
      aggregate.merge(message.delta);
      interval.merge(message.delta);
      if (message.delta.ok > 0 || failureCount(message.delta) > 0) lastCompletion = absoluteNow();
    } else if (message.type === "error") {
      warnings.push(`Shard ${message.shardIndex} failed: ${message.message}`);
      io.log(`Error: shard ${message.shardIndex} failed: ${message.message}`);
    } else if (message.type === "done" && ++finishedShards === shardCount) resolveAllDone();
  }

  workers.forEach((worker, shardIndex) => {
    worker.onmessage = (event: MessageEvent<FromShard>) => onMessage(event.data);
    const init: ShardInit = {
      config: { ...config, model: target.model, provider: target.provider },
      prompt,
      localPromptTokens,
      shardIndex,
      shardCount,
      startAt,
      seed,
    };
    post(worker, { type: "start", init });
  });
  io.log(describeLoad(config, shardCount));
  const noReset = noResetNote(config);
  if (noReset) io.log(noReset);
  state = "running";

  function resetStats(reason: string) {
    epoch++;
    aggregate.reset();
    // The live points cover the measured window only, so that they add up to the results.
    interval.reset();
    windowStart = absoluteNow();
    workers.forEach((worker) => post(worker, { type: "reset", epoch }));
    io.log(`Stats reset: ${reason}`);
  }

  const warmup = createWarmupRule(config, startAt);
  let stopping = false;
  let partial = false;
  let markStopped: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => markStopped = resolve);
  function stop(graceMs: number) {
    if (graceMs === 0) partial = true;
    if (stopping && graceMs !== 0) return;
    stopping = true;
    state = "stopping";
    markStopped();
    emitLive(absoluteNow());
    workers.forEach((worker) => post(worker, { type: "stop", graceMs }));
  }
  const onStop = () => stop(config.stopGraceMs);
  const onAbort = () => stop(0);
  io.stopSignal?.addEventListener("abort", onStop);
  io.abortSignal?.addEventListener("abort", onAbort);
  if (io.stopSignal?.aborted) onStop();
  io.control?.({
    stop: onStop,
    setLoad(change) {
      if (stopping) return;
      load = {
        users: change.users ?? load.users,
        qps: load.qps === undefined ? undefined : change.qps ?? load.qps,
      };
      const at = absoluteNow() + START_MARGIN_MS;
      workers.forEach((worker) => post(worker, { type: "load", load: { ...change, at } }));
      io.log(`Load changed: ${describeCurrentLoad(load)}`);
    },
  });

  /** Hands the observer a view, then starts a new interval: each request is in one point only. */
  function emitLive(now: number) {
    io.live?.(view(now));
    interval.reset();
    lastLive = now;
  }

  function view(now: number): LiveView {
    return {
      state,
      config,
      target,
      startedAt: startAt,
      windowStart,
      now,
      aggregate,
      interval,
      inFlight: statuses.reduce((sum, status) => sum + status.inFlight, 0),
      load,
      warnings,
      generationTokens,
      client: monitor.current(),
    };
  }

  const deadline = config.runTimeMs === undefined ? undefined : startAt + config.runTimeMs;
  const progressEvery = io.status ? PROGRESS_MS : PLAIN_PROGRESS_MS;
  let lastProgress = { at: startAt, completed: 0, tokens: 0 };
  const ticker = setInterval(() => {
    const now = absoluteNow();
    if (epoch === 0 && !stopping && warmup(now, aggregate)) resetStats(warmupReason(config));
    if (!stopping && deadline !== undefined && now >= deadline) stop(config.stopGraceMs);
    const limit = stopping
      ? undefined
      : limitReached(config, allTime) ?? failFastReason(config, allTime, failuresBeforeSuccess);
    if (limit) {
      warnings.push(limit);
      io.log(`Stopping: ${limit}`);
      stop(config.stopGraceMs);
    }
    if (now - lastLive >= PROGRESS_MS) {
      const before = monitor.current();
      const after = monitor.sample();
      const saturation = monitor.saturationWarning();
      // Warn when a state starts, not every second it lasts.
      const started = (after.saturated && !before.saturated) || (after.delayed && !before.delayed);
      if (saturation && started) io.log(`Warning: ${saturation}`);
      emitLive(now);
    }
    const latencyKnown = aggregate.metric("total_latency") !== undefined;
    if (!capWarned && latencyKnown && aggregate.counts().capped > 0 && config.qps !== undefined) {
      capWarned = true;
      const warning = capWarning(config, aggregate);
      warnings.push(warning);
      io.log(`Warning: ${warning}`);
    }
    if (now - lastProgress.at >= progressEvery - 50) {
      const counts = aggregate.counts();
      const seconds = (now - lastProgress.at) / 1000;
      const line = formatProgress({
        elapsedMs: now - startAt,
        completed: counts.ok,
        failed: counts.failed,
        inFlight: statuses.reduce((sum, status) => sum + status.inFlight, 0),
        requestsPerSec: Math.max(0, counts.ok - lastProgress.completed) / seconds,
        tokensPerSec: Math.max(0, counts.outputTokens - lastProgress.tokens) / seconds,
        ttftP50: aggregate.metric("ttft")?.p50,
        saturated: monitor.current().saturated,
        delayedMs: monitor.current().delayed ? monitor.current().loopLagMs : undefined,
      }, io.status ? terminalColumns() : undefined);
      (io.status ?? io.log)(line);
      lastProgress = { at: now, completed: counts.ok, tokens: counts.outputTokens };
    }
  }, 50);

  await Promise.race([allDone, stopRequested]);
  const finishedInTime = await Promise.race([
    allDone.then(() => true),
    delay(config.stopGraceMs + DONE_MARGIN_MS).then(() => false),
  ]);
  clearInterval(ticker);
  state = "done";
  emitLive(absoluteNow());
  io.stopSignal?.removeEventListener("abort", onStop);
  io.abortSignal?.removeEventListener("abort", onAbort);
  workers.forEach((worker) => worker.terminate());
  const client = monitor.summary();
  const clientNote = clientWarning(client);
  if (clientNote) warnings.push(clientNote);
  if (!finishedInTime) {
    partial = true;
    warnings.push("Some shards did not finish in time; their last requests are missing");
  }
  if (aggregate.counts().capped > 0 && config.qps !== undefined && !capWarned) {
    warnings.push(capWarning(config, aggregate));
  }
  return {
    target,
    aggregate,
    windowStart,
    windowEnd: Math.max(lastCompletion, windowStart),
    startedAt: startAt,
    generationTokens,
    localPromptTokens,
    shards: shardCount,
    cancelled: statuses.reduce((sum, status) => sum + status.cancelled, 0),
    ...cutOffWaits(statuses),
    partial,
    warnings,
    client,
  };
}

function failureCount(delta: StatsDelta): number {
  let count = 0;
  for (const failures of Object.values(delta.failures)) count += failures.count;
  return count;
}

/** Adds the failures of `delta` to `into`, keeping each kind's first message. */
function noteFailures(
  into: Partial<Record<FailureKind, FailureStats>>,
  delta: StatsDelta,
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
