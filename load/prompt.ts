/**
 * Prompts of an exact token length (`-p N`), shaped like the seed's: padding words, then a
 * lengthy code-generation request that a model rarely answers briefly, so `max_tokens` is reached.
 *
 * @module
 */

import { UsageError } from "../common/errors.ts";
import { createRandom } from "./random.ts";
import type { Random } from "./random.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** Options of {@linkcode buildPrompt}. */
export interface BuildPromptOptions {
  /**
   * Pads with random words drawn from this source instead of a fixed word, so that no two
   * prompts share a prefix and a server's prefix cache cannot help.
   */
  randomPrefix?: Random;
}

/** The request that ends every generated prompt. */
export const PROMPT_REQUEST =
  "Generate a Django application with Authentication, JWT, Tests, DB support. Show docker-compose for python and postgres. Show the complete code for every file!";

const PAD_WORD = "Pad";

/**
 * Even a prompt shorter than the request starts with this many random tokens when randomised:
 * a cache keyed on the first block of tokens must miss.
 */
const MIN_RANDOM_TOKENS = 16;

/** Each attempt corrects by the measured error; merges at the seams settle within a couple. */
const MAX_ATTEMPTS = 8;

/** Common words; those that are one token (alone and after a space) pad random prompts. */
const WORDS = (
  "time year people way day man thing woman life child world school state family student group " +
  "country problem hand part place case week company system program question work government " +
  "number night point home water room mother area money story fact month lot right study book " +
  "eye job word business issue side kind head house service friend father power hour game line " +
  "end member law car city community name president team minute idea kid body information back " +
  "parent face others level office door health person art war history party result change " +
  "morning reason research girl guy moment air teacher force education foot boy age policy music " +
  "market sense nation plan college interest death experience effect use class control care " +
  "field development role effort rate heart drug show leader light voice wife police mind price " +
  "report decision son view relationship town road arm difference value building action model " +
  "season society tax director position player record paper space ground form event official " +
  "matter center couple site project activity star table need court oil situation cost industry " +
  "figure street image phone data picture practice piece land product doctor wall patient worker " +
  "news test movie north love support technology step baby computer type attention film tree " +
  "source organization hair window evidence population truth song page river blue green red " +
  "small large early young important public bad able open sure free whole real best better true " +
  "full special easy clear recent certain personal strong possible hard simple dark cold warm"
).split(" ");

// Filtering the word list costs a few hundred encodes; do it once per tokenizer.
const wordPools = new WeakMap<Tokenizer, readonly string[]>();

/**
 * Builds a prompt of exactly `tokens` tokens as a server with `tokenizer` counts it
 * ({@linkcode Tokenizer.countPrompt}): the special tokens the server adds (a BOS token) are part
 * of the `tokens`, so the text has that many fewer. Shorter than the closing request, it is that
 * request cut. Costs one or two encodes of the prompt, whatever its length (about 0.2 s for 100k
 * tokens). Throws a `UsageError` when `tokens` leaves no room for text after the special tokens.
 *
 * @example
 * ```ts
 * const tokenizer = await loadTokenizer("o200k_base");
 * const prompt = buildPrompt(512, tokenizer);
 * tokenizer.countPrompt(prompt); // 512
 * const fresh = buildPrompt(512, tokenizer, { randomPrefix: createRandom(7) });
 * ```
 */
export function buildPrompt(
  tokens: number,
  tokenizer: Tokenizer,
  options: BuildPromptOptions = {},
): string {
  const parts = composePrompt(textTokens(tokens, tokenizer), tokenizer, options.randomPrefix);
  return parts.padding + parts.rest;
}

/** Tokens of text in a prompt of `tokens` tokens: without the special tokens a server adds. */
function textTokens(tokens: number, tokenizer: Tokenizer): number {
  const special = tokenizer.specialTokens;
  if (special > 0 && Number.isInteger(tokens) && tokens >= 1 && tokens <= special) {
    throw new UsageError(
      `Cannot build a prompt of ${tokens} tokens: the server adds ${special} special ` +
        `token${special === 1 ? "" : "s"} (BOS) to every prompt under ${tokenizer.name}; ` +
        `expected -p of at least ${special + 1}`,
    );
  }
  return tokens - special;
}

