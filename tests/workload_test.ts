import assert from "node:assert/strict";
import { createRandom } from "../load/random.ts";
import { createLengthSampler, type LengthSamplerOptions } from "../load/workload.ts";

const SAMPLES = 20_000;

function samples(options: Partial<LengthSamplerOptions>, seed = 1): number[] {
  const sampler = createLengthSampler(
    { distribution: "constant", mean: 64, alpha: 0.3, jitter: 0, ...options },
    createRandom(seed),
  );
  return Array.from({ length: SAMPLES }, () => sampler.sample());
}

function stats(values: number[]): { mean: number; sd: number; min: number; max: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length);
  return { mean, sd, min: Math.min(...values), max: Math.max(...values) };
}

Deno.test("constant gives the mean every time", () => {
  const values = samples({ distribution: "constant", mean: 128 });
  assert.ok(values.every((value) => value === 128));
});

Deno.test("uniform spans [mean - mean*alpha, mean + mean*alpha] with the asked mean", () => {
  const values = samples({ distribution: "uniform", mean: 64, alpha: 0.3 });
  const { mean, min, max } = stats(values);
  assert.equal(min, 45); // ceil(64 - 19.2)
  assert.equal(max, 83); // floor(64 + 19.2)
  assert.ok(values.every(Number.isInteger));
  assert.ok(Math.abs(mean - 64) < 0.3, `mean ${mean}`);
});

Deno.test("normal has mean `mean` and standard deviation mean*alpha", () => {
  const values = samples({ distribution: "normal", mean: 200, alpha: 0.2 });
  const { mean, sd } = stats(values);
  assert.ok(values.every((value) => Number.isInteger(value) && value >= 1));
  assert.ok(Math.abs(mean - 200) < 1, `mean ${mean}`);
  assert.ok(Math.abs(sd - 40) < 1, `sd ${sd}`);
});

Deno.test("exponential has mean `mean`, starts at 1 and ignores alpha", () => {
  const values = samples({ distribution: "exponential", mean: 64, alpha: 5 });
  const { mean, sd, min } = stats(values);
  assert.equal(min, 1);
  assert.ok(Math.abs(mean - 64) < 2, `mean ${mean}`);
  // Geometric with mean m has standard deviation sqrt(m(m - 1)).
  assert.ok(Math.abs(sd - Math.sqrt(64 * 63)) < 2, `sd ${sd}`);
});

Deno.test("cap truncates: values stay in [1, cap] and the shape is redrawn, not piled up", () => {
  const values = samples({ distribution: "exponential", mean: 64, cap: 100 });
  const { mean, min, max } = stats(values);
  assert.equal(min, 1);
  assert.equal(max, 100);
  // Mean of the geometric(1/64) distribution truncated to [1, 100].
  const q = 1 - 1 / 64;
  let weight = 0;
  let total = 0;
  for (let k = 1; k <= 100; k++) {
    weight += q ** (k - 1);
    total += k * q ** (k - 1);
  }
  assert.ok(Math.abs(mean - total / weight) < 1, `mean ${mean} vs ${total / weight}`);
  // Clamping would put ~21% of samples at 100; truncation leaves about 1/100 of the mass.
  const atCap = values.filter((value) => value === 100).length / values.length;
  assert.ok(atCap < 0.02, `share at cap ${atCap}`);
});

Deno.test("the lower bound is 1: a wide normal is truncated there", () => {
  const values = samples({ distribution: "normal", mean: 10, alpha: 1 });
  const { mean, min } = stats(values);
  assert.equal(min, 1);
  assert.ok(values.every(Number.isInteger));
  // Cutting off the left tail moves the mean up (truncated N(10, 10) at 0.5 has mean ~13).
  assert.ok(mean > 12 && mean < 14.5, `mean ${mean}`);
});

Deno.test("a cap below every possible draw clamps to the cap instead of failing", () => {
  assert.ok(samples({ distribution: "constant", mean: 64, cap: 32 }).every((v) => v === 32));
  const uniform = samples({ distribution: "uniform", mean: 100, alpha: 0.1, cap: 50 });
  assert.ok(uniform.every((value) => value === 50));
});

Deno.test("jitter adds a uniform integer in [-J, +J]", () => {
  const values = samples({ distribution: "constant", mean: 64, jitter: 8 });
  const { mean, min, max } = stats(values);
  assert.equal(min, 56);
  assert.equal(max, 72);
  assert.equal(new Set(values).size, 17);
  assert.ok(Math.abs(mean - 64) < 0.2, `mean ${mean}`);
});

Deno.test("jitter stays within [1, cap]", () => {
  const capped = stats(samples({ distribution: "constant", mean: 64, cap: 66, jitter: 8 }));
  assert.equal(capped.max, 66);
  assert.equal(capped.min, 56);
  const low = stats(samples({ distribution: "constant", mean: 2, jitter: 5 }));
  assert.equal(low.min, 1);
  assert.equal(low.max, 7);
});

Deno.test("jitter desynchronises closed-loop users that would otherwise finish in step", () => {
  // Eight users, each sending 30 requests back to back; a request lasts one ms per token.
  function finishTimes(jitter: number): number[] {
    const sampler = createLengthSampler(
      { distribution: "constant", mean: 64, alpha: 0, jitter },
      createRandom(9),
    );
    const clocks = new Array(8).fill(0);
    for (let round = 0; round < 30; round++) {
      for (let user = 0; user < clocks.length; user++) clocks[user] += sampler.sample();
    }
    return clocks;
  }
  const steady = finishTimes(0);
  assert.equal(new Set(steady).size, 1);
  const jittered = finishTimes(8);
  assert.ok(new Set(jittered).size >= 4, `${jittered}`);
  // Thirty draws of ±8 spread the users by tens of ms (one user's sd is ~27).
  assert.ok(Math.max(...jittered) - Math.min(...jittered) > 20, `${jittered}`);
});

Deno.test("the same seed gives the same lengths", () => {
  const options = { distribution: "normal", mean: 64, jitter: 4 } as const;
  assert.deepEqual(samples(options, 5), samples(options, 5));
  assert.notDeepEqual(samples(options, 5), samples(options, 6));
});

Deno.test("describe() names what the summary shows", () => {
  function describe(options: Partial<LengthSamplerOptions>): string {
    return createLengthSampler(
      { distribution: "constant", mean: 64, alpha: 0.3, jitter: 0, ...options },
      createRandom(1),
    ).describe();
  }
  assert.equal(describe({}), "64");
  assert.equal(describe({ distribution: "uniform", cap: 100 }), "uniform(64, alpha=0.3, cap=100)");
  assert.equal(describe({ distribution: "normal", alpha: 0.5 }), "normal(64, alpha=0.5)");
  assert.equal(describe({ distribution: "exponential", alpha: 0.5 }), "exponential(64)");
  assert.equal(describe({ jitter: 8 }), "constant(64, jitter=8)");
  assert.equal(describe({ cap: 32 }), "constant(64, cap=32)");
});

Deno.test("a mean or cap below 1 is refused", () => {
  const random = createRandom(1);
  assert.throws(
    () => createLengthSampler({ distribution: "constant", mean: 0, alpha: 0, jitter: 0 }, random),
    RangeError,
  );
  assert.throws(
    () =>
      createLengthSampler({ distribution: "normal", mean: 8, alpha: 0, cap: 0, jitter: 0 }, random),
    RangeError,
  );
});
