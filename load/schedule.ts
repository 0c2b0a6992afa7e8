/**
 * When to send: user spawn times, fixed-QPS arrival times and burst boundaries. Pure arithmetic
 * on millisecond offsets from the run's start `t0`; the clock is never read here, so the caller
 * can compute send times ahead, wake once and send everything due.
 *
 * @module
 */

import type { ArrivalDistribution } from "../options/types.ts";
import type { Random } from "./random.ts";

/**
 * When user `userIndex` (0-based, global across shards) starts, in ms after `t0`, for users
 * spawned at `spawnRate` per second. The first user starts at once.
 *
 * @example
 * ```ts
 * spawnOffset(5, 2); // 2500
 * ```
 */
export function spawnOffset(userIndex: number, spawnRate: number): number {
  if (!(spawnRate > 0)) throw new RangeError(`Spawn rate must be positive, got ${spawnRate}`);
  return (userIndex * 1000) / spawnRate;
}

/** Settings of {@linkcode createArrivals}. */
export interface ArrivalOptions {
  /** Total requests per second over all shards. */
  qps: number;
  /** Spacing of sends. */
  distribution: ArrivalDistribution;
  /** This shard's index, `0 <= shardIndex < shardCount`. */
  shardIndex: number;
  /** Number of shards sharing the load. */
  shardCount: number;
}

/** A shard's intended send times. */
export interface Arrivals {
  /** The next intended send, in ms after `t0`; never decreasing. */
  next(): number;
}

/**
 * Creates one shard's stream of intended send offsets. Together the shards' streams make the
 * target rate:
 * - constant: the global timeline `k · 1000/qps`; shard `s` takes every `k ≡ s (mod shardCount)`,
 *   so the shards interleave into exactly that timeline, starting at 0.
 * - exponential: a Poisson stream of rate `qps/shardCount` per shard; independent Poisson
 *   streams add up to one of rate `qps`.
 * - uniform: gaps uniform in `[0, 2·mean gap]` at the shard's rate (the seed's `uniform`).
 *
 * @example
 * ```ts
 * const arrivals = createArrivals(
 *   { qps: 10, distribution: "constant", shardIndex: 1, shardCount: 2 },
 *   createRandom(1),
 * );
 * arrivals.next(); // 100
 * arrivals.next(); // 300
 * ```
 */
export function createArrivals(options: ArrivalOptions, random: Random): Arrivals {
  const { qps, distribution, shardIndex, shardCount } = options;
  if (!(qps > 0) || !Number.isFinite(qps)) {
    throw new RangeError(`Arrival rate must be positive, got ${qps}`);
  }
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`Shard count must be a positive integer, got ${shardCount}`);
  }
  if (!Number.isInteger(shardIndex) || shardIndex < 0 || shardIndex >= shardCount) {
    throw new RangeError(`Shard index must be in [0, ${shardCount}), got ${shardIndex}`);
  }
  const globalGap = 1000 / qps;
  const shardGap = globalGap * shardCount;

  switch (distribution) {
    case "constant": {
      let k = shardIndex;
      return {
        next() {
          // Multiplying afresh, not summing gaps, keeps hours-long runs free of drift.
          const offset = k * globalGap;
          k += shardCount;
          return offset;
        },
      };
    }
    case "exponential": {
      let offset = 0;
      return {
        next() {
          offset += random.exponential(shardGap);
          return offset;
        },
      };
    }
    case "uniform": {
      let offset = 0;
      return {
        next() {
          offset += random.uniform(0, 2 * shardGap);
          return offset;
        },
      };
    }
    default:
      throw new RangeError(`Unknown arrival distribution '${distribution satisfies never}'`);
  }
}

/**
 * The first burst boundary `k · periodMs` at or after `nowOffset`. Boundaries sit on the absolute
 * timeline from `t0`, so every shard fires its users at the same instants.
 *
 * @example
 * ```ts
 * nextBurstOffset(0, 5000); // 0
 * nextBurstOffset(7300, 5000); // 10000
 * ```
 */
export function nextBurstOffset(nowOffset: number, periodMs: number): number {
  if (!(periodMs > 0)) throw new RangeError(`Burst period must be positive, got ${periodMs}`);
  return Math.max(0, Math.ceil(nowOffset / periodMs)) * periodMs;
}

/**
 * How many requests are in flight at `qps` when each takes `meanLatencyMs` (Little's law),
 * rounded up: fewer users than this and `-u` caps the rate below the target.
 *
 * @example
 * ```ts
 * usersNeeded(20, 1500); // 30
 * usersNeeded(17.6, 3125); // 55, not 56 from the float product 55.00000000000001
 * ```
 */
export function usersNeeded(qps: number, meanLatencyMs: number): number {
  // The tolerance absorbs float error in the product, which would otherwise round up a whole.
  return Math.max(0, Math.ceil((qps * meanLatencyMs) / 1000 - 1e-9));
}

/**
 * When a trace request is sent, in ms after `t0`: its offset in the replayed slice, divided by
 * the replay speed (2 replays twice as fast).
 *
 * @example
 * ```ts
 * traceSendOffset(3000, 2); // 1500
 * ```
 */
export function traceSendOffset(offsetMs: number, speed: number): number {
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new RangeError(`Trace speed must be positive, got ${speed}`);
  }
  return offsetMs / speed;
}
