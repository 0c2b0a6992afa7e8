/**
 * vLLM: the OpenAI dialect plus `ignore_eos`, so every request generates exactly `max_tokens`,
 * and its `POST /tokenize` (`{"model", "prompt", "add_special_tokens"}` →
 * `{"count", "tokens", "max_model_len"}`) for `--tokenizer server`.
 *
 * @module
 */
import type { Provider, ProviderOptions, TokenizeSpec } from "./types.ts";
import { numberOr } from "./_shared.ts";
import { createOpenAIProvider, OPENAI_COMPATIBLE_CONTEXT } from "./openai.ts";
import type { ContextSource } from "./_shared.ts";

/** `owned_by` values vLLM's `/v1/models` reports. */
export const VLLM_OWNED_BY: readonly string[] = ["vllm"];

/** vLLM reports `max_model_len` (prompt + max_tokens) in each `/v1/models` entry. */
export const VLLM_CONTEXT: readonly ContextSource[] = OPENAI_COMPATIBLE_CONTEXT;

/** Builds the vLLM provider: OpenAI routes, `ignore_eos: true`, `/tokenize`. */
export function createVllmProvider(settings: ProviderOptions): Provider {
  return {
    ...createOpenAIProvider(settings, { name: "vllm", extras: () => ({ ignore_eos: true }) }),
    tokenize: vllmTokenize(settings.model),
  };
}

/**
 * vLLM's tokenize endpoint, which SGLang copies. `add_special_tokens` defaults to true there, as
 * on vLLM's completions route, so a prompt's count includes the BOS the server adds.
 *
 * @example
 * ```ts
 * vllmTokenize("m").count({ count: 3, tokens: [1, 2, 3] }); // 3
 * ```
 */
export function vllmTokenize(model: string): TokenizeSpec {
  return {
    path: "/tokenize",
    body: (text, special) => JSON.stringify({ model, prompt: text, add_special_tokens: special }),
    count(reply) {
      const fields = (reply ?? {}) as { count?: unknown; tokens?: unknown };
      const count = numberOr(fields.count) ??
        (Array.isArray(fields.tokens) ? fields.tokens.length : undefined);
      if (count === undefined) throw new Error("Expected count or tokens in the reply");
      return count;
    },
  };
}
