/**
 * A small seeded random source, so a workload given `--seed` is reproducible and tests are exact.
 * The generator is sfc32 (fast, 128-bit state, passes PractRand far beyond what a load test
 * draws), its state filled from the seed by splitmix32 so nearby seeds give unrelated streams.
 *
 * @module
 */

/** A source of random numbers. Not cryptographic. */
export interface Random {
  /** A float in `[0, 1)`. */
  next(): number;
  /** A float in `[lo, hi)`. */
  uniform(lo: number, hi: number): number;
  /** An integer in `[lo, hi]`, both ends included. */
  int(lo: number, hi: number): number;
  /** A normal variate with the given mean and standard deviation. */
  normal(mean: number, sd: number): number;
  /** An exponential variate with the given mean (not rate). */
  exponential(mean: number): number;
}

/**
 * Creates a seeded random source. The same seed always gives the same sequence.
 *
 * @example
 * ```ts
 * const random = createRandom(42);
 * const delay = random.exponential(100); // ms, mean 100
 * ```
 */
export function createRandom(seed: number): Random {
  const mix = splitmix32(seed >>> 0);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  // Box–Muller yields two independent normals; keeping the second halves the cost.
  let spareNormal: number | undefined;

  function next(): number {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  function uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * next();
  }

  function int(lo: number, hi: number): number {
    return lo + Math.floor(next() * (hi - lo + 1));
  }

  function normal(mean: number, sd: number): number {
    if (spareNormal !== undefined) {
      const z = spareNormal;
      spareNormal = undefined;
      return mean + sd * z;
    }
    // 1 - next() is in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    const angle = 2 * Math.PI * next();
    spareNormal = radius * Math.sin(angle);
    return mean + sd * radius * Math.cos(angle);
  }

  function exponential(mean: number): number {
    return -mean * Math.log(1 - next());
  }

  // sfc32 needs a few rounds before its output stops resembling the seed.
  for (let i = 0; i < 12; i++) next();
  return { next, uniform, int, normal, exponential };
}

/** A fresh 32-bit seed from the system's secure source, for runs without `--seed`. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * Derives the seed of an independent stream (one per shard, say) from a run's seed, so shards of
 * a seeded run neither repeat each other's draws nor depend on the shard count.
 *
 * @example
 * ```ts
 * const random = createRandom(deriveSeed(config.seed, shardIndex));
 * ```
 */
export function deriveSeed(seed: number, stream: number): number {
  const mix = splitmix32((seed >>> 0) ^ Math.imul(stream + 1, 0x9e3779b9));
  return mix();
}

function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return function splitmixNext(): number {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}
