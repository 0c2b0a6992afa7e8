/**
 * The mock server's Ollama routes, `POST /api/generate` and `POST /api/chat`, as Ollama answers
 * them. Streams are newline-delimited JSON: one object per token (`response`, or
 * `message.content` for chat, `done: false`), then one `done: true` object with `done_reason`,
 * `prompt_eval_count` and `eval_count`. `stream` defaults to true, as in Ollama.
 * `options.num_predict` caps the length; nothing asks Ollama to ignore the end of sequence.
 *
 * @module
 */
import {
  asObject,
  type CountTokens,
  countWords,
  generatedText,
  JSON_TYPE,
  messagesText,
  MOCK_WORDS,
  NDJSON_TYPE,
  type ParsedRequest,
  readLength,
  WORD_LOGPROBS,
} from "./wire.ts";

/** Length when a request gives no `num_predict` (Ollama's own default is unlimited). */
const DEFAULT_PREDICT = 128;

/** A fixed timestamp: the mock's replies do not need a clock. */
const CREATED_AT = "2025-01-01T00:00:00.000000Z";

/**
 * Reads an Ollama generate or chat request, or returns why it is invalid. `countTokens` counts the
 * prompt or message texts for `prompt_eval_count` (default: whitespace-separated words).
 */
export function parseOllamaRequest(
  body: unknown,
  options: { chat: boolean; models: readonly string[]; countTokens?: CountTokens },
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  const model = fields.model;
  if (typeof model !== "string" || model === "") return "model is required";
  if (!options.models.includes(model)) return `model '${model}' not found`;
  let promptText: string[];
  if (options.chat) {
    if (!Array.isArray(fields.messages)) return "messages is required";
    promptText = messagesText(fields.messages);
  } else {
    if (typeof fields.prompt !== "string") return "prompt is required";
    promptText = [fields.prompt];
  }
  const modelOptions = (fields.options ?? {}) as Record<string, unknown>;
  const predict = modelOptions.num_predict;
  const maxTokens = readLength(
    typeof predict === "number" && predict < 0 ? undefined : predict,
    "num_predict",
    DEFAULT_PREDICT,
  );
  if (typeof maxTokens === "string") return maxTokens;
  const stream = fields.stream !== false;
  const logprobs = fields.logprobs === true;
  const count = options.countTokens ?? countWords;
  const promptTokens = promptText.reduce((sum, text) => sum + count(text), 0);
  const open = `{"model":${JSON.stringify(model)},"created_at":"${CREATED_AT}",`;
  const piece = (text: string) =>
    options.chat ? `"message":{"role":"assistant","content":${text}}` : `"response":${text}`;
  return {
    model,
    maxTokens,
    stream,
    fullLength: false,
    reply: (common) => {
      const n = common.tokens;
      const line = (i: number) => {
        const word = MOCK_WORDS[i];
        const entry = logprobs
          ? `,"logprobs":[{"token":"${word}","logprob":${WORD_LOGPROBS[i]},"bytes":` +
            `${JSON.stringify([...new TextEncoder().encode(word)])},"top_logprobs":[]}]`
          : "";
        return `${open}${piece(`"${word}"`)},"done":false${entry}}\n`;
      };
      const final = (text: string) =>
        `${open}${piece(JSON.stringify(text))},"done":true,"done_reason":` +
        `"${common.finishReason === "length" ? "length" : "stop"}","total_duration":1000,` +
        `"load_duration":100,"prompt_eval_count":${promptTokens},"prompt_eval_duration":100,` +
        `"eval_count":${n},"eval_duration":800}`;
      return {
        tokens: n,
        stream,
        contentType: stream ? NDJSON_TYPE : JSON_TYPE,
        streamParts: () => ({
          head: "",
          cycle: MOCK_WORDS.map((_, i) => line(i)),
          tail: `${final("")}\n`,
        }),
        tokenEvent: (k) => line(k % MOCK_WORDS.length),
        json: () => final(generatedText(n)),
      };
    },
  };
}

/** An Ollama error body: `{"error": "..."}`. */
export function ollamaErrorBody(message: string): string {
  return JSON.stringify({ error: message });
}

/** Ollama's model list (`GET /api/tags`). */
export function ollamaTags(models: readonly string[]): string {
  return JSON.stringify({
    models: models.map((name) => ({ name, model: name, modified_at: CREATED_AT, size: 0 })),
  });
}
