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
import { fastPath, ignored, object, PLAIN } from "./_fast_json.ts";

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
      ? { messages: sample.messages ?? [{ role: "user", content: sample.prompt }] }
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
    fastEvent: ollamaFastEvent,
    parseBody: parse,
  };
}

/**
 * Ollama's fast path: a streamed object before the last, `{"model":…,"response":" the",
 * "done":false}` or with `"message":{"role":"assistant","content":" the"}`, matched (see
 * `_fast_json.ts`); the last one (with the counts), thinking, logprobs and errors go to the
 * full parse.
 */
const ollamaFastEvent = fastPath(
  object(
    `(?:"response":${PLAIN}|"message":${
      object(`"content":${PLAIN}`, [ignored(["content", "thinking"])])
    })`,
    [ignored(["response", "message", "thinking", "done", "logprobs", "error"]), '"done":false'],
  ),
  (match): Chunk => ({
    text: match[1] ?? match[2],
    reasoning: "",
    logprobTokens: undefined,
    usage: undefined,
  }),
);
