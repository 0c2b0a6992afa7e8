/**
 * vLLM: the OpenAI dialect plus `ignore_eos`, so every request generates exactly `max_tokens`.
 *
 * @module
 */
import type { Provider } from "../lib/types.ts";
import type { ProviderSettings } from "./_shared.ts";
import { createOpenAIProvider } from "./openai.ts";

/** Builds the vLLM provider: OpenAI routes, `ignore_eos: true`. */
export function createVllmProvider(settings: ProviderSettings): Provider {
  return createOpenAIProvider(settings, { name: "vllm", extras: () => ({ ignore_eos: true }) });
}
