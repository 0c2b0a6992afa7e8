/**
 * Anyscale Endpoints: the plain OpenAI dialect (no extras; nothing asks it not to stop early).
 *
 * @module
 */
import type { Provider, ProviderOptions } from "./types.ts";
import { createOpenAIProvider } from "./openai.ts";

/**
 * `owned_by` Anyscale Endpoints reports. OpenAI reports "system" too and comes first in the
 * registry, so a guess from it picks openai: the same dialect, so the guess does no harm.
 */
export const ANYSCALE_OWNED_BY: readonly string[] = ["system"];

/** Builds the Anyscale provider: OpenAI routes and body, named `anyscale`. */
export function createAnyscaleProvider(settings: ProviderOptions): Provider {
  return createOpenAIProvider(settings, { name: "anyscale" });
}
