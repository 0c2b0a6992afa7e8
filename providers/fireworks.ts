/**
 * Fireworks: the OpenAI dialect plus `min_tokens` equal to `max_tokens`, so the model cannot
 * stop before the length asked for.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "./types.ts";
import { createOpenAIProvider } from "./openai.ts";

/** Builds the Fireworks provider: OpenAI routes, `min_tokens = max_tokens`. */
export function createFireworksProvider(settings: ProviderOptions): Provider {
  return createOpenAIProvider(settings, {
    name: "fireworks",
    extras: (sample) => ({ min_tokens: sample.maxTokens }),
  });
}
