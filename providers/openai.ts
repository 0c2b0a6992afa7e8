/**
 * The OpenAI completions and chat dialect, spoken by OpenAI itself and by every
 * OpenAI-compatible server (vLLM, SGLang, llama.cpp, Fireworks, Together's v1 routes…).
 * Dialects that differ only in request extras build on {@link createOpenAIProvider}.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample, Usage } from "../lib/types.ts";

/** Request fields a derived dialect adds to every body (e.g. `ignore_eos`). */
export type RequestExtras = (sample: Sample) => Record<string, unknown>;

/** Options of an OpenAI-style provider beyond the common ones. */
export interface OpenAIDialect {
  /** Dialect name reported to the user. */
  readonly name: string;
  /** Extra body fields for each request. */
  readonly extras?: RequestExtras;
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

interface WireChoice {
  text?: string;
  delta?: { content?: string | null; reasoning_content?: string | null; reasoning?: string | null };
  message?: {
    content?: string | null;
    reasoning_content?: string | null;
    reasoning?: string | null;
  };
  logprobs?: { tokens?: unknown[]; content?: unknown[] | null } | null;
}

interface WirePayload {
  choices?: WireChoice[];
  usage?: WireUsage | null;
  error?: { message?: string };
}

/**
 * Builds an OpenAI-compatible provider.
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
  const path = options.chat ? "/v1/chat/completions" : "/v1/completions";
  const logprobs = options.logprobs === undefined
    ? {}
    : options.chat
    ? { logprobs: true, top_logprobs: options.logprobs }
    : { logprobs: options.logprobs };

  function request(sample: Sample) {
    const input = options.chat
      ? { messages: [{ role: "user", content: sample.prompt }] }
      : { prompt: sample.prompt };
    const body = {
      model: options.model,
      ...input,
      max_tokens: sample.maxTokens,
      temperature: options.temperature,
      stream: options.stream,
      ...(options.stream ? { stream_options: { include_usage: true } } : {}),
      ...logprobs,
      ...dialect.extras?.(sample),
    };
    return { path, body: JSON.stringify(body), stream: options.stream };
  }

  function parseEvent(data: string): Chunk | null {
    if (data === "[DONE]") return null;
    return parsePayload(JSON.parse(data));
  }

  function parseBody(body: string): Chunk {
    return parsePayload(JSON.parse(body));
  }

  return { name: dialect.name, framing: "sse", request, parseEvent, parseBody };
}

function parsePayload(payload: WirePayload): Chunk {
  if (typeof payload !== "object" || payload === null) {
    throw new Error(`Expected a JSON object, got ${JSON.stringify(payload)?.slice(0, 80)}`);
  }
  if (payload.error) throw new Error(`Server error event: ${payload.error.message ?? "unknown"}`);
  const choice = payload.choices?.[0];
  const part = choice?.delta ?? choice?.message;
  const text = choice?.text ?? part?.content ?? "";
  const reasoning = part?.reasoning_content ?? part?.reasoning ?? "";
  const logprobList = choice?.logprobs?.content ?? choice?.logprobs?.tokens;
  return {
    text,
    reasoning,
    logprobTokens: Array.isArray(logprobList) ? logprobList.length : undefined,
    usage: payload.usage ? toUsage(payload.usage) : undefined,
  };
}

function toUsage(usage: WireUsage): Usage {
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}