/** Prompts for successive requests, all of the same exact token count. */
export interface PromptSource {
  /** Tokens in every prompt it returns. */
  readonly tokens: number;
  /** The prompt of the next request. */
  next(): string;
}

/** How many fresh draws must keep the exact count before per-request re-counting is skipped. */
const SOURCE_CHECKS = 4;

/**
 * Prompts of exactly `tokens` tokens (as {@linkcode buildPrompt} counts them, special tokens
 * included) for request after request. Without `random`, the same
 * prompt every time. With `random`, each prompt starts with its own random padding words, so no
 * two requests share a prefix and a server's prefix cache cannot help.
 *
 * Redrawing only the padding words is string work, no encoding, so it is cheap enough for every
 * request even with 100k-token prompts. That relies on padding words never merging with each
 * other or with the text after them; a few fresh draws are counted up front to confirm it, and
 * a tokenizer where they do not hold gets a fully re-counted prompt per request instead.
 *
 * @example
 * ```ts
 * const prompts = createPromptSource(512, tokenizer, { random: createRandom(7) });
 * prompts.next() !== prompts.next(); // true, and each is 512 tokens
 * ```
 */
export function createPromptSource(
  tokens: number,
  tokenizer: Tokenizer,
  options: { random?: Random } = {},
): PromptSource {
  const random = options.random;
  if (random === undefined) {
    const prompt = buildPrompt(tokens, tokenizer);
    return { tokens, next: () => prompt };
  }
  const draw = random;
  const parts = composePrompt(textTokens(tokens, tokenizer), tokenizer, draw);
  const pool = wordPool(tokenizer);
  function redrawn(): string {
    const words = new Array<string>(parts.words);
    for (let i = 0; i < parts.words; i++) words[i] = pool[draw.int(0, pool.length - 1)];
    return words.join(" ") + parts.rest;
  }
  let additive = true;
  for (let check = 0; check < SOURCE_CHECKS && additive; check++) {
    additive = tokenizer.countPrompt(redrawn()) === tokens;
  }
  if (!additive) {
    return {
      tokens,
      next: () => buildPrompt(tokens, tokenizer, { randomPrefix: random }),
    };
  }
  return { tokens, next: redrawn };
}

/** Tries at fixing a seam between a shared prefix and its suffix before giving up. */
const MAX_SEAM_ATTEMPTS = 4;

/**
 * A shared prefix of exactly `tokens` tokens of text (no special tokens): random single-token
 * words drawn from `random`, so prefixes from different sources differ from their first token.
 *
 * @example
 * ```ts
 * const prefix = buildPrefix(1000, tokenizer, createRandom(1));
 * tokenizer.count(prefix); // 1000
 * ```
 */
export function buildPrefix(tokens: number, tokenizer: Tokenizer, random: Random): string {
  if (!Number.isInteger(tokens) || tokens < 1) {
    throw new RangeError(`Prefix length must be a positive integer, got ${tokens}`);
  }
  const prefix = randomPadding(tokenizer, random)(tokens);
  const counted = tokenizer.count(prefix);
  if (counted !== tokens) {
    throw new Error(`Cannot build a prefix of exactly ${tokens} tokens with ${tokenizer.name}`);
  }
  return prefix;
}

/**
 * A prompt of exactly `tokens` tokens (as {@linkcode buildPrompt} counts them) that starts with
 * `prefix` (of `prefixTokens` tokens of text), then a space and a generated suffix that starts
 * with random padding words, as `--prompt-randomize` suffixes do. Throws a
 * `UsageError` when `tokens` leaves the suffix no room.
 *
 * @example
 * ```ts
 * const prompt = buildPrefixedPrompt(512, tokenizer, { prefix, prefixTokens: 100 });
 * prompt.startsWith(prefix + " "); // true, and tokenizer.countPrompt(prompt) is 512
 * ```
 */
