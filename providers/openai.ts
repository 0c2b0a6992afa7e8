/**
 * The OpenAI completions and chat dialect, spoken by OpenAI itself and by every
 * OpenAI-compatible server (vLLM, SGLang, llama.cpp, Fireworks, Together, TGI's Messages API…).
 * Dialects that differ only in request extras build on {@link createOpenAIProvider}.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample, Usage } from "./types.ts";
import { type ContextSource, numberOr, serverErrorEvent, usageOf } from "./_shared.ts";
import { openAIFastEvent } from "./openai_fast.ts";
import { type ContentPart, messagesWithImages } from "./_content.ts";
import { createResponsesProvider } from "./openai_responses.ts";

/** `owned_by` values OpenAI's `/v1/models` reports, the usual one first. */
export const OPENAI_OWNED_BY: readonly string[] = ["openai", "system"];

/**
 * Where OpenAI-compatible servers report their context: vLLM and SGLang put `max_model_len`
 * in each `/v1/models` entry. OpenAI itself reports none, so the field is simply absent there.
 */
export const OPENAI_COMPATIBLE_CONTEXT: readonly ContextSource[] = [
  { path: "/v1/models", field: ["max_model_len"], bounds: "total", kind: "limit" },
];

/** Request fields a derived dialect adds to every body (e.g. `ignore_eos`). */
export type RequestExtras = (sample: Sample) => Record<string, unknown>;

/** Options of an OpenAI-style provider beyond the common ones. */
export interface OpenAIDialect {
  /** Dialect name reported to the user. */
  readonly name: string;
  /** Extra body fields for each request. */
  readonly extras?: RequestExtras;
}

interface WireMessage {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
}

interface WireChoice {
  index?: number;
  text?: string | null;
  delta?: WireMessage | null;
  message?: WireMessage | null;
  logprobs?: { tokens?: unknown[] | null; content?: unknown[] | null } | null;
}

interface WirePayload {
  choices?: WireChoice[] | null;
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
    completion_tokens_details?: { reasoning_tokens?: number } | null;
  } | null;
  /** llama.cpp: timings of the finish chunk, `cache_n` = prompt tokens reused from its cache. */
  timings?: { cache_n?: number } | null;
  /** llama.cpp: the reply was cut at the context size. */
  truncated?: boolean;
  error?: unknown;
}

/**
 * Builds an OpenAI-compatible provider. Streams ask for `stream_options.include_usage`, so the
 * server's own count ends the stream; `n` is sent only above 1. In chat, a sample's images go
 * into its last user message as `image_url` content parts, and `reasoning_effort` is sent when
 * asked for. With `responses` it speaks the Responses API instead (`openai_responses.ts`).
 *
 * @example
 * ```ts
 * const provider = createOpenAIProvider({ model: "m", chat: true, stream: true, temperature: 1 });
 * provider.request({ prompt: "Hi", maxTokens: 16 }).path; // "/v1/chat/completions"
 * ```
 */
export function createOpenAIProvider(
  options: ProviderOptions,
  dialect: OpenAIDialect = { name: "openai" },
): Provider {
  if (options.responses) return createResponsesProvider(options, dialect.name);
  const path = options.chat ? "/v1/chat/completions" : "/v1/completions";
  const logprobs = options.logprobs === undefined
    ? {}
    : options.chat
    ? { logprobs: true, top_logprobs: options.logprobs }
    : { logprobs: options.logprobs };
  const n = options.n !== undefined && options.n > 1 ? { n: options.n } : {};
  const effort = options.chat && options.reasoningEffort !== undefined
    ? { reasoning_effort: options.reasoningEffort }
    : {};

  function request(sample: Sample) {
    const input = options.chat
      ? { messages: messagesWithImages(sample, options.imagesPosition, chatPart) }
      : { prompt: sample.prompt };
    const body = {
      model: options.model,
      ...input,
      max_tokens: sample.maxTokens,
      temperature: options.temperature,
      stream: options.stream,
      ...(options.stream ? { stream_options: { include_usage: true } } : {}),
      ...n,
      ...logprobs,
      ...effort,
      ...dialect.extras?.(sample),
    };
    return { path, body: JSON.stringify(body), stream: options.stream };
  }

  const perChoice = { choices: options.n ?? 1 };

  // `[DONE]` never reaches parseEvent: the request path tests every event for `endMarker`.
  function parseEvent(data: string): Chunk {
    return parseOpenAIPayload(JSON.parse(data), perChoice);
  }

  function parseBody(body: string): Chunk {
    return parseOpenAIPayload(JSON.parse(body), perChoice);
  }

  return {
    name: dialect.name,
    framing: "sse",
    endMarker: "[DONE]",
    request,
    parseEvent,
    fastEvent: openAIFastEvent,
    parseBody,
  };
}

/** A message part as chat completions take it: `text`, or `image_url` with a `data:` URL. */
function chatPart(part: ContentPart): unknown {
  return "text" in part
    ? { type: "text", text: part.text }
    : { type: "image_url", image_url: { url: part.image } };
}

/**
 * Reads one OpenAI-style chunk or body: text from `choices[].text` or the delta/message
 * `content`, reasoning from `reasoning_content` or `reasoning`, logprob entries counted, usage
 * wherever it appears (its own chunk, the last token chunk, or the body). Every choice is read,
 * so `n > 1` bodies count all their text. With `options.choices` above 1, usage in a chunk of
 * exactly one choice is marked with that choice's index: llama.cpp sends one usage per choice,
 * and the request sums them. Cached
 * prompt tokens come from `usage.prompt_tokens_details.cached_tokens` (OpenAI, vLLM) or
 * llama.cpp's `timings.cache_n`, reasoning tokens from
 * `usage.completion_tokens_details.reasoning_tokens`; llama.cpp's `truncated: true` is passed on.
 */
export function parseOpenAIPayload(
  payload: WirePayload,
  options: { readonly choices?: number } = {},
): Chunk {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new Error(`Expected a JSON object, got ${JSON.stringify(payload)?.slice(0, 80)}`);
  }
  if (payload.error) throw serverErrorEvent(payload.error);
  const choices = payload.choices ?? [];
  let text = "";
  let reasoning = "";
  let logprobTokens: number | undefined;
  for (const choice of choices) {
    const part = choice.delta ?? choice.message;
    text += choice.text ?? part?.content ?? "";
    reasoning += part?.reasoning_content ?? part?.reasoning ?? "";
    const entries = choice.logprobs?.content ?? choice.logprobs?.tokens;
    if (Array.isArray(entries)) logprobTokens = (logprobTokens ?? 0) + entries.length;
  }
  let usage: Usage | undefined;
  if (payload.usage) {
    const cached = numberOr(payload.usage.prompt_tokens_details?.cached_tokens) ??
      numberOr(payload.timings?.cache_n);
    usage = usageOf(payload.usage.prompt_tokens, payload.usage.completion_tokens, cached);
    const reasoningTokens = numberOr(payload.usage.completion_tokens_details?.reasoning_tokens);
    if (usage && reasoningTokens !== undefined) usage = { ...usage, reasoningTokens };
    const perChoice = (options.choices ?? 1) > 1 && choices.length === 1;
    const index = perChoice ? numberOr(choices[0].index) : undefined;
    if (usage && index !== undefined) usage = { ...usage, choice: index };
  }
  const chunk: Chunk = { text, reasoning, logprobTokens, usage };
  return payload.truncated === true ? { ...chunk, truncated: true } : chunk;
}
