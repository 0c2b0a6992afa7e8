/**
 * How the load is split across Web Worker shards: how many shards, and which users each runs.
 *
 * @module
 */

/** Users one shard handles comfortably before another core helps. */
const USERS_PER_SHARD = 64;
/** Requests per second one shard sends comfortably before another core helps. */
const QPS_PER_SHARD = 200;

/** Settings of {@linkcode autoWorkerCount}. */
export interface AutoWorkerOptions {
  /** Cores available (`navigator.hardwareConcurrency`). */
  cores: number;
  /** `-u`: closed-loop users, or the in-flight cap in fixed-QPS mode. */
  users: number;
  /** `--qps`, in fixed-QPS mode. */
  qps?: number;
}

/**
 * The number of shards for `--workers 0`: one per 64 users in closed-loop mode, one per 200 QPS
 * in fixed-QPS mode, at least 1 and at most the core count. In fixed-QPS mode `-u` is only a cap
 * (often set high "just in case"), so the rate decides; the shard count still never exceeds the
 * users, since each shard needs at least one user of the cap.
 *
 * @example
 * ```ts
 * autoWorkerCount({ cores: 8, users: 100 }); // 2
 * autoWorkerCount({ cores: 8, users: 1000, qps: 50 }); // 1
 * ```
 */
export function autoWorkerCount(options: AutoWorkerOptions): number {
  const { cores, users, qps } = options;
  const wanted = qps === undefined
    ? Math.ceil(users / USERS_PER_SHARD)
    : Math.ceil(qps / QPS_PER_SHARD);
  return Math.max(1, Math.min(wanted, Math.floor(cores), Math.floor(users)));
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
