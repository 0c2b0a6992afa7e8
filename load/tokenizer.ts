/**
 * The local tokenizer behind `--tokenizer`: builds exact-length prompts and counts tokens when
 * the server reports none. Two kinds: a tiktoken encoding by name (`o200k_base`, `cl100k_base`),
 * or a Hugging Face `tokenizer.json` (a file, or a folder holding one) run by
 * `@huggingface/tokenizers`, a pure-JS port of the Rust `tokenizers` crate.
 *
 * @module
 */

import { get_encoding, type Tiktoken } from "tiktoken";
import type { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { UsageError } from "../common/errors.ts";
import type { TokenizeSpec } from "../providers/types.ts";
import type { Fetch } from "../transport/mod.ts";

/** A tokenizer loaded by {@linkcode loadTokenizer}. */
export interface Tokenizer {
  /** The spec it was loaded from, e.g. `o200k_base` or `./models/llama/tokenizer.json`. */
  readonly name: string;
  /**
   * Number of tokens in `text`, without the special tokens a model adds around a sequence (BOS).
   * tiktoken counts special-token markup as ordinary text.
   */
  count(text: string): number;
  /**
   * Special tokens a server adds around every prompt it tokenizes (a BOS token, for example):
   * those of the tokenizer's post-processor, or of `tokenizer_config.json`'s `add_bos_token` /
   * `add_eos_token` where it sets them. 0 for tiktoken.
   */
  readonly specialTokens: number;
  /**
   * Tokens a server counts for `text` sent as a whole prompt: {@linkcode Tokenizer.count} plus
   * {@linkcode Tokenizer.specialTokens}.
   */
  countPrompt(text: string): number;
  /** Token ids of `text`, without added special tokens. */
  encode(text: string): Uint32Array | number[];
  /** Text of token ids. */
  decode(ids: Uint32Array | readonly number[]): string;
  /** Releases resources; the next {@linkcode loadTokenizer} of this spec loads afresh. */
  free(): void;
}

/** The tiktoken encodings `--tokenizer` accepts by name. */
export const TIKTOKEN_ENCODINGS = ["o200k_base", "cl100k_base"] as const;

/** The `--tokenizer` value that counts with the server's own tokenize endpoint. */
export const SERVER_TOKENIZER = "server";

/**
 * The local tokenizer that composes prompts for `--tokenizer server` (and counts where no
 * server is asked, as in `llmload probe`) before the server corrects the count.
 */
export const SERVER_BASE_TOKENIZER = "o200k_base";

/** The spec to load locally for a `--tokenizer` value: `server` composes with the default. */
export function localTokenizerSpec(spec: string): string {
  return spec === SERVER_TOKENIZER ? SERVER_BASE_TOKENIZER : spec;
}

type EncodingName = typeof TIKTOKEN_ENCODINGS[number];

// Loading parses megabytes of ranks or vocabulary; every user of a spec in a thread shares one
// load, even when several ask at once.
const cache = new Map<string, Promise<Tokenizer>>();
// Which load produced a tokenizer, so free() forgets that load and not a newer one.
const loadedBy = new WeakMap<Tokenizer, Promise<Tokenizer>>();

/**
 * Loads a tokenizer: a tiktoken encoding name (`o200k_base`, `cl100k_base`), or a path to a
 * Hugging Face `tokenizer.json` or to a folder that holds one (its `tokenizer_config.json` is
 * read too when present). Throws a `UsageError` for anything else or for a file it cannot load.
 *
 * @example
 * ```ts
 * const tokenizer = await loadTokenizer("o200k_base");
 * tokenizer.count("Hello, world"); // 3
 * const llama = await loadTokenizer("./models/llama-3");
 * ```
 */
export function loadTokenizer(spec: string): Promise<Tokenizer> {
  let loading = cache.get(spec);
  if (!loading) {
    loading = isEncodingName(spec)
      ? Promise.resolve(tiktokenTokenizer(spec, get_encoding(spec)))
      : loadHuggingFace(spec);
    const current = loading;
    cache.set(spec, current);
    current.then(
      (tokenizer) => loadedBy.set(tokenizer, current),
      // A failed load is not remembered: the next call reports the problem again.
      () => cache.get(spec) === current && cache.delete(spec),
    );
  }
  return loading;
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
    forget(name, tokenizer);
    encoding.free();
  }

  const tokenizer: Tokenizer = {
    name,
    count,
    specialTokens: 0,
    countPrompt: count,
    encode,
    decode,
    free,
  };
  return tokenizer;
}

async function loadHuggingFace(spec: string): Promise<Tokenizer> {
  const files = await tokenizerFiles(spec);
  const fail = (reason: string) => new UsageError(`Cannot load --tokenizer '${spec}': ${reason}`);
  const json = await readJson(files.tokenizer, fail);
  const config = files.config === undefined ? {} : await readJson(files.config, fail);
  if (typeof json !== "object" || json === null || !("model" in json)) {
    throw fail(`${files.tokenizer} is not a Hugging Face tokenizer.json (it has no "model")`);
  }
  const { Tokenizer: HuggingFaceTokenizer } = await import("@huggingface/tokenizers");
  let hf: HfTokenizer;
  try {
    hf = new HuggingFaceTokenizer(json, config ?? {});
  } catch (error) {
    throw fail(`${files.tokenizer} is not a tokenizer this library can run (${messageOf(error)})`);
  }
  return huggingFaceTokenizer(spec, hf, addedSpecialTokens(hf, config));
}

