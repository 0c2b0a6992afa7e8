/**
 * The mock server's TGI routes: `POST /generate` and `POST /generate_stream`, as Hugging Face
 * Text Generation Inference answers them. A stream sends one `data:` event per token
 * (`{"index", "token": {"id", "text", "logprob", "special"}, "generated_text": null,
 * "details": null}`); the last event carries the whole `generated_text` and `details`
 * (`finish_reason`, `generated_tokens`, `seed`, `input_length`). A body is
 * `{"generated_text", "details"}` with the token list when `details` was asked for.
 *
 * @module
 */
import {
  asObject,
  type CountTokens,
  countWords,
  generatedText,
  JSON_TYPE,
  MOCK_WORDS,
  type MockReply,
  type ParsedRequest,
  readLength,
  SSE_TYPE,
  sseEvent,
  WORD_IDS,
  WORD_LOGPROBS,
} from "./wire.ts";

/** TGI's default `max_new_tokens`. */
const DEFAULT_NEW_TOKENS = 100;

/**
 * Reads a TGI generate request, or returns why it is invalid. `countTokens` counts the prompt for
 * `details.input_length` (default: whitespace-separated words).
 */
export function parseTgiRequest(
  body: unknown,
  options: { stream: boolean; model: string; countTokens?: CountTokens },
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  if (typeof fields.inputs !== "string") return "The request must have an inputs string";
  const parameters = (fields.parameters ?? {}) as Record<string, unknown>;
  if (typeof parameters !== "object" || Array.isArray(parameters)) {
    return "parameters must be an object";
  }
  const temperature = parameters.temperature;
  if (temperature !== undefined && temperature !== null) {
    if (typeof temperature !== "number" || !(temperature > 0)) {
      return "Input validation error: `temperature` must be strictly positive";
    }
  }
  const maxTokens = readLength(parameters.max_new_tokens, "max_new_tokens", DEFAULT_NEW_TOKENS);
  if (typeof maxTokens === "string") return maxTokens;
  const promptTokens = (options.countTokens ?? countWords)(fields.inputs);
  const details = parameters.details === true;
  return {
    model: options.model,
    maxTokens,
    stream: options.stream,
    fullLength: false,
    promptTokens,
    reply: (common) => {
      const finish = common.finishReason === "length" ? "length" : "eos_token";
      return tgiReply({
        tokens: common.tokens,
        finish,
        promptTokens,
        details,
        stream: options.stream,
      });
    },
  };
}

interface TgiSpec {
  readonly tokens: number;
  readonly finish: string;
  readonly promptTokens: number;
  readonly details: boolean;
  readonly stream: boolean;
}

function tgiReply(spec: TgiSpec): MockReply {
  function event(k: number, last: boolean): string {
    const i = k % MOCK_WORDS.length;
    const token = `{"id":${WORD_IDS[i]},"text":"${MOCK_WORDS[i]}","logprob":${WORD_LOGPROBS[i]},` +
      `"special":false}`;
    const tail = last
      ? `"generated_text":"${generatedText(spec.tokens)}","details":{"finish_reason":` +
        `"${spec.finish}","generated_tokens":${spec.tokens},"seed":null,` +
        `"input_length":${spec.promptTokens}}`
      : `"generated_text":null,"details":null`;
    return sseEvent(`{"index":${k + 1},"token":${token},${tail}}`);
  }
  return {
    tokens: spec.tokens,
    stream: spec.stream,
    contentType: spec.stream ? SSE_TYPE : JSON_TYPE,
    streamParts: () => ({ head: "", cycle: null, tail: "", last: event(spec.tokens - 1, true) }),
    tokenEvent: (k) => event(k, false),
    json() {
      const text = `"generated_text":"${generatedText(spec.tokens)}"`;
      if (!spec.details) return `{${text}}`;
      const tokens = new Array<string>(spec.tokens);
      for (let k = 0; k < spec.tokens; k++) {
        const i = k % MOCK_WORDS.length;
        tokens[k] = `{"id":${WORD_IDS[i]},"text":"${MOCK_WORDS[i]}",` +
          `"logprob":${WORD_LOGPROBS[i]},"special":false}`;
      }
      return `{${text},"details":{"finish_reason":"${spec.finish}",` +
        `"generated_tokens":${spec.tokens},"seed":null,"prefill":[],"tokens":[${
          tokens.join(",")
        }]}}`;
    },
  };
}

/** A TGI error body: `{"error", "error_type"}`. */
export function tgiErrorBody(message: string): string {
  return JSON.stringify({ error: message, error_type: "validation" });
}
