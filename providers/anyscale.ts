/**
 * Anyscale Endpoints: the plain OpenAI dialect (no extras; nothing asks it not to stop early).
 *
 * @module
 */
import type { Provider, ProviderOptions } from "./types.ts";
import { createOpenAIProvider } from "./openai.ts";

/** Builds the Anyscale provider: OpenAI routes and body, named `anyscale`. */
export function createAnyscaleProvider(settings: ProviderOptions): Provider {
  return createOpenAIProvider(settings, { name: "anyscale" });
}
