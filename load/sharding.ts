/**
 * How the load is split across Web Worker shards: how many shards, and which users each runs.
 * A process that is itself one shard of several (`--shard I/N`) splits its share the same way:
 * its Workers take the global shard indices {@linkcode workerShard} gives them, so every rule
 * below (users, QPS timeline, trace rows, dataset rows, `--max-requests`) splits across
 * processes and Workers at once, with no second rule.
 *
 * @module
 */
import type { ShardSpec } from "../options/shard_parsers.ts";

/** Settings of {@linkcode autoWorkerCount}. */
export interface AutoWorkerOptions {
  /**
   * Cores this process may use: `navigator.hardwareConcurrency`, which in Deno 2.9 already
   * follows the CPU affinity (1 under `taskset -c 0`, as `node:os` `availableParallelism()`).
   */
  cores: number;
  /** `-u`: closed-loop users, or the in-flight cap in fixed-QPS mode. */
  users: number;
}

/**
 * The number of shards for `--workers 0`: one per core, so a burst or a fast arrival stream is
 * split over every core from the start instead of saturating one; at least 1, and never more
 * than the users, since each shard needs at least one user (or one slot of the in-flight cap).
 *
 * @example
 * ```ts
 * autoWorkerCount({ cores: 8, users: 100 }); // 8
 * autoWorkerCount({ cores: 8, users: 3 }); // 3
 * ```
 */
export function autoWorkerCount(options: AutoWorkerOptions): number {
  const { cores, users } = options;
  return Math.max(1, Math.min(Math.floor(cores), Math.floor(users)));
}

/**
 * The global indices of the users shard `shardIndex` runs: every `i ≡ shardIndex (mod
 * shardCount)`. Interleaving keeps shard sizes within one of each other and spreads the spawn
 * order evenly, so every shard ramps up at the same pace.
 *
 * @example
 * ```ts
 * shardUsers(10, 1, 4); // [1, 5, 9]
 * ```
 */
export function shardUsers(users: number, shardIndex: number, shardCount: number): number[] {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`Shard count must be a positive integer, got ${shardCount}`);
  }
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= shardCount) {
    throw new RangeError(`Shard index must be in [0, ${shardCount}), got ${shardIndex}`);
  }
  const indices: number[] = [];
  for (let i = shardIndex; i < users; i += shardCount) indices.push(i);
  return indices;
}

/**
 * The place of Worker `worker` of `workers` among all the run's shards when this process is
 * shard `process.index` of `process.count` (`--shard`): index `process.index + process.count ·
 * worker` of `process.count · workers`. Those indices are exactly the process's own indices
 * (`≡ process.index mod process.count`) split again over its Workers, so the processes need
 * not have the same number of Workers for their shares to be disjoint and to cover the load.
 * Without `process`, Worker `worker` of `workers` as it is.
 *
 * @example
 * ```ts
 * workerShard({ index: 1, count: 4 }, 2, 3); // { shardIndex: 9, shardCount: 12 }
 * ```
 */
export function workerShard(
  process: ShardSpec | undefined,
  worker: number,
  workers: number,
): { shardIndex: number; shardCount: number } {
  const { index, count } = process ?? { index: 0, count: 1 };
  return { shardIndex: index + count * worker, shardCount: count * workers };
}

/**
 * How many of `total` items (users, requests, trace rows) `shard` runs under the interleaved
 * split of {@linkcode shardUsers}; `total` without a shard.
 *
 * @example
 * ```ts
 * shareOf(10, { index: 1, count: 4 }); // 3
 * ```
 */
export function shareOf(total: number, shard: ShardSpec | undefined): number {
  if (shard === undefined) return total;
  return Math.max(0, Math.ceil((total - shard.index) / shard.count));
}
