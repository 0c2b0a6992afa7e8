/**
 * The options of `llmload mock`: the table its help and parser use, and their validation into
 * frozen {@link MockCommandOptions}. The run's option machinery (options/) does the parsing;
 * the mock's own vocabulary (fault kinds) stays in mock/.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import {
  boolean,
  duration,
  jitter,
  port,
  provider,
  Rejected,
  text,
  wholeNumber,
} from "../options/parsers.ts";
import { validated } from "../options/settings.ts";
import type { FlagValues, RawSetting } from "../options/settings.ts";
import { settingsFromFlags } from "../options/sources.ts";
import { defaultsOf } from "../options/spec.ts";
import type { OptionSpec } from "../options/spec.ts";
import { FAULT_NAMES, faultRatesProblem, parseFault } from "./faults.ts";
import type { FaultSpec } from "./faults.ts";
import type { PrefixCacheOptions } from "./prefix_cache.ts";

/** The options of `llmload mock`. */
export const MOCK_OPTIONS: readonly OptionSpec[] = [
  {
    name: "hostname",
    value: "name",
    help: "address to listen on",
    default: "127.0.0.1",
  },
  {
    name: "port",
    value: "n",
    help: "port to listen on; 0 picks a free one: a whole number from 0 to 65535",
    default: "8000",
  },
  {
    name: "ttft",
    value: "duration",
    help: "delay before the first token, e.g. 50ms",
    default: "50ms",
  },
  {
    name: "itl",
    value: "duration",
    help: "delay between tokens, e.g. 20ms",
    default: "20ms",
  },
  {
    name: "jitter",
    value: "amount",
    help: "random spread of each delay: a percentage such as 10% or a fraction such as 0.1",
    default: "0",
  },
  {
    name: "lockstep",
    help: "put every stream's tokens on one step grid, as a continuous-batching server does: " +
      "the first token at the first step at or after arrival + --ttft, then one per step " +
      "(--itl apart), every running stream in the same tick; needs --itl above 0 and no --jitter",
    default: "false",
  },
  {
    name: "itl-per-stream-us",
    value: "n",
    help: "with --lockstep, each step lasts --itl plus this many microseconds per running " +
      "stream, as a loaded server's: a whole number of at least 0",
    default: "0",
  },
  {
    name: "model",
    value: "name",
    repeatable: true,
    help: "model name the server lists and accepts; repeat for more",
    default: "mock-model",
  },
  {
    name: "dialect",
    value: "name",
    help: "server whose OpenAI-route replies the mock imitates (where usage goes, extra fields): " +
      "openai, anyscale, fireworks, vllm, sglang, together, tgi, triton-generate, triton-infer, " +
      "llamacpp or ollama; every dialect's native routes are always served",
    default: "vllm",
  },
  {
    name: "stop-early",
    help: "the model stops at a random length below max_tokens unless the request sends " +
      "ignore_eos or min_tokens",
    default: "false",
  },
  {
    name: "ignore-length-controls",
    help: "with --stop-early, disregard ignore_eos and min_tokens too",
    default: "false",
  },
  {
    name: "empty-rate",
    value: "amount",
    help: "share of replies in which the model stops on its first token (no text, one token " +
      "in usage), e.g. 10%: OpenAI and llama.cpp routes",
    default: "0",
  },
  {
    name: "context",
    value: "n",
    help: "context size in tokens, reported where the --dialect's server reports it (/v1/models, " +
      "/props, /info); prompt + max_tokens over it is refused with that server's error, but " +
      "llama.cpp routes refuse only a prompt that fills it and cut longer replies there " +
      "(truncated: true)",
    unset: "no limit",
  },
  {
    name: "prompt-cache",
    help: "report a repeated prompt as served from the prompt cache (cached_tokens, " +
      "llama.cpp timings.cache_n)",
    default: "false",
  },
  {
    name: "prefix-cache",
    value: "blocks",
    help: "keep a prefix cache of this many blocks, as vLLM's automatic prefix caching does: " +
      "an LRU of blocks of --prefix-cache-block tokens, named by the hash chain of the prompt's " +
      "tokens; replies report the leading blocks found as cached_tokens (not with --prompt-cache)",
    unset: "none",
  },
  {
    name: "prefix-cache-block",
    value: "tokens",
    help: "tokens per block of --prefix-cache: a whole number of at least 1",
    default: "16",
  },
  {
    name: "prefill-us",
    value: "n",
    help: "microseconds of prefill per prompt token not served from the cache, added to the " +
      "time to first token: a whole number of at least 0",
    default: "0",
  },
  {
    name: "slots",
    value: "n",
    help: "requests that generate at once, as a server's batch slots: the rest wait in a FIFO " +
      "queue, their wait added before prefill and the first token (records: queuedMs); a whole " +
      "number of at least 1",
    unset: "no limit",
  },
  {
    name: "fault",
    value: "kind[:rate]",
    repeatable: true,
    help: `inject a fault into this share of requests (default all), e.g. http_503:10%; kinds: ${
      FAULT_NAMES.join(", ")
    }; repeat to combine (rates add up to at most 1)`,
    unset: "none",
  },
  {
    name: "tokenizer",
    value: "name|path",
    help: "tokenizer the mock counts prompts and POST /tokenize with, special tokens (BOS) " +
      "included: a tiktoken encoding or a Hugging Face tokenizer.json file or folder",
    default: "o200k_base",
  },
];

