/**
 * The mock's prefix cache, as vLLM's automatic prefix caching keeps one: a prompt's tokens are cut
 * into blocks of `blockTokens`, each full block is named by a hash chain (the hash of its parent's
 * name and its own tokens, so a block's name stands for the whole prefix up to it), and an LRU of
 * `blocks` names remembers what was computed. A request is served from the longest run of
 * leading blocks found, then every full block of its prompt becomes the most recently used.
 * As in vLLM, at least the prompt's last token is always computed, so a prompt seen before in
 * full hits all its blocks but the one that holds its last token. Pure: no clock, no I/O.
 *
 * {@linkcode prefillMs} is the prefill time the mock adds to a reply's first token: one place for
 * what an uncached prompt token costs, for any part of the mock that schedules first tokens.
 *
 * @example
 * ```ts
 * const cache = createPrefixCache({ blocks: 1024, blockTokens: 16 });
 * cache.admit(ids); // 0: nothing was cached yet
 * cache.admit(ids); // the tokens of every full block before the last token, e.g. 48 of 50
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Size of a prefix cache. */
export interface PrefixCacheOptions {
  /** Blocks the cache holds at most (`--prefix-cache`). */
  readonly blocks: number;
  /** Tokens per block (`--prefix-cache-block`). */
  readonly blockTokens: number;
}

/** An LRU of prompt blocks keyed by their hash chain. */
export interface PrefixCache {
  /**
   * Serves a prompt of these token ids: returns how many of its leading tokens were cached (a
   * whole number of blocks), then caches every full block of it as the most recently used.
   */
  admit(tokens: ArrayLike<number>): number;
  /** Blocks held now. */
  size(): number;
}

/**
 * Creates an empty prefix cache. Throws a `RangeError` for sizes that are not whole numbers of
 * at least 1.
 */
export function createPrefixCache(options: PrefixCacheOptions): PrefixCache {
  const { blocks, blockTokens } = options;
  for (const [name, value] of Object.entries({ blocks, blockTokens })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Prefix cache ${name} must be a whole number >= 1, got ${value}`);
    }
  }
  // A Map keeps insertion order: the first key is the least recently used.
  const lru = new Map<string, true>();

  function touch(key: string): void {
    lru.delete(key);
    lru.set(key, true);
    if (lru.size > blocks) lru.delete(lru.keys().next().value!);
  }

  return {
    admit(tokens) {
      const full = Math.floor(tokens.length / blockTokens);
      // The last token is always computed: a hit may cover only the blocks before it.
      const reusable = Math.floor(Math.max(0, tokens.length - 1) / blockTokens);
      const keys = blockKeys(tokens, { blockTokens, count: full });
      let hit = 0;
      while (hit < reusable && lru.has(keys[hit])) hit++;
      for (const key of keys) touch(key);
      return hit * blockTokens;
    },
    size: () => lru.size,
  };
}

/**
 * Milliseconds of prefill for a prompt of `promptTokens` of which `cachedTokens` were cached, at
 * `usPerToken` microseconds per uncached token (`--prefill-us`).
 *
 * @example
 * ```ts
 * prefillMs(1000, { cachedTokens: 992, usPerToken: 500 }); // 4
 * ```
 */
export function prefillMs(
  promptTokens: number,
  options: { readonly cachedTokens: number; readonly usPerToken: number },
): number {
  return Math.max(0, promptTokens - options.cachedTokens) * options.usPerToken / 1000;
}

/** The hash-chain names of the first `count` blocks of `tokens`. */
function blockKeys(
  tokens: ArrayLike<number>,
  options: { blockTokens: number; count: number },
): string[] {
  const keys = new Array<string>(options.count);
  const block = new Uint32Array(options.blockTokens);
  let parent = "";
  for (let b = 0; b < options.count; b++) {
    for (let i = 0; i < options.blockTokens; i++) block[i] = tokens[b * options.blockTokens + i];
    parent = createHash("sha256").update(parent).update(block).digest("base64");
    keys[b] = parent;
  }
  return keys;
}
