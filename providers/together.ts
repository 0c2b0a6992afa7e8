/**
 * Together AI: its current API is OpenAI-compatible (`/v1/completions`, `/v1/chat/completions`,
 * streams ending in `data: [DONE]`, usage in the last chunk); `ignore_eos` keeps the model from
 * stopping early. The seed's legacy `/inference` route with `stream_tokens` is gone.
 *
 * @module
 */
import type { Provider } from "../lib/types.ts";
import type { ProviderSettings } from "./_shared.ts";
import { createOpenAIProvider } from "./openai.ts";

/** Builds the Together provider: OpenAI routes, `ignore_eos: true`. */
export function createTogetherProvider(settings: ProviderSettings): Provider {
  return createOpenAIProvider(settings, { name: "together", extras: () => ({ ignore_eos: true }) });
}
