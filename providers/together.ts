/**
 * Together AI: its current API is OpenAI-compatible (`/v1/completions`, `/v1/chat/completions`,
 * streams ending in `data: [DONE]`, usage in the last chunk); `ignore_eos` keeps the model from
 * stopping early. The seed's legacy `/inference` route with `stream_tokens` is gone.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "./types.ts";
import { createOpenAIProvider } from "./openai.ts";
import type { ContextSource } from "./_shared.ts";

/** `owned_by` values Together's `/v1/models` reports. */
export const TOGETHER_OWNED_BY: readonly string[] = ["together"];

/** Together's `/v1/models` (a bare array) gives each model's `context_length`. */
export const TOGETHER_CONTEXT: readonly ContextSource[] = [
  { path: "/v1/models", field: ["context_length"], bounds: "total", kind: "limit" },
];

/** Builds the Together provider: OpenAI routes, `ignore_eos: true`. */
export function createTogetherProvider(settings: ProviderOptions): Provider {
  return createOpenAIProvider(settings, { name: "together", extras: () => ({ ignore_eos: true }) });
}
