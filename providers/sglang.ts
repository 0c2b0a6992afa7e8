/**
 * SGLang: the OpenAI dialect plus `ignore_eos`. Its streams may open with an empty chunk, which
 * never counts as the first token (see `request/run_request.ts`). Its `POST /tokenize` takes and returns
 * what vLLM's does.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "./types.ts";
import { createOpenAIProvider, OPENAI_COMPATIBLE_CONTEXT } from "./openai.ts";
import { vllmTokenize } from "./vllm.ts";
import type { ContextSource } from "./_shared.ts";

/** `owned_by` values SGLang's `/v1/models` reports. */
export const SGLANG_OWNED_BY: readonly string[] = ["sglang"];

/**
 * SGLang's `/v1/models` entries carry `max_model_len` like vLLM's (its `/get_model_info` names
 * the model path, not the context).
 */
export const SGLANG_CONTEXT: readonly ContextSource[] = OPENAI_COMPATIBLE_CONTEXT;

/** Builds the SGLang provider: OpenAI routes, `ignore_eos: true`, vLLM's `/tokenize`. */
export function createSglangProvider(settings: ProviderOptions): Provider {
  return {
    ...createOpenAIProvider(settings, { name: "sglang", extras: () => ({ ignore_eos: true }) }),
    tokenize: vllmTokenize(settings.model),
  };
}
