/**
 * vLLM: the OpenAI dialect plus `ignore_eos`, so every request generates exactly `max_tokens`.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "../lib/types.ts";
import { createOpenAIProvider, OPENAI_COMPATIBLE_CONTEXT } from "./openai.ts";
import type { ContextSource } from "./_shared.ts";

/** vLLM reports `max_model_len` (prompt + max_tokens) in each `/v1/models` entry. */
export const VLLM_CONTEXT: readonly ContextSource[] = OPENAI_COMPATIBLE_CONTEXT;

/** Builds the vLLM provider: OpenAI routes, `ignore_eos: true`. */
export function createVllmProvider(settings: ProviderOptions): Provider {
  return createOpenAIProvider(settings, { name: "vllm", extras: () => ({ ignore_eos: true }) });
}
