/**
 * SGLang: the OpenAI dialect plus `ignore_eos`. Its streams may open with an empty chunk, which
 * never counts as the first token (see `lib/request.ts`).
 *
 * @module
 */
import type { Provider } from "../lib/types.ts";
import type { ProviderSettings } from "./_shared.ts";
import { createOpenAIProvider } from "./openai.ts";

/** Builds the SGLang provider: OpenAI routes, `ignore_eos: true`. */
export function createSglangProvider(settings: ProviderSettings): Provider {
  return createOpenAIProvider(settings, { name: "sglang", extras: () => ({ ignore_eos: true }) });
}
