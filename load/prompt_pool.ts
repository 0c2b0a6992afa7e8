/**
 * The prepared prompts a shard draws from: dataset rows or generated prompts of drawn lengths,
 * built and counted before the load, held as plain arrays so they post to Workers by structured
 * clone. Drawing is an index step, no encoding, so the hot path costs the same as a fixed
 * prompt. Also the token spread of a pool (`workload` in the results). Pure apart from the
 * tokenizer's work in {@linkcode randomizedPrompts}.
 *
 * @module
 */
import type { ChatMessage, Sample } from "../providers/types.ts";
import type { Random } from "./random.ts";
import { createPromptSource } from "./prompt.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** A slice of the pool drawn with its own weight: one `--dataset` file of a mix. */
export interface PoolGroup {
  /** Index of its first prompt. */
  readonly start: number;
  /** How many prompts it has. */
  readonly count: number;
  /** Relative share of requests. */
  readonly weight: number;
}

/** Prompts prepared before the load. Parallel arrays, one entry per prompt. */
export interface PromptPool {
  /** The prompt texts. */
  readonly prompts: readonly string[];
  /** Each prompt's tokens under the run's tokenizer, special tokens included. */
  readonly promptTokens: readonly number[];
  /** Each prompt's own `max_tokens`, 0 where the `-o` sampler decides. */
  readonly maxTokens: readonly number[];
  /** Each prompt's chat history (`null` for a plain prompt); absent when none has one. */
  readonly messages?: readonly (readonly ChatMessage[] | null)[];
  /** Each prompt's images as `data:` URLs (`null` for none); absent when none has any. */
  readonly images?: readonly (readonly string[] | null)[];
  /**
   * With `--prefix-tokens`: the shared prefixes, which one each prompt starts with, and the
   * tokens of the suffix each was built with (a space and a generated prompt follow the prefix).
   */
  readonly prefix?: {
    readonly texts: readonly string[];
    readonly of: readonly number[];
    readonly suffixTokens: readonly number[];
  };
  /** Weighted slices; one covering the pool when it is not a mix. */
  readonly groups: readonly PoolGroup[];
  /** `cycle`: in order (datasets, each shard its own stride); `random`: uniform draws. */
  readonly order: "cycle" | "random";
}

/** A pool's prompt draw: the next request's prompt and what it brings along. */
export interface PoolDraw {
  /** Index of the next prompt in the pool. */
  next(): number;
}

/**
 * Draws prompt indices from a pool. In `cycle` order shard `shardIndex` of `shardCount` takes
 * rows `shardIndex, shardIndex + shardCount, …` of each group, so the shards together send every
 * row once before any row repeats; a mix first picks a group by weight. `random` order draws
 * uniformly.
 *
 * @example
 * ```ts
 * const draw = createPoolDraw(pool, createRandom(1), { shardIndex: 0, shardCount: 2 });
 * pool.prompts[draw.next()];
 * ```
 */
export function createPoolDraw(
  pool: PromptPool,
  random: Random,
  shard: { shardIndex: number; shardCount: number },
): PoolDraw {
  const { groups } = pool;
  if (pool.order === "random") {
    const size = pool.prompts.length;
    return { next: () => random.int(0, size - 1) };
  }
  const cursors = groups.map(() => shard.shardIndex);
  const totalWeight = groups.reduce((sum, group) => sum + group.weight, 0);
  function pickGroup(): number {
    if (groups.length === 1) return 0;
    let point = random.next() * totalWeight;
    for (let index = 0; index < groups.length - 1; index++) {
      point -= groups[index].weight;
      if (point < 0) return index;
    }
    return groups.length - 1;
  }
  return {
    next() {
      const index = pickGroup();
      const group = groups[index];
      const row = cursors[index] % group.count;
      cursors[index] += shard.shardCount;
      return group.start + row;
    },
  };
}

/**
 * The sample of pool entry `index`: its prompt, its messages, its `max_tokens` or `fallback`,
 * its images.
 */
export function poolSample(pool: PromptPool, index: number, fallback: () => number): Sample {
  const messages = pool.messages?.[index];
  const maxTokens = pool.maxTokens[index] || fallback();
  const images = pool.images?.[index];
  const sample: Sample = messages
    ? { prompt: pool.prompts[index], messages, maxTokens }
    : { prompt: pool.prompts[index], maxTokens };
  return images ? { ...sample, images } : sample;
}

/**
 * `--prompt-randomize` over a generated pool: entry `index`'s prompt with fresh random padding
 * on every call, at the same length (after the same shared prefix). One prompt source per
 * distinct length, built here, before the load.
 */
export function randomizedPrompts(
  pool: PromptPool,
  tokenizer: Tokenizer,
  random: Random,
): (index: number) => string {
  const { prefix } = pool;
  const lengths = prefix?.suffixTokens ?? pool.promptTokens;
  const sources = new Map<number, () => string>();
  for (const tokens of new Set(lengths)) {
    sources.set(tokens, createPromptSource(tokens, tokenizer, { random }).next);
  }
  if (prefix === undefined) return (index) => sources.get(lengths[index])!();
  return (index) => `${prefix.texts[prefix.of[index]]} ${sources.get(lengths[index])!()}`;
}

/** Prompt-token percentiles of a pool. */
export interface TokenSpread {
  /** Shortest prompt. */
  readonly min: number;
  /** Median prompt. */
  readonly p50: number;
  /** 90th percentile. */
  readonly p90: number;
  /** Longest prompt. */
  readonly max: number;
}

/**
 * Nearest-rank percentiles of prompt lengths; all 0 for none.
 *
 * @example
 * ```ts
 * tokenSpread([3, 1, 2]); // { min: 1, p50: 2, p90: 3, max: 3 }
 * ```
 */
export function tokenSpread(tokens: readonly number[]): TokenSpread {
  if (tokens.length === 0) return { min: 0, p50: 0, p90: 0, max: 0 };
  const sorted = [...tokens].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  return { min: sorted[0], p50: rank(0.5), p90: rank(0.9), max: sorted[sorted.length - 1] };
}
