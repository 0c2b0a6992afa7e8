import assert from "node:assert/strict";
import { createRandom, deriveSeed, randomSeed } from "../load/random.ts";

const SAMPLES = 20_000;

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function draw(count: number, fn: () => number): number[] {
  return Array.from({ length: count }, fn);
}

Deno.test("the same seed gives the same sequence, another seed another", () => {
  const a = createRandom(42);
  const b = createRandom(42);
  const c = createRandom(43);
  const fromA = draw(100, () => a.next());
  assert.deepEqual(draw(100, () => b.next()), fromA);
  assert.notDeepEqual(draw(100, () => c.next()), fromA);
});

Deno.test("next() stays in [0, 1) with mean 1/2", () => {
  const random = createRandom(1);
  const values = draw(SAMPLES, () => random.next());
  assert.ok(values.every((value) => value >= 0 && value < 1));
  assert.ok(Math.abs(mean(values) - 0.5) < 0.01, `mean ${mean(values)}`);
});

Deno.test("int() covers both ends of its range and nothing outside", () => {
  const random = createRandom(2);
  const counts = new Map<number, number>();
  for (const value of draw(SAMPLES, () => random.int(-3, 3))) {
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort((x, y) => x - y), [-3, -2, -1, 0, 1, 2, 3]);
  for (const count of counts.values()) assert.ok(Math.abs(count - SAMPLES / 7) < 300, `${count}`);
  assert.equal(random.int(5, 5), 5);
});

Deno.test("uniform() stays in [lo, hi) with the middle as mean", () => {
  const random = createRandom(3);
  const values = draw(SAMPLES, () => random.uniform(10, 30));
  assert.ok(values.every((value) => value >= 10 && value < 30));
  assert.ok(Math.abs(mean(values) - 20) < 0.2, `mean ${mean(values)}`);
});

Deno.test("normal() has the asked mean and standard deviation", () => {
  const random = createRandom(4);
  const values = draw(SAMPLES, () => random.normal(100, 15));
  const m = mean(values);
  const sd = Math.sqrt(mean(values.map((value) => (value - m) ** 2)));
  assert.ok(Math.abs(m - 100) < 0.5, `mean ${m}`);
  assert.ok(Math.abs(sd - 15) < 0.5, `sd ${sd}`);
});

Deno.test("exponential() has the asked mean and is never negative", () => {
  const random = createRandom(5);
  const values = draw(SAMPLES, () => random.exponential(50));
  assert.ok(values.every((value) => value >= 0 && Number.isFinite(value)));
  assert.ok(Math.abs(mean(values) - 50) < 1.5, `mean ${mean(values)}`);
});

Deno.test("randomSeed() gives 32-bit unsigned integers that vary", () => {
  const seeds = draw(8, randomSeed);
  assert.ok(seeds.every((seed) => Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32));
  assert.ok(new Set(seeds).size > 1);
});

Deno.test("deriveSeed() is stable per stream and distinct across streams", () => {
  assert.equal(deriveSeed(7, 3), deriveSeed(7, 3));
  const streams = new Set(Array.from({ length: 64 }, (_, stream) => deriveSeed(7, stream)));
  assert.equal(streams.size, 64);
  assert.notEqual(deriveSeed(7, 0), deriveSeed(8, 0));
  const first = createRandom(deriveSeed(7, 0)).next();
  assert.notEqual(createRandom(deriveSeed(7, 1)).next(), first);
});
