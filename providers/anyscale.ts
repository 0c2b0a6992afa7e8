/**
 * Anyscale Endpoints: the plain OpenAI dialect (no extras; nothing asks it not to stop early).
 *
 * @module
 */
import type { Provider } from "../lib/types.ts";
import type { ProviderSettings } from "./_shared.ts";
import { createOpenAIProvider } from "./openai.ts";

/** Builds the Anyscale provider: OpenAI routes and body, named `anyscale`. */
export function createAnyscaleProvider(settings: ProviderSettings): Provider {
  return createOpenAIProvider(settings, { name: "anyscale" });
}
