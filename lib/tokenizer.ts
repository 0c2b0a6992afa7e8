/**
 * The local tokenizer behind `--tokenizer`: builds exact-length prompts and counts tokens when
 * the server reports none. tiktoken encodings for now; Hugging Face `tokenizer.json` comes later.
 *
 * @module
 */

import { get_encoding, type Tiktoken } from "tiktoken";
import { UsageError } from "./errors.ts";

/** A tokenizer loaded by {@linkcode loadTokenizer}. */
export interface Tokenizer {
  /** The spec it was loaded from, e.g. `o200k_base`. */
  readonly name: string;
  /** Number of tokens in `text`. Special-token markup counts as ordinary text. */
  count(text: string): number;
  /** Token ids of `text`. Special-token markup is encoded as ordinary text. */
  encode(text: string): Uint32Array | number[];
  /** Text of token ids. */
  decode(ids: Uint32Array | readonly number[]): string;
  /** Releases the WASM memory; the next {@linkcode loadTokenizer} of this name loads afresh. */
  free(): void;
}

/** The tiktoken encodings `--tokenizer` accepts by name. */
export const TIKTOKEN_ENCODINGS = ["o200k_base", "cl100k_base"] as const;

type EncodingName = typeof TIKTOKEN_ENCODINGS[number];

// Loading an encoding parses megabytes of ranks; every user of a name in a thread shares one.
const cache = new Map<string, Tokenizer>();

/**
 * Loads a tokenizer by tiktoken encoding name (`o200k_base`, `cl100k_base`). Throws a
 * `UsageError` for anything else; a path to an existing file or folder is recognised as a
 * Hugging Face tokenizer, which is not supported yet.
 *
 * @example
 * ```ts
 * const tokenizer = await loadTokenizer("o200k_base");
 * tokenizer.count("Hello, world"); // 4
 * ```
 */
export async function loadTokenizer(spec: string): Promise<Tokenizer> {
  const cached = cache.get(spec);
  if (cached) return cached;
  if (isEncodingName(spec)) {
    const tokenizer = tiktokenTokenizer(spec, get_encoding(spec));
    cache.set(spec, tokenizer);
    return tokenizer;
  }
  if (await pathExists(spec)) {
    throw new UsageError(
      `Cannot load --tokenizer '${spec}': Hugging Face tokenizer.json support is not available yet, use o200k_base or cl100k_base`,
    );
  }
  throw new UsageError(
    `Invalid --tokenizer '${spec}': expected o200k_base, cl100k_base or a path to a Hugging Face tokenizer.json`,
  );
}

function isEncodingName(spec: string): spec is EncodingName {
  return (TIKTOKEN_ENCODINGS as readonly string[]).includes(spec);
}

function tiktokenTokenizer(name: EncodingName, encoding: Tiktoken): Tokenizer {
  const utf8 = new TextDecoder();

  // encode_ordinary, because prompts and server output may contain "<|endoftext|>" as text and
  // tiktoken's encode() throws on that by default.
  function count(text: string): number {
    return encoding.encode_ordinary(text).length;
  }

  function encode(text: string): Uint32Array {
    return encoding.encode_ordinary(text);
  }

  function decode(ids: Uint32Array | readonly number[]): string {
    return utf8.decode(encoding.decode(ids instanceof Uint32Array ? ids : Uint32Array.from(ids)));
  }

  function free(): void {
    if (cache.get(name) === tokenizer) cache.delete(name);
    encoding.free();
  }

  const tokenizer: Tokenizer = { name, count, encode, decode, free };
  return tokenizer;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    // Missing, unreadable or not a valid path: either way not a tokenizer file we could load.
    return false;
  }
}