/** Settings of the mock server, from `llmload mock`. */
export interface MockCommandOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Delay before the first token, in milliseconds. */
  readonly ttftMs: number;
  /** Delay between tokens, in milliseconds. */
  readonly itlMs: number;
  /** Random spread of each delay as a fraction (0.1 = ±10%). */
  readonly jitter: number;
  /** Every stream's tokens on one step grid (`--lockstep`); present only when set. */
  readonly lockstep?: true;
  /** With `lockstep`, microseconds each step grows per running stream. */
  readonly itlPerStreamUs?: number;
  /** Model names served; the first is the default. */
  readonly models: readonly string[];
  /** Dialect whose OpenAI-route replies the mock imitates. */
  readonly dialect: string;
  /** Stop early unless the request asks not to. */
  readonly stopEarly: boolean;
  /** With `stopEarly`, ignore `ignore_eos`/`min_tokens` too. */
  readonly ignoreLengthControls: boolean;
  /** Share of replies that stop on their first token. */
  readonly emptyRate: number;
  /** Context size in tokens, if limited. */
  readonly context?: number;
  /** Report repeated prompts as served from the prompt cache. */
  readonly promptCache: boolean;
  /** The prefix cache (`--prefix-cache`, `--prefix-cache-block`); present only when kept. */
  readonly prefixCache?: PrefixCacheOptions;
  /** Microseconds of prefill per uncached prompt token (`--prefill-us`); present when above 0. */
  readonly prefillUs?: number;
  /** Requests that generate at once (`--slots`); present only when limited. */
  readonly slots?: number;
  /** Faults to inject, with their rates. */
  readonly faults: readonly FaultSpec[];
  /** Tokenizer the mock counts prompts with (`--tokenizer`). */
  readonly tokenizer: string;
}

/**
 * Validates the flags of `llmload mock` into frozen {@link MockCommandOptions}; options not
 * given take the defaults of {@link MOCK_OPTIONS}.
 *
 * @example
 * ```ts
 * resolveMockOptions({ jitter: "10%", ttft: "50ms" }).jitter; // 0.1
 * ```
 */