/**
 * How many special tokens a server adds around a prompt. The post-processor says which it adds
 * before and after the text; `add_bos_token` / `add_eos_token` in `tokenizer_config.json`, where
 * set, override either side, as transformers' Llama-family tokenizers (what vLLM, SGLang and TGI
 * load) rebuild their post-processor from them.
 */
function addedSpecialTokens(hf: HfTokenizer, config: unknown): number {
  const probe = "a";
  const bare = hf.encode(probe, { add_special_tokens: false }).ids;
  const full = hf.encode(probe, { add_special_tokens: true }).ids;
  const last = Math.max(0, full.length - bare.length);
  let before = 0;
  while (before < last && !startsAt(full, bare, before)) before++;
  const after = last - before;
  const flags = (typeof config === "object" && config !== null ? config : {}) as Record<
    string,
    unknown
  >;
  const bos = typeof flags.add_bos_token === "boolean" ? Number(flags.add_bos_token) : before;
  const eos = typeof flags.add_eos_token === "boolean" ? Number(flags.add_eos_token) : after;
  return bos + eos;
}

function startsAt(ids: readonly number[], part: readonly number[], at: number): boolean {
  return part.every((id, i) => ids[at + i] === id);
}

function huggingFaceTokenizer(name: string, hf: HfTokenizer, specialTokens: number): Tokenizer {
  // Counted without BOS/EOS: they are not part of the text (nor of generated output);
  // countPrompt adds them back for a prompt as the server counts it.
  function encode(text: string): number[] {
    return hf.encode(text, { add_special_tokens: false }).ids;
  }

  function count(text: string): number {
    return encode(text).length;
  }

  function countPrompt(text: string): number {
    return count(text) + specialTokens;
  }

  function decode(ids: Uint32Array | readonly number[]): string {
    // The library refuses an empty list; its text is the empty string.
    if (ids.length === 0) return "";
    // Clean-up would turn "a , b" into "a, b" and change the token count of the text.
    return hf.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  function free(): void {
    forget(name, tokenizer);
  }

  const tokenizer: Tokenizer = { name, count, specialTokens, countPrompt, encode, decode, free };
  return tokenizer;
}

function forget(name: string, tokenizer: Tokenizer): void {
  const loaded = loadedBy.get(tokenizer);
  if (loaded !== undefined && cache.get(name) === loaded) cache.delete(name);
}

/** The `tokenizer.json` a spec names, and the `tokenizer_config.json` beside it if any. */
async function tokenizerFiles(spec: string): Promise<{ tokenizer: string; config?: string }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(spec);
  } catch {
    throw new UsageError(
      `Invalid --tokenizer '${spec}': expected o200k_base, cl100k_base, server or a path to a Hugging Face tokenizer.json`,
    );
  }
  const folder = info.isDirectory ? spec : dirname(spec);
  const tokenizer = info.isDirectory ? join(spec, "tokenizer.json") : spec;
  if (info.isDirectory && !(await isFile(tokenizer))) {
    throw new UsageError(
      `Cannot load --tokenizer '${spec}': the folder has no tokenizer.json`,
    );
  }
  const config = join(folder, "tokenizer_config.json");
  return { tokenizer, config: (await isFile(config)) ? config : undefined };
}

async function readJson(path: string, fail: (reason: string) => UsageError): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw fail(`cannot read ${path} (${messageOf(error)})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw fail(`${path} is not JSON (${messageOf(error)})`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    // Missing or unreadable: either way there is no file to use.
    return false;
  }
}

function dirname(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut < 0 ? "." : cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
}

function join(folder: string, file: string): string {
  return folder.endsWith("/") || folder.endsWith("\\") ? folder + file : `${folder}/${file}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Counts tokens with a server's tokenize endpoint (`--tokenizer server`). */
export interface ServerCounter {
  /**
   * Tokens of `text`; with `special`, the special tokens (BOS) the server adds to a prompt are
   * counted too, where the endpoint lets the client choose. Rejects with an `Error` naming the
   * endpoint when the server does not answer with a count.
   */
  count(text: string, special: boolean): Promise<number>;
}

/** Where {@linkcode createServerCounter} sends its requests. */
export interface ServerCounterOptions {
  /** Target base URL without a trailing slash. */
  readonly host: string;
  /** Headers for every request (auth included); never put in a message. */
  readonly headers: Readonly<Record<string, string>>;
  /** Time limit of one tokenize request, in milliseconds. */
  readonly timeoutMs: number;
  /** Sends the requests: `fetch` with the run's TLS settings (`createTlsFetch`); global `fetch` by default. */
  readonly fetch?: Fetch;
}

/**
 * Counts through the tokenize endpoint `spec` describes (data from the provider). Uses `fetch`,
 * apart from the load's own transport: counting is a side channel, never timed. The empty text
 * is 0 tokens without asking.
 *
 * @example
 * ```ts
 * const counter = createServerCounter(provider.tokenize!, { host, headers, timeoutMs: 30_000 });
 * await counter.count("Hello, world", true); // e.g. 4 with a BOS
 * ```
 */
export function createServerCounter(
  spec: TokenizeSpec,
  options: ServerCounterOptions,
): ServerCounter {
  const url = options.host + spec.path;
  async function count(text: string, special: boolean): Promise<number> {
    if (text === "" && !special) return 0;
    const where = `POST ${spec.path}`;
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        body: spec.body(text, special),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new Error(`Cannot count tokens with ${where}: ${messageOf(error)}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`Cannot count tokens with ${where}: HTTP ${response.status}`);
    }
    try {
      return spec.count(await response.json());
    } catch (error) {
      throw new Error(`Cannot count tokens with ${where}: ${messageOf(error)}`);
    }
  }
  return { count };
}