export function buildPrefixedPrompt(
  tokens: number,
  tokenizer: Tokenizer,
  options: { prefix: string; prefixTokens: number },
): string {
  const { prefix, prefixTokens } = options;
  const room = tokens - prefixTokens - tokenizer.specialTokens;
  if (room < 1) {
    throw new UsageError(
      `Cannot build a prompt of ${tokens} tokens after a ${prefixTokens}-token prefix under ` +
        `${tokenizer.name}: expected -p of at least ${prefixTokens + tokenizer.specialTokens + 1}`,
    );
  }
  let suffixTokens = tokens - prefixTokens;
  for (let attempt = 0; attempt < MAX_SEAM_ATTEMPTS && suffixTokens > 0; attempt++) {
    // A suffix that starts with padding words joins the prefix without merging at the space,
    // where the cut request ("Gener|ate") need not; seeded by length, so it is reproducible.
    const suffix = buildPrompt(suffixTokens, tokenizer, {
      randomPrefix: createRandom(suffixTokens),
    });
    const prompt = `${prefix} ${suffix}`;
    const error = tokens - tokenizer.countPrompt(prompt);
    if (error === 0) return prompt;
    suffixTokens += error;
  }
  throw new Error(`Cannot build a prompt of exactly ${tokens} tokens after a prefix`);
}

/** Round trips to the server's tokenize endpoint that building one prompt may take. */
export const MAX_ROUND_TRIPS = 16;

/**
 * Builds a prompt of exactly `tokens` tokens as the server counts it (`--tokenizer server`):
 * composed with the local `base` tokenizer, then corrected with the server's own counts, as
 * `countOnServer` returns them for a whole prompt (special tokens included). First the longest
 * start of the code-generation request that fits is found by bisection, then padding words
 * (one token each under common tokenizers; the step follows the measured rate otherwise) make up
 * the rest. At most {@linkcode MAX_ROUND_TRIPS} calls; throws a `UsageError` when the count
 * cannot be hit within them.
 *
 * @example
 * ```ts
 * const prompt = await buildServerPrompt(512, await loadTokenizer("o200k_base"), count);
 * await count(prompt); // 512
 * ```
 */
export async function buildServerPrompt(
  tokens: number,
  base: Tokenizer,
  countOnServer: (prompt: string) => Promise<number>,
): Promise<string> {
  if (!Number.isInteger(tokens) || tokens < 1) {
    throw new RangeError(`Prompt length must be a positive integer, got ${tokens}`);
  }
  const afterPadding = base.encode(" " + PROMPT_REQUEST);
  const alone = base.encode(PROMPT_REQUEST);
  const compose = (words: number, kept: number) =>
    fixedPadding(words) + base.decode((words > 0 ? afterPadding : alone).slice(0, kept));
  let trips = 0;
  let last: number | undefined;
  async function measure(prompt: string): Promise<number> {
    if (++trips > MAX_ROUND_TRIPS) {
      throw new UsageError(
        `Cannot build a prompt of exactly ${tokens} tokens with the server's tokenizer in ` +
          `${MAX_ROUND_TRIPS} round trips (last count ${last}): pass -p with another length, ` +
          `or --tokenizer with the model's tokenizer.json`,
      );
    }
    return last = await countOnServer(prompt);
  }

  // The longest start of the request (in base tokens) whose server count still fits.
  let kept = alone.length;
  let counted: number | undefined = await measure(compose(0, kept));
  if (counted > tokens) {
    let fits = 0;
    let tooLong = kept;
    counted = undefined;
    while (tooLong - fits > 1) {
      const middle = Math.floor((fits + tooLong) / 2);
      const count = await measure(compose(0, middle));
      if (count <= tokens) [fits, counted] = [middle, count];
      else tooLong = middle;
    }
    kept = fits;
  }
  let words = 0;
  // Not even the request's first word fits: all padding, starting from a guess of one BOS.
  if (counted === undefined) {
    words = Math.max(1, tokens - 1);
    counted = await measure(compose(words, kept));
  }
  let rate = 1;
  let added = false;
  while (counted !== tokens) {
    const error = tokens - counted;
    let next = words + (Math.round(error / rate) || Math.sign(error));
    // Overshot by adding words (a seam with the request costs a token more), or no padding
    // left to take away: give up one request token instead.
    if ((error < 0 && added) || next < 0 || (next === 0 && kept === 0)) {
      if (kept === 0) break;
      kept--;
      next = Math.max(0, words);
    }
    added = next > words;
    const before: number = counted;
    counted = await measure(compose(next, kept));
    // The first word also moves the seam with the request; only later words show the rate.
    if (words > 0 && next > 0 && next !== words && counted !== before) {
      rate = Math.max(1, (counted - before) / (next - words));
    }
    words = next;
  }
  if (counted !== tokens) {
    throw new UsageError(
      `Cannot build a prompt of exactly ${tokens} tokens with the server's tokenizer (it counts ` +
        `${counted}): pass -p with another length, or --tokenizer with the model's tokenizer.json`,
    );
  }
  return compose(words, kept);
}

