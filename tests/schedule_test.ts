import assert from "node:assert/strict";
import { createRandom } from "../load/random.ts";
import {
  type ArrivalOptions,
  createArrivals,
  nextBurstOffset,
  spawnOffset,
  usersNeeded,
} from "../load/schedule.ts";
import type { ArrivalDistribution } from "../options/types.ts";

function take(options: ArrivalOptions, count: number, seed = 1): number[] {
  const arrivals = createArrivals(options, createRandom(seed));
  return Array.from({ length: count }, () => arrivals.next());
}

/** Merged send offsets of all shards up to `horizonMs`. */
function union(
  distribution: ArrivalDistribution,
  qps: number,
  shardCount: number,
  horizonMs: number,
): number[] {
  const all: number[] = [];
  for (let shardIndex = 0; shardIndex < shardCount; shardIndex++) {
    const arrivals = createArrivals(
      { qps, distribution, shardIndex, shardCount },
      createRandom(100 + shardIndex),
    );
    for (let offset = arrivals.next(); offset < horizonMs; offset = arrivals.next()) {
      all.push(offset);
    }
  }
  return all.sort((a, b) => a - b);
}

function meanGap(offsets: number[]): number {
  return (offsets[offsets.length - 1] - offsets[0]) / (offsets.length - 1);
}

Deno.test("users are spawned at spawnRate per second from t0", () => {
  assert.equal(spawnOffset(0, 2), 0);
  assert.equal(spawnOffset(1, 2), 500);
  assert.equal(spawnOffset(5, 2), 2500);
  assert.equal(spawnOffset(3, 0.5), 6000);
  assert.equal(spawnOffset(1000, Infinity), 0);
  assert.throws(() => spawnOffset(1, 0), RangeError);
});

Deno.test("constant arrivals on one shard are exactly 1000/qps apart from 0", () => {
  const offsets = take({ qps: 8, distribution: "constant", shardIndex: 0, shardCount: 1 }, 1000);
  offsets.forEach((offset, k) => assert.equal(offset, k * 125));
});

Deno.test("constant arrivals of all shards interleave into exactly the global timeline", () => {
  for (const shardCount of [2, 3, 7]) {
    const qps = 30;
    const merged = union("constant", qps, shardCount, 60_000);
    assert.equal(merged.length, 1800);
    merged.forEach((offset, k) => assert.equal(offset, k * (1000 / qps)));
  }
  const second = take({ qps: 10, distribution: "constant", shardIndex: 1, shardCount: 2 }, 3);
  assert.deepEqual(second, [100, 300, 500]);
});

Deno.test("constant arrivals do not drift over a long run", () => {
  const arrivals = createArrivals(
    { qps: 3, distribution: "constant", shardIndex: 0, shardCount: 1 },
    createRandom(1),
  );
  let last = 0;
  for (let k = 0; k <= 3 * 3600 * 24; k++) last = arrivals.next();
  assert.equal(last, 86_400_000);
});

Deno.test("exponential arrivals have mean gap shardCount*1000/qps and Poisson spread", () => {
  const offsets = take(
    { qps: 50, distribution: "exponential", shardIndex: 2, shardCount: 4 },
    20_000,
  );
  const gaps = offsets.map((offset, i) => offset - (i === 0 ? 0 : offsets[i - 1]));
  assert.ok(gaps.every((gap) => gap >= 0));
  const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / gaps.length);
  assert.ok(Math.abs(mean - 80) < 80 * 0.03, `mean ${mean}`);
  assert.ok(Math.abs(sd / mean - 1) < 0.05, `coefficient of variation ${sd / mean}`);
});

Deno.test("the union of Poisson shard streams hits the total rate and is Poisson itself", () => {
  const qps = 400;
  const horizonMs = 60_000;
  const merged = union("exponential", qps, 6, horizonMs);
  const expected = (qps * horizonMs) / 1000;
  assert.ok(Math.abs(merged.length - expected) < expected * 0.02, `${merged.length}`);
  const gaps = merged.slice(1).map((offset, i) => offset - merged[i]);
  const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / gaps.length);
  assert.ok(Math.abs(sd / mean - 1) < 0.05, `coefficient of variation ${sd / mean}`);
});

Deno.test("uniform arrivals have gaps in [0, 2*mean gap] and the target rate", () => {
  const offsets = take({ qps: 20, distribution: "uniform", shardIndex: 0, shardCount: 2 }, 20_000);
  const gaps = offsets.map((offset, i) => offset - (i === 0 ? 0 : offsets[i - 1]));
  assert.ok(gaps.every((gap) => gap >= 0 && gap < 200));
  assert.ok(Math.max(...gaps) > 199 && Math.min(...gaps) < 1);
  assert.ok(Math.abs(meanGap([0, ...offsets]) - 100) < 1.5, `mean ${meanGap([0, ...offsets])}`);

  const merged = union("uniform", 100, 4, 120_000);
  assert.ok(Math.abs(merged.length - 12_000) < 12_000 * 0.02, `${merged.length}`);
});

Deno.test("arrivals never go back in time", () => {
  for (const distribution of ["constant", "uniform", "exponential"] as const) {
    const offsets = take({ qps: 1000, distribution, shardIndex: 0, shardCount: 3 }, 5000);
    assert.ok(offsets.every((offset, i) => i === 0 || offset >= offsets[i - 1]), distribution);
  }
});

Deno.test("seeded arrivals are reproducible", () => {
  const options = { qps: 5, distribution: "exponential", shardIndex: 0, shardCount: 1 } as const;
  assert.deepEqual(take(options, 50, 3), take(options, 50, 3));
  assert.notDeepEqual(take(options, 50, 3), take(options, 50, 4));
});

Deno.test("bad arrival settings are refused", () => {
  const random = createRandom(1);
  const base = { qps: 1, distribution: "constant", shardIndex: 0, shardCount: 1 } as const;
  assert.throws(() => createArrivals({ ...base, qps: 0 }, random), RangeError);
  assert.throws(() => createArrivals({ ...base, shardCount: 0 }, random), RangeError);
  assert.throws(() => createArrivals({ ...base, shardIndex: 1 }, random), RangeError);
});

Deno.test("burst boundaries are multiples of the period at or after now", () => {
  assert.equal(nextBurstOffset(0, 5000), 0);
  assert.equal(nextBurstOffset(1, 5000), 5000);
  assert.equal(nextBurstOffset(4999.9, 5000), 5000);
  assert.equal(nextBurstOffset(5000, 5000), 5000);
  assert.equal(nextBurstOffset(7300, 5000), 10_000);
  assert.equal(nextBurstOffset(-20, 5000), 0);
  assert.equal(nextBurstOffset(250, 100), 300);
  // Two shards asking at different moments within one period meet at the same boundary.
  assert.equal(nextBurstOffset(10_001, 2500), nextBurstOffset(12_499, 2500));
  assert.throws(() => nextBurstOffset(1, 0), RangeError);
});

Deno.test("usersNeeded applies Little's law, rounding up", () => {
  assert.equal(usersNeeded(20, 1500), 30);
  assert.equal(usersNeeded(10, 250), 3);
  assert.equal(usersNeeded(1, 1), 1);
  assert.equal(usersNeeded(0.5, 10_000), 5);
  assert.equal(usersNeeded(17.6, 3125), 55);
  assert.equal(usersNeeded(10, 0), 0);
});
