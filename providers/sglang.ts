/**
 * SGLang: the OpenAI dialect plus `ignore_eos`. Its streams may open with an empty chunk, which
 * never counts as the first token (see `lib/request.ts`). Its `POST /tokenize` takes and returns
 * what vLLM's does.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "../lib/types.ts";
import { createOpenAIProvider } from "./openai.ts";
import { vllmTokenize } from "./vllm.ts";

/** Builds the SGLang provider: OpenAI routes, `ignore_eos: true`, vLLM's `/tokenize`. */
export function createSglangProvider(settings: ProviderOptions): Provider {
  return {
    ...createOpenAIProvider(settings, { name: "sglang", extras: () => ({ ignore_eos: true }) }),
    tokenize: vllmTokenize(settings.model),
  };
}
