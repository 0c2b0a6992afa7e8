/**
 * The mock server's Responses API route (`POST /v1/responses`), as OpenAI streams it: typed SSE
 * events (`event: <type>` then `data: <json>` with the same `type`), `response.created` first,
 * one `response.output_text.delta` per token (`response.reasoning_text.delta` for the reasoning
 * that `reasoning.effort` asks for), then `response.output_text.done` and `response.completed`
 * with the usage. No `[DONE]`. Pure string building, like `mock/openai.ts`.
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
  type MockReply,
  type ParsedRequest,
  readLength,
  SSE_TYPE,
  type StreamParts,
} from "./wire.ts";
import { countImageParts, IMAGE_TOKENS } from "./images.ts";
import { reasoningShare, reasoningTokens } from "./reasoning.ts";

/** Everything a Responses API reply depends on. */
export interface ResponsesSpec {
  /** Response id (`resp_...`), the same in every event. */
  readonly id: string;
  /** Unix time in seconds. */
  readonly created: number;
  /** Model name echoed back. */
  readonly model: string;
  /** Output tokens, reasoning included. */
  readonly tokens: number;
  /** Input tokens reported in `usage`. */
  readonly promptTokens: number;
  /** Share of the tokens sent first as reasoning; absent without `reasoning.effort`. */
  readonly reasoningShare?: number;
  /** Input tokens served from the prompt cache, if any. */
  readonly cachedPromptTokens?: number;
  /** `incomplete` when the reply stopped at `max_output_tokens`. */
  readonly incomplete: boolean;
  /** Whether the reply is streamed. */
  readonly stream: boolean;
}

/**
 * Reads a Responses API request, or returns why it is invalid: `input` (a string or messages,
 * their `input_text` parts counted and each `input_image` part {@link IMAGE_TOKENS} tokens),
 * `max_output_tokens` (default 16), `stream`, `reasoning.effort`.
 */
export function parseResponsesRequest(
  body: unknown,
  options: { readonly models: readonly string[]; readonly countTokens?: CountTokens },
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  const model = fields.model ?? options.models[0];
  if (typeof model !== "string" || model === "") return "The model must be a non-empty string";
  const input = fields.input;
  if (typeof input !== "string" && !Array.isArray(input)) {
    return "The request must have an input: a string or an array of messages";
  }
  const maxTokens = readLength(fields.max_output_tokens, "max_output_tokens", 16);
  if (typeof maxTokens === "string") return maxTokens;
  const share = reasoningShare((fields.reasoning as { effort?: unknown } | null)?.effort);
  if (typeof share === "string") return share;
  const count = options.countTokens ?? countWords;
  const texts = typeof input === "string" ? [input] : messagesText(input);
  const images = countImageParts(input);
  const promptTokens = texts.reduce((sum, text) => sum + count(text), 0) + images * IMAGE_TOKENS;
  const stream = fields.stream === true;
  return {
    model,
    maxTokens,
    stream,
    promptKey: JSON.stringify(input),
    fullLength: false,
    promptTokens,
    ...(images > 0 ? { images } : {}),
    reply: (common) =>
      responsesReply({
        id: `resp_${common.id}`,
        created: common.created,
        model,
        tokens: common.tokens,
        promptTokens,
        reasoningShare: share,
        cachedPromptTokens: common.cachedPromptTokens,
        incomplete: common.finishReason === "length",
        stream,
      }),
  };
}

/** The reply of a spec, for the server's timing loop. */
export function responsesReply(spec: ResponsesSpec): MockReply {
  return {
    tokens: spec.tokens,
    stream: spec.stream,
    contentType: spec.stream ? SSE_TYPE : JSON_TYPE,
    streamParts: () => streamParts(spec),
    tokenEvent: (k) => deltaEvent(spec, k),
    json: () => responseObject(spec, "completed"),
  };
}

/** Reasoning tokens at the start of the reply. */
function reasoningOf(spec: ResponsesSpec): number {
  return reasoningTokens(spec.tokens, spec.reasoningShare);
}

function streamParts(spec: ResponsesSpec): StreamParts {
  const head = event("response.created", `"response":${responseObject(spec, "in_progress")}`);
  const cycle = reasoningOf(spec) === 0 ? MOCK_WORDS.map((_, k) => deltaEvent(spec, k)) : null;
  const text = generatedText(spec.tokens).slice(generatedText(reasoningOf(spec)).length);
  const tail = event(
    "response.output_text.done",
    `"item_id":"msg_${spec.id}","output_index":0,"content_index":0,"text":"${text}"`,
  ) + event("response.completed", `"response":${responseObject(spec, "completed")}`);
  return { head, cycle, tail };
}

/** The event of token `k`: reasoning for the first tokens, visible text after. */
function deltaEvent(spec: ResponsesSpec, k: number): string {
  const word = MOCK_WORDS[k % MOCK_WORDS.length];
  const type = k < reasoningOf(spec)
    ? "response.reasoning_text.delta"
    : "response.output_text.delta";
  return event(
    type,
    `"item_id":"msg_${spec.id}","output_index":0,"content_index":0,"delta":"${word}"`,
  );
}

/** One typed SSE event: the `event:` line and the JSON with the same `type`. */
function event(type: string, fields: string): string {
  return `event: ${type}\ndata: {"type":"${type}",${fields}}\n\n`;
}

/** The response object: `in_progress` without output, or finished with output and usage. */
function responseObject(spec: ResponsesSpec, status: "in_progress" | "completed"): string {
  const open = `{"id":"${spec.id}","object":"response","created_at":${spec.created},` +
    `"model":${JSON.stringify(spec.model)}`;
  if (status === "in_progress") return `${open},"status":"in_progress","output":[],"usage":null}`;
  const thought = generatedText(reasoningOf(spec));
  const text = generatedText(spec.tokens).slice(thought.length);
  const reasoningItem = thought === "" ? "" : `{"id":"rs_${spec.id}","type":"reasoning",` +
    `"content":[{"type":"reasoning_text","text":"${thought}"}],"summary":[]},`;
  const message = `{"id":"msg_${spec.id}","type":"message","role":"assistant","status":` +
    `"completed","content":[{"type":"output_text","text":"${text}","annotations":[]}]}`;
  const cached = spec.cachedPromptTokens ?? 0;
  const usage = `{"input_tokens":${spec.promptTokens},"input_tokens_details":` +
    `{"cached_tokens":${cached}},"output_tokens":${spec.tokens},"output_tokens_details":` +
    `{"reasoning_tokens":${reasoningOf(spec)}},"total_tokens":${spec.promptTokens + spec.tokens}}`;
  const state = spec.incomplete
    ? `"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}`
    : `"status":"completed","incomplete_details":null`;
  return `${open},${state},"output":[${reasoningItem}${message}],"usage":${usage}}`;
}
