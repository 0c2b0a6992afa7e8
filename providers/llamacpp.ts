/**
 * The llama.cpp server (`llama-server`). Completions use its native `/completion` route:
 * `n_predict` caps the length, `ignore_eos` keeps generating past the end-of-sequence token,
 * streamed events are `data: {"content": ..., "stop": false}` and the last one (`stop: true`)
 * carries `tokens_predicted`, `tokens_evaluated` and `timings`. `--chat` uses its
 * OpenAI-compatible `/v1/chat/completions`, which accepts `ignore_eos` too; so does `-n` above 1
 * (with `/v1/completions` for raw completions), since only the OpenAI routes return `n` choices.
 * `POST /tokenize` (`{"content", "add_special"}` → `{"tokens": [...]}`) counts for
 * `--tokenizer server`.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample, TokenizeSpec } from "./types.ts";
import {
  type ContextSource,
  numberOr,
  parseObject,
  textOr,
  throwIfError,
  usageOf,
} from "./_shared.ts";

/**
 * llama.cpp's context per slot (`--ctx-size` divided by `--parallel`) is
 * `default_generation_settings.n_ctx` in `GET /props`; some builds also put `n_ctx` in the
 * `/v1/models` entry's `meta`, which upstream fills with `n_ctx_train`, the training length.
 */
export const LLAMACPP_CONTEXT: readonly ContextSource[] = [
  {
    path: "/props",
    field: ["default_generation_settings", "n_ctx"],
    bounds: "total",
    kind: "cuts",
  },
  { path: "/v1/models", field: ["meta", "n_ctx"], bounds: "total", kind: "cuts" },
  { path: "/v1/models", field: ["meta", "n_ctx_train"], bounds: "total", kind: "trained" },
];
import { createOpenAIProvider } from "./openai.ts";
import { fastPath, ignored, object, PLAIN } from "./_fast_json.ts";

/** `owned_by` values llama.cpp's `/v1/models` reports. */
export const LLAMACPP_OWNED_BY: readonly string[] = ["llamacpp"];

interface WireTimings {
  prompt_n?: number;
  predicted_n?: number;
  cache_n?: number;
}

/**
 * Builds the llama.cpp provider. `--logprobs N` becomes `n_probs` (at least 1, so every token
 * comes back with an entry in `completion_probabilities` and can be counted).
 *
 * @example
 * ```ts
 * const llama = createLlamacppProvider({ model: "m", chat: false, stream: true, temperature: 1 });
 * llama.request({ prompt: "Hi", maxTokens: 8 }).path; // "/completion"
 * ```
 */
export function createLlamacppProvider(settings: ProviderOptions): Provider {
  if (settings.chat || (settings.n ?? 1) > 1) {
    return {
      ...createOpenAIProvider(settings, { name: "llamacpp", extras: () => ({ ignore_eos: true }) }),
      tokenize: LLAMACPP_TOKENIZE,
    };
  }
  const probs = settings.logprobs === undefined ? {} : { n_probs: Math.max(1, settings.logprobs) };

  function request(sample: Sample) {
    const body = {
      prompt: sample.prompt,
      n_predict: sample.maxTokens,
      temperature: settings.temperature,
      stream: settings.stream,
      ignore_eos: true,
      ...probs,
    };
    return { path: "/completion", body: JSON.stringify(body), stream: settings.stream };
  }

  function parse(data: string): Chunk {
    const payload = parseObject(data);
    throwIfError(payload);
    const probabilities = payload.completion_probabilities ?? payload.probs;
    const timings = (payload.timings ?? {}) as WireTimings;
    // Counts come with the final event only. `tokens_evaluated` is the whole prompt;
    // `timings.prompt_n` leaves out the part served from the prompt cache, `timings.cache_n` is
    // that part (older servers lack it: the difference says the same). `tokens_cached` is the
    // slot's whole history, generated tokens included, so it is not a count of cached prompt
    // tokens.
    const done = payload.stop === true;
    const evaluated = numberOr(payload.tokens_evaluated);
    const fresh = numberOr(timings.prompt_n);
    const cached = numberOr(timings.cache_n) ??
      (evaluated !== undefined && fresh !== undefined && evaluated >= fresh
        ? evaluated - fresh
        : undefined);
    const chunk: Chunk = {
      text: textOr(payload.content),
      reasoning: "",
      logprobTokens: Array.isArray(probabilities) ? probabilities.length : undefined,
      usage: done
        ? usageOf(
          evaluated ?? fresh,
          numberOr(payload.tokens_predicted) ?? timings.predicted_n,
          cached,
        )
        : undefined,
    };
    // Set when the prompt plus the reply passed the context size: the reply was cut there.
    return done && payload.truncated === true ? { ...chunk, truncated: true } : chunk;
  }

  return {
    name: "llamacpp",
    framing: "sse",
    request,
    parseEvent: parse,
    fastEvent: llamacppFastEvent,
    parseBody: parse,
    tokenize: LLAMACPP_TOKENIZE,
  };
}

/**
 * llama.cpp's fast path: a token event, `{"index":0,"content":" Blue","tokens":[8868],
 * "stop":false,…}`, matched (see `_fast_json.ts`); the last event (`stop: true`, with the
 * counts), events with probabilities and errors go to the full parse.
 */
const llamacppFastEvent = fastPath(
  object(`"content":${PLAIN}`, [
    ignored(["content", "stop", "completion_probabilities", "probs", "error"]),
    '"stop":false',
  ]),
  (match): Chunk => ({
    text: match[1],
    reasoning: "",
    logprobTokens: undefined,
    usage: undefined,
  }),
);

/** llama.cpp's tokenize endpoint; `add_special` (default false there) adds the GGUF's BOS. */
const LLAMACPP_TOKENIZE: TokenizeSpec = {
  path: "/tokenize",
  body: (text, special) => JSON.stringify({ content: text, add_special: special }),
  count(reply) {
    const tokens = (reply as { tokens?: unknown } | null)?.tokens;
    if (!Array.isArray(tokens)) throw new Error("Expected tokens in the reply");
    return tokens.length;
  },
};
