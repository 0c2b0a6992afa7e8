/**
 * Ollama's native API: `/api/generate` (completions, sent `raw` so no prompt template is added)
 * and `/api/chat`. Streams are newline-delimited JSON objects, each with a piece of `response`
 * (or `message.content`), the last one `done: true` with `eval_count` (generated tokens) and
 * `prompt_eval_count`. `options.num_predict` caps the length; Ollama has no way to ignore the
 * end-of-sequence token.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample } from "./types.ts";
import { parseObject, textOr, throwIfError, usageOf } from "./_shared.ts";
import { eachMember, JsonScan } from "./_json_scan.ts";

/**
 * `owned_by` values Ollama's `/v1/models` reports, the usual one first: its OpenAI-compatible
 * route lists library models as owned by "library".
 */
export const OLLAMA_OWNED_BY: readonly string[] = ["library", "ollama"];

interface WireMessage {
  content?: string;
  thinking?: string;
}

/**
 * Builds the Ollama provider. `--logprobs N` sends `logprobs: true` (and `top_logprobs: N` when
 * N > 0), and each streamed object's `logprobs` entries are counted.
 *
 * @example
 * ```ts
 * const ollama = createOllamaProvider({ model: "llama3", chat: true, stream: true, temperature: 1 });
 * ollama.request({ prompt: "Hi", maxTokens: 8 }).path; // "/api/chat"
 * ```
 */
export function createOllamaProvider(settings: ProviderOptions): Provider {
  const path = settings.chat ? "/api/chat" : "/api/generate";
  const logprobs = settings.logprobs === undefined
    ? {}
    : { logprobs: true, ...(settings.logprobs > 0 ? { top_logprobs: settings.logprobs } : {}) };

  function request(sample: Sample) {
    const input = settings.chat
      ? { messages: [{ role: "user", content: sample.prompt }] }
      : { prompt: sample.prompt, raw: true };
    const body = {
      model: settings.model,
      ...input,
      stream: settings.stream,
      options: { num_predict: sample.maxTokens, temperature: settings.temperature },
      ...logprobs,
    };
    return { path, body: JSON.stringify(body), stream: settings.stream };
  }

  function parse(data: string): Chunk {
    const payload = parseObject(data);
    throwIfError(payload);
    const message = (payload.message ?? {}) as WireMessage;
    const entries = payload.logprobs;
    return {
      text: textOr(payload.response) || textOr(message.content),
      reasoning: textOr(payload.thinking) || textOr(message.thinking),
      logprobTokens: Array.isArray(entries) ? entries.length : undefined,
      usage: payload.done === true
        ? usageOf(payload.prompt_eval_count, payload.eval_count)
        : undefined,
    };
  }

  return {
    name: "ollama",
    framing: "ndjson",
    request,
    parseEvent: parse,
    fastEvent: createOllamaFastEvent(),
    parseBody: parse,
  };
}

/**
 * Ollama's fast path: a streamed object before the last (`"done":false`, a piece of `response`
 * or `message.content`, `thinking`, `logprobs` counted) read in place; the last one (with the
 * counts) and errors go to the full parse.
 */
function createOllamaFastEvent(): NonNullable<Provider["fastEvent"]> {
  const scan = new JsonScan();
  let response: string | null | undefined;
  let thinking: string | null | undefined;
  let content: string | null | undefined;
  let messageThinking: string | null | undefined;
  let logprobs: number | null | undefined;
  let seen = 0;

  function once(bit: number): boolean {
    if (seen & bit) return false;
    seen |= bit;
    return true;
  }

  function messageMember(): boolean {
    if (scan.isKey("content")) return once(1) && (content = scan.stringOrNull()) !== undefined;
    if (scan.isKey("thinking")) {
      return once(2) && (messageThinking = scan.stringOrNull()) !== undefined;
    }
    return scan.skip();
  }

  function member(): boolean {
    if (scan.isKey("response")) return once(4) && (response = scan.stringOrNull()) !== undefined;
    if (scan.isKey("thinking")) return once(8) && (thinking = scan.stringOrNull()) !== undefined;
    if (scan.isKey("message")) return once(16) && (scan.null() || eachMember(scan, messageMember));
    if (scan.isKey("done")) return once(32) && scan.boolean() === false;
    if (scan.isKey("logprobs")) {
      if (!once(64)) return false;
      if (scan.null()) return true;
      const length = scan.arrayLength();
      logprobs = length;
      return length !== -1;
    }
    if (scan.isKey("error")) return false;
    return scan.skip();
  }

  return function fastEvent(data: string): Chunk | undefined {
    scan.reset(data);
    response =
      thinking =
      content =
      messageThinking =
      logprobs =
        undefined;
    seen = 0;
    if (!eachMember(scan, member) || !scan.done()) return undefined;
    // As the full parse: the top-level field, or the message's when that one is empty.
    return {
      text: response || content || "",
      reasoning: thinking || messageThinking || "",
      logprobTokens: logprobs ?? undefined,
      usage: undefined,
    };
  };
}
