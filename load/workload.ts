/**
 * How many tokens each request asks for (`max_tokens`): the seed's four distributions, truncated
 * to `[1, cap]`, plus `--max-tokens-jitter`, which the seed documented but never implemented.
 *
 * @module
 */

import type { LengthDistribution } from "../options/types.ts";
import type { Random } from "./random.ts";

/** Settings of a {@linkcode LengthSampler}, straight from the `--max-tokens*` flags. */
export interface LengthSamplerOptions {
  /** Shape of the distribution. */
  distribution: LengthDistribution;
  /** `-o`: the constant value, or the mean of the distribution. */
  mean: number;
  /** `--max-tokens-range`: width relative to `mean` (ignored by constant and exponential). */
  alpha: number;
  /** `--max-tokens-cap`: upper bound of the truncated distribution. */
  cap?: number;
  /** `--max-tokens-jitter`: each sample moves by a uniform integer in `[-jitter, +jitter]`. */
  jitter: number;
}

/** Draws `max_tokens` for successive requests. */
export interface LengthSampler {
  /** The next request's `max_tokens`: an integer in `[1, cap]`. */
  sample(): number;
  /** The distribution as the summary's "Generation Tokens" shows it, e.g. `64`. */
  describe(): string;
}

/**
 * Draws past this many out-of-range values before clamping. The seed raised an error here; a
 * cap far below the mean should still run, at the cap.
 */
const MAX_TRUNCATION_TRIES = 100;

/**
 * Creates a `max_tokens` sampler. Samples are integers; out-of-range draws are redrawn, so the
 * distribution is truncated to `[1, cap]` rather than piled up at its bounds. Jitter is added
 * after that and clamped, as it is a nudge to keep closed-loop users from marching in step.
 *
 * - constant: `mean`
 * - uniform: integers in `[mean − mean·alpha, mean + mean·alpha]`
 * - normal: `N(mean, mean·alpha)`, rounded
 * - exponential: the geometric distribution on `1, 2, …` with mean exactly `mean` (the discrete
 *   exponential; `alpha` is ignored)
 *
 * @example
 * ```ts
 * const lengths = createLengthSampler(
 *   { distribution: "normal", mean: 128, alpha: 0.3, cap: 256, jitter: 0 },
 *   createRandom(1),
 * );
 * lengths.sample(); // e.g. 117
 * lengths.describe(); // "normal(128, alpha=0.3, cap=256)"
 * ```
 */
export function createLengthSampler(options: LengthSamplerOptions, random: Random): LengthSampler {
  const { distribution, mean, alpha, cap, jitter } = options;
  if (!(mean >= 1)) throw new RangeError(`Length sampler mean must be at least 1, got ${mean}`);
  if (cap !== undefined && !(cap >= 1)) {
    throw new RangeError(`Length sampler cap must be at least 1, got ${cap}`);
  }
  const upper = cap ?? Infinity;
  const draw = drawFunction(distribution, mean, alpha, random);

  function clamp(value: number): number {
    return Math.min(Math.max(value, 1), upper);
  }

  function sample(): number {
    let value = draw();
    for (let tries = 1; (value < 1 || value > upper) && tries < MAX_TRUNCATION_TRIES; tries++) {
      value = draw();
    }
    value = clamp(value);
    if (jitter > 0) value = clamp(value + random.int(-jitter, jitter));
    return value;
  }

  function describe(): string {
    const parts = [String(mean)];
    if (distribution === "uniform" || distribution === "normal") parts.push(`alpha=${alpha}`);
    if (cap !== undefined) parts.push(`cap=${cap}`);
    if (jitter > 0) parts.push(`jitter=${jitter}`);
    if (distribution === "constant" && parts.length === 1) return parts[0];
    return `${distribution}(${parts.join(", ")})`;
  }

  return { sample, describe };
}

function drawFunction(
  distribution: LengthDistribution,
  mean: number,
  alpha: number,
  random: Random,
): () => number {
  switch (distribution) {
    case "constant": {
      const value = Math.round(mean);
      return () => value;
    }
    case "uniform": {
      // Integer bounds symmetric around the mean keep the mean exact.
      const lo = Math.ceil(mean - mean * alpha);
      const hi = Math.floor(mean + mean * alpha);
      return () => random.int(lo, hi);
    }
    case "normal":
      return () => Math.round(random.normal(mean, mean * alpha));
    case "exponential": {
      if (mean <= 1) return () => 1;
      // ceil(Exp(scale)) is geometric on 1, 2, … with P(X > k) = exp(-k/scale); this scale
      // makes its mean exactly `mean`, where rounding a continuous draw would be off by ~0.5.
      const scale = -1 / Math.log(1 - 1 / mean);
      return () => Math.ceil(random.exponential(scale));
    }
    default:
      throw new RangeError(`Unknown length distribution '${distribution satisfies never}'`);
  }
}
