/**
 * Prompts of trace requests: a request's `hash_ids` blocks in order, then filler words up to its
 * `input_length`. Each block id stands for a fixed 512-token text (the same in every shard and
 * every run), so requests that share blocks share their prompt prefix exactly and a server's
 * prefix cache sees what production saw; the filler of each request is its own, so nothing else
 * is shared. Everything is made of words that are one token after a space, which never merge,
 * so a prompt's token count is its word count: prompts are built by string concatenation at
 * send time, without encoding.
 *
 * @module
 */
import { PROMPT_REQUEST } from "./prompt.ts";
import { createRandom } from "./random.ts";
import type { Random } from "./random.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { TRACE_BLOCK_TOKENS } from "./trace.ts";

/** Blocks kept built per shard; beyond that the least recently added are built again. */
const BLOCK_CACHE_SIZE = 4096;

/** Words in the filler pool a request's filler is cut from. */
const FILLER_WORDS = 1 << 16;

/** Builds the prompts of trace requests. */
export interface TracePrompts {
  /** The prompt of `inputLength` tokens (special tokens included) that starts with `blocks`. */
  prompt(blocks: ArrayLike<number>, inputLength: number): string;
}

/** A text of words, each with the offset where it ends, so it can be cut after any word. */
interface Words {
  readonly text: string;
  /** `ends[i]` is where word `i` ends; `ends.length` words. */
  readonly ends: Uint32Array;
}

/**
 * Creates the prompt builder for `tokenizer`; `random` places each request's filler. Throws when
 * the tokenizer has fewer than two words that are one token after a space.
 *
 * @example
 * ```ts
 * const prompts = createTracePrompts(await loadTokenizer("o200k_base"), createRandom(1));
 * const prompt = prompts.prompt([7, 8], 1200); // blocks 7 and 8, then 176 filler tokens
 * tokenizer.countPrompt(prompt); // 1200
 * ```
 */
export function createTracePrompts(tokenizer: Tokenizer, random: Random): TracePrompts {
  const pool = [...new Set(PROMPT_REQUEST.split(/[^A-Za-z]+/))]
    .filter((word) => word !== "" && tokenizer.count(` ${word}`) === 1)
    .map((word) => ` ${word}`);
  if (pool.length < 2) {
    throw new Error(`No single-token words to build trace prompts with under ${tokenizer.name}`);
  }
  const blocks = new Map<number, Words>();
  const filler = words(pool, FILLER_WORDS, random);

  function block(id: number): Words {
    let built = blocks.get(id);
    if (built === undefined) {
      if (blocks.size >= BLOCK_CACHE_SIZE) blocks.delete(blocks.keys().next().value!);
      built = words(pool, TRACE_BLOCK_TOKENS, createRandom(id));
      blocks.set(id, built);
    }
    return built;
  }

  return {
    prompt(ids, inputLength) {
      let left = Math.max(1, inputLength - tokenizer.specialTokens);
      let prompt = "";
      for (let i = 0; i < ids.length && left > 0; i++) {
        const next = block(ids[i]);
        const taken = Math.min(left, next.ends.length);
        prompt += taken === next.ends.length ? next.text : next.text.slice(0, next.ends[taken - 1]);
        left -= taken;
      }
      while (left > 0) {
        const start = random.int(0, filler.ends.length - 1);
        const taken = Math.min(left, filler.ends.length - start);
        const from = start === 0 ? 0 : filler.ends[start - 1];
        prompt += filler.text.slice(from, filler.ends[start + taken - 1]);
        left -= taken;
      }
      return prompt;
    },
  };
}

function words(pool: readonly string[], count: number, random: Random): Words {
  const parts = new Array<string>(count);
  const ends = new Uint32Array(count);
  let end = 0;
  for (let i = 0; i < count; i++) {
    parts[i] = pool[random.int(0, pool.length - 1)];
    end += parts[i].length;
    ends[i] = end;
  }
  return { text: parts.join(""), ends };
}