/** A prompt cut at the seam between its padding words and the rest. */
interface PromptParts {
  /** The padding words joined by spaces (`""` when there are none). */
  readonly padding: string;
  /** How many padding words (one token each). */
  readonly words: number;
  /** The request, or the start of it, that follows the padding. */
  readonly rest: string;
}

function composePrompt(tokens: number, tokenizer: Tokenizer, random?: Random): PromptParts {
  if (!Number.isInteger(tokens) || tokens < 1) {
    throw new RangeError(`Prompt length must be a positive integer, got ${tokens}`);
  }
  const pad = random ? randomPadding(tokenizer, random) : fixedPadding;
  const afterPadding = tokenizer.encode(" " + PROMPT_REQUEST);
  const alone = tokenizer.encode(PROMPT_REQUEST);
  const minPadding = random ? Math.min(tokens, MIN_RANDOM_TOKENS) : 0;

  let padding = Math.max(tokens - afterPadding.length, minPadding);
  let kept = tokens - padding;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const request = padding > 0 ? afterPadding : alone;
    if (kept > request.length) {
      // The request without a leading space can be a token shorter: pad the difference.
      padding += kept - request.length;
      kept = request.length;
      continue;
    }
    const words = pad(padding);
    const rest = tokenizer.decode(request.slice(0, kept));
    const error = tokens - tokenizer.count(words + rest);
    if (error === 0) return { padding: words, words: padding, rest };
    // Words merge nowhere, so a miscount comes from a seam: fix it with padding (one token a
    // word) unless that would cut into a random prefix or the request is only partly used.
    if (padding > minPadding || kept === request.length) {
      padding += error;
      if (padding < minPadding) {
        kept -= minPadding - padding;
        padding = minPadding;
      }
    } else {
      kept += error;
    }
    if (kept < 0) {
      padding = Math.max(0, padding + kept);
      kept = 0;
    }
  }
  throw new Error(`Cannot build a prompt of exactly ${tokens} tokens with ${tokenizer.name}`);
}

function fixedPadding(words: number): string {
  return words === 0 ? "" : PAD_WORD + ` ${PAD_WORD}`.repeat(words - 1);
}

function randomPadding(tokenizer: Tokenizer, random: Random): (words: number) => string {
  const pool = wordPool(tokenizer);
  const drawn: string[] = [];
  return function randomWords(words: number): string {
    while (drawn.length < words) drawn.push(pool[random.int(0, pool.length - 1)]);
    return drawn.slice(0, words).join(" ");
  };
}

function wordPool(tokenizer: Tokenizer): readonly string[] {
  let pool = wordPools.get(tokenizer);
  if (!pool) {
    pool = WORDS.filter((word) => tokenizer.count(word) === 1 && tokenizer.count(` ${word}`) === 1);
    if (pool.length < 2) throw new Error(`No single-token padding words under ${tokenizer.name}`);
    wordPools.set(tokenizer, pool);
  }
  return pool;
}
