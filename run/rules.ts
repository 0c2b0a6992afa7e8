/**
 * The coordinator's decisions, as pure functions of the configuration and the counts: when
 * stats reset, when a limit stops the run, and the sentences that explain the load.
 *
 * @module
 */
import { counted } from "../output/progress.ts";
import { usersNeeded } from "../load/schedule.ts";
import type { Aggregate } from "../stats/aggregate.ts";
import type { FailureStats } from "../stats/types.ts";
import type { FailureKind } from "../request/types.ts";
import type { RunConfig } from "../options/types.ts";
import type { CurrentLoad } from "./types.ts";

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

/** Requests that must all fail, the same way and with none succeeding, before a run stops early. */
export const FAIL_FAST_REQUESTS = 20;

/**
 * Why the run must stop because its first requests all failed the same way, if it must: the
 * first {@link FAIL_FAST_REQUESTS} requests failed, none succeeded and every failure has one
 * kind (a 401, a refused connection), so more of them would measure nothing. `--keep-going`
 * turns this off; one success turns it off for the rest of the run.
 */
export function failFastReason(
  config: Pick<RunConfig, "keepGoing">,
  counts: { readonly ok: number; readonly failed: number },
  failures: Partial<Record<FailureKind, FailureStats>>,
): string | undefined {
  if (config.keepGoing || counts.ok > 0 || counts.failed < FAIL_FAST_REQUESTS) return undefined;
  const kinds = Object.entries(failures).filter(([, stats]) => stats && stats.count > 0);
  if (kinds.length !== 1) return undefined;
  const [kind, stats] = kinds[0];
  const example = stats!.messages[0];
  return `the first ${counts.failed} requests all failed (${kind}${
    example ? `: ${example}` : ""
  }) and none succeeded; fix the cause or pass --keep-going to send on`;
}

/**
 * Whether stats never reset: `--max-requests` counts every request, and a `--trace` replays a
 * set of them, so all must be measured.
 */
export function keepsEveryRequest(
  config: Pick<RunConfig, "warmupMs" | "maxRequests" | "traceFile">,
): boolean {
  return config.warmupMs === 0 ||
    (config.warmupMs === undefined &&
      (config.maxRequests !== undefined || config.traceFile !== undefined));
}

/** The log line when stats never reset, or undefined when they will. */
export function noResetNote(
  config: Pick<RunConfig, "warmupMs" | "maxRequests" | "traceFile">,
): string | undefined {
  if (!keepsEveryRequest(config)) return undefined;
  if (config.warmupMs === 0) return "Stats reset: none (--warmup 0)";
  const why = config.maxRequests !== undefined
    ? "--max-requests counts every request"
    : "--trace replays every request";
  return `Stats reset: none (${why}; pass --warmup to exclude one)`;
}

/**
 * When stats reset: after `--warmup`, or at steady state (closed loop and burst: all users
 * spawned and one reply in; QPS: one reply in). Never with `--warmup 0`, nor with
 * `--max-requests` and no `--warmup`: the requests the limit counts must all be in the results.
 */
export function createWarmupRule(config: RunConfig, startAt: number) {
  if (keepsEveryRequest(config)) return () => false;
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
  if (config.warmupMs !== undefined) return `warm-up of ${config.warmupMs / 1000}s over`;
  if (config.qps !== undefined) {
    return "steady state reached (arrivals under way, first response in)";
  }
  return config.burstSeconds !== undefined
    ? "steady state reached (all users spawned, first burst response in)"
    : "steady state reached (all users spawned, first response in)";
}

/**
 * The warning when `-u` held back sends `--qps` asked for: some arrival found every slot of its
 * shard's share of `-u` busy and waited. When Little's law says `-u` is more than enough at the
 * mean latency, the slots were filled by slow requests (a latency tail, or a client that fell
 * behind), so the warning says that instead of asking for the users the rate already has.
 * With `--trace` it says the trace's sends were held back.
 */
export function capWarning(config: RunConfig, aggregate: Aggregate): string {
  const meanLatency = aggregate.metric("total_latency")?.mean ?? 0;
  const needed = usersNeeded(config.qps!, meanLatency || 1000);
  // Raised once, early: the count is the one so far; the end-of-run line gives the total.
  const waited = `so far ${counted(aggregate.counts().capped, "send")} waited for a free slot`;
  if (config.traceFile !== undefined) {
    return `--users ${config.users} caps requests in flight below what the --trace sends: ` +
      `${waited}, late for the trace's times; raise -u`;
  }
  const law = `${config.qps} req/s × ${(meanLatency / 1000).toFixed(2)} s mean latency`;
  if (needed >= config.users) {
    return `--users ${config.users} caps requests in flight below what --qps ${config.qps} ` +
      `needs: ${waited}; about ${counted(needed, "user")} would be needed (${law}); raise -u`;
  }
  const p99 = aggregate.metric("total_latency")?.p99 ?? 0;
  return `--users ${config.users} in flight were all busy although about ` +
    `${counted(needed, "user")} would do on average (${law}): ${waited}; slow requests filled ` +
    `the slots (total latency p99 ${(p99 / 1000).toFixed(2)} s), so raise -u to keep ` +
    `the rate through them`;
}

/** A load change, for the log. */
export function describeCurrentLoad(load: CurrentLoad): string {
  return load.qps === undefined
    ? counted(load.users, "user")
    : `${load.qps} QPS, at most ${load.users} in flight`;
}

/** The load of a whole run, for the log. */
export function describeLoad(config: RunConfig, shards: number): string {
  const load = config.traceFile !== undefined
    ? `trace ${config.traceFile} at ${config.traceSpeed}x, at most ${config.users} in flight`
    : config.qps !== undefined
    ? `${config.qps} QPS (${config.qpsDistribution}), at most ${config.users} in flight`
    : config.burstSeconds !== undefined
    ? `${counted(config.users, "user")} in bursts every ${config.burstSeconds}s`
    : `${counted(config.users, "user")} spawned at ${config.spawnRate}/s`;
  const time = config.runTimeMs !== undefined
    ? `for ${config.runTimeMs / 1000}s`
    : config.traceFile !== undefined
    ? "until the trace is done"
    : "until Ctrl+C";
  return `Load: ${load}, ${time}, on ${counted(shards, "worker shard")}`;
}