export function resolveMockOptions(flags: FlagValues): MockCommandOptions {
  const layer = settingsFromFlags(flags);
  const defaults = defaultsOf(MOCK_OPTIONS);

  function first(name: string): RawSetting {
    return layer.get(name)?.[0] ?? { value: defaults[name], label: `--${name}`, where: "default" };
  }

  const models = (layer.get("model") ?? [first("model")]).map((item) => validated(item, text));
  const itlMs = validated(first("itl"), duration({ allowZero: true }));
  const spread = validated(first("jitter"), jitter);
  return Object.freeze({
    hostname: validated(first("hostname"), text),
    port: validated(first("port"), port),
    ttftMs: validated(first("ttft"), duration({ allowZero: true })),
    itlMs,
    jitter: spread,
    ...lockstepOf(first, { itlMs, jitter: spread, perStreamGiven: layer.has("itl-per-stream-us") }),
    models: Object.freeze(models),
    dialect: validated(first("dialect"), provider),
    stopEarly: validated(first("stop-early"), boolean),
    ignoreLengthControls: validated(first("ignore-length-controls"), boolean),
    emptyRate: validated(first("empty-rate"), jitter),
    ...(layer.has("context") ? { context: validated(first("context"), wholeNumber(1)) } : {}),
    promptCache: validated(first("prompt-cache"), boolean),
    ...prefixCacheOf(first, { given: layer.has("prefix-cache") }),
    ...(layer.has("slots") ? { slots: validated(first("slots"), wholeNumber(1)) } : {}),
    faults: Object.freeze(faultsOf(layer.get("fault") ?? [])),
    tokenizer: validated(first("tokenizer"), text),
  });
}

/**
 * `--lockstep` and `--itl-per-stream-us`, checked together with the delays the grid needs: a
 * step (`--itl` above 0) and no jitter, since every stream shares the grid's times.
 */
function lockstepOf(
  first: (name: string) => RawSetting,
  context: { itlMs: number; jitter: number; perStreamGiven: boolean },
): { lockstep?: true; itlPerStreamUs?: number } {
  const perStreamUs = validated(first("itl-per-stream-us"), wholeNumber(0));
  if (!validated(first("lockstep"), boolean)) {
    if (context.perStreamGiven) {
      throw new UsageError(
        "Cannot use --itl-per-stream-us without --lockstep: the step grows per running stream " +
          "only on the lockstep grid; add --lockstep",
      );
    }
    return {};
  }
  if (context.itlMs === 0) {
    throw new UsageError(
      "Cannot use --lockstep with --itl 0: the grid needs a step; give --itl above 0, e.g. 20ms",
    );
  }
  if (context.jitter > 0) {
    throw new UsageError(
      `Cannot use --lockstep with --jitter ${first("jitter").value}: the lockstep grid has no ` +
        "jitter; use --jitter 0 or drop --lockstep",
    );
  }
  return { lockstep: true, itlPerStreamUs: perStreamUs };
}

/**
 * `--prefix-cache`, `--prefix-cache-block` and `--prefill-us`: the cache only when asked for, not
 * with the whole-prompt `--prompt-cache`; the prefill only when above 0.
 */
function prefixCacheOf(
  first: (name: string) => RawSetting,
  context: { given: boolean },
): { prefixCache?: PrefixCacheOptions; prefillUs?: number } {
  const blockTokens = validated(first("prefix-cache-block"), wholeNumber(1));
  const prefillUs = validated(first("prefill-us"), wholeNumber(0));
  const prefill = prefillUs > 0 ? { prefillUs } : {};
  if (!context.given) return prefill;
  if (validated(first("prompt-cache"), boolean)) {
    throw new UsageError(
      "Cannot use --prompt-cache with --prefix-cache: the prefix cache already serves repeated " +
        "prompts; drop --prompt-cache",
    );
  }
  const blocks = validated(first("prefix-cache"), wholeNumber(1));
  return { prefixCache: Object.freeze({ blocks, blockTokens }), ...prefill };
}

function fault(value: string | boolean): FaultSpec {
  try {
    return parseFault(typeof value === "string" ? value : "");
  } catch (error) {
    throw new Rejected((error as Error).message);
  }
}

function faultsOf(items: readonly RawSetting[]): FaultSpec[] {
  const faults = items.map((item) => validated(item, fault));
  const problem = faultRatesProblem(faults);
  if (problem) throw new UsageError(`Invalid --fault rates: ${problem}`);
  return faults;
}
