/**
 * Fireworks: the OpenAI dialect plus `min_tokens` equal to `max_tokens`, so the model cannot
 * stop before the length asked for.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "./types.ts";
import { createOpenAIProvider } from "./openai.ts";

/** `owned_by` values Fireworks' `/v1/models` reports. */
export const FIREWORKS_OWNED_BY: readonly string[] = ["fireworks"];

/** Builds the Fireworks provider: OpenAI routes, `min_tokens = max_tokens`. */
export function createFireworksProvider(settings: ProviderOptions): Provider {
  return createOpenAIProvider(settings, {
    name: "fireworks",
    extras: (sample) => ({ min_tokens: sample.maxTokens }),
  });
}
