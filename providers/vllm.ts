/**
 * vLLM: the OpenAI dialect plus `ignore_eos`, so every request generates exactly `max_tokens`.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "../lib/types.ts";
import { createOpenAIProvider } from "./openai.ts";

/** Builds the vLLM provider: OpenAI routes, `ignore_eos: true`. */
export function createVllmProvider(settings: ProviderOptions): Provider {
  return createOpenAIProvider(settings, { name: "vllm", extras: () => ({ ignore_eos: true }) });
}
