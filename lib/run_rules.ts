/**
 * The coordinator's decisions, as pure functions of the configuration and the counts: when
 * stats reset, when a limit stops the run, and the sentences that explain the load.
 *
 * @module
 */
import { counted } from "./progress.ts";
import { usersNeeded } from "./schedule.ts";
import type { Aggregate } from "./stats.ts";
import type { RunConfig } from "./types.ts";

/** The current load: users (closed loop or in-flight cap) and the QPS target. */
export interface CurrentLoad {
  /** Users, or the in-flight cap in QPS mode. */
  readonly users: number;
  /** QPS target, in QPS mode. */
  readonly qps?: number;
}

/** Minimum requests before `--max-fail-ratio` may stop a run. */
export const MIN_REQUESTS_FOR_FAIL_RATIO = 20;

/** Why the run must stop now because of `--max-requests` or `--max-fail-ratio`, if it must. */
export function limitReached(
  config: Pick<RunConfig, "maxRequests" | "maxFailRatio">,
  counts: { readonly ok: number; readonly failed: number },
): string | undefined {
  const total = counts.ok + counts.failed;
  if (config.maxRequests !== undefined && total >= config.maxRequests) {
    return `--max-requests ${config.maxRequests} reached`;
  }
  if (
    config.maxFailRatio !== undefined && total >= MIN_REQUESTS_FOR_FAIL_RATIO &&
    counts.failed / total > config.maxFailRatio
  ) {
    return `${counts.failed} of ${total} requests failed, more than --max-fail-ratio ` +
      `${config.maxFailRatio}`;
  }
  return undefined;
}

/** When stats reset: after `--warmup`, or at steady state (all users spawned, one reply in). */
export function createWarmupRule(config: RunConfig, startAt: number) {
  if (config.warmupMs === 0) return () => false;
  if (config.warmupMs !== undefined) {
    const at = startAt + config.warmupMs;
    return (now: number) => now >= at;
  }
  const spawned = config.qps === undefined
    ? startAt + (config.users - 1) / config.spawnRate * 1000
    : startAt;
  return (now: number, aggregate: Aggregate) => now >= spawned && aggregate.counts().ok > 0;
}

/** Why stats were reset, for the log. */
export function warmupReason(config: RunConfig): string {
  return config.warmupMs === undefined
    ? "steady state reached (all users spawned, first response in)"
    : `warm-up of ${config.warmupMs / 1000}s over`;
}

/** The warning when `-u` holds back the sends `--qps` asks for. */
export function capWarning(config: RunConfig, aggregate: Aggregate): string {
  const meanLatency = aggregate.metric("total_latency")?.mean ?? 0;
  const needed = usersNeeded(config.qps!, meanLatency || 1000);
  // Raised once, early: the count is the one so far; the end-of-run line gives the total.
  return `--users ${config.users} caps requests in flight below what --qps ${config.qps} needs: ` +
    `so far ${counted(aggregate.counts().capped, "send")} waited for a free slot; about ` +
    `${counted(needed, "user")} would be needed ` +
    `(${config.qps} req/s × ${(meanLatency / 1000).toFixed(2)} s mean latency); raise -u`;
}

/** A load change, for the log. */
export function describeCurrentLoad(load: CurrentLoad): string {
  return load.qps === undefined
    ? counted(load.users, "user")
    : `${load.qps} QPS, at most ${load.users} in flight`;
}

/** The load of a whole run, for the log. */
export function describeLoad(config: RunConfig, shards: number): string {
  const load = config.qps !== undefined
    ? `${config.qps} QPS (${config.qpsDistribution}), at most ${config.users} in flight`
    : config.burstSeconds !== undefined
    ? `${counted(config.users, "user")} in bursts every ${config.burstSeconds}s`
    : `${counted(config.users, "user")} spawned at ${config.spawnRate}/s`;
  const time = config.runTimeMs === undefined ? "until Ctrl+C" : `for ${config.runTimeMs / 1000}s`;
  return `Load: ${load}, ${time}, on ${counted(shards, "worker shard")}`;
}
