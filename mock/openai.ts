/**
 * The mock server's OpenAI routes (`/v1/completions`, `/v1/chat/completions`): reading a request
 * body, and the wire text of the reply as vLLM and OpenAI emit it, or in the flavour of another
 * OpenAI-compatible server (where usage goes, extra fields). Pure string building, no I/O, so the
 * shapes are tested directly and the server only decides when each piece goes out.
 *
 * Streamed replies are cut into a head (the chat role-only chunk), one SSE event per token and a
 * tail (the `finish_reason` chunk, the optional usage chunk and `data: [DONE]`).
 *
 * @module
 */
import {
  asObject,
  type CountTokens,
  countWords,
  type FinishReason,
  generatedText,
  JSON_TYPE,
  messagesText,
  MOCK_WORDS,
  type MockReply,
  type ParsedRequest,
  readLength,
  requestModel,
  SSE_TYPE,
  type StreamParts,
  wholeStream as wholeReplyStream,
  WORD_IDS,
  WORD_LOGPROBS,
} from "./wire.ts";

import { countImageParts, IMAGE_TOKENS } from "./images.ts";
import { reasoningShare, reasoningTokens } from "./reasoning.ts";

export { countWords, MOCK_WORDS } from "./wire.ts";
export type { StreamParts } from "./wire.ts";

/**
 * How an OpenAI-compatible server shapes its streams:
 * - `vllm` (also OpenAI, Anyscale, TGI's and Ollama's OpenAI routes): a separate usage chunk
 *   with empty `choices`, only when `stream_options.include_usage` asks for it;
 * - `sglang`: as vllm, but completions streams open with an empty-text chunk;
 * - `fireworks`: usage always in the finish chunk;
 * - `together`: every chunk also carries a top-level `token` object; usage in the finish chunk;
 * - `llamacpp`: usage and `timings` always in the finish chunk.
 */
export type OpenAIFlavour = "vllm" | "sglang" | "fireworks" | "together" | "llamacpp";

/** Character offset of each word inside one cycle, for `text_offset`. */
const CYCLE_OFFSETS: readonly number[] = MOCK_WORDS.map((_, i) =>
  MOCK_WORDS.slice(0, i).reduce((sum, word) => sum + word.length, 0)
);

/** Characters in one full cycle of `MOCK_WORDS`. */
const CYCLE_CHARS = MOCK_WORDS.reduce((sum, word) => sum + word.length, 0);

/** Chat `logprobs.content` entry of each word, already serialised (it never changes). */
const CHAT_LOGPROB_ENTRIES: readonly string[] = MOCK_WORDS.map((word, i) =>
  JSON.stringify({
    token: word,
    logprob: WORD_LOGPROBS[i],
    bytes: [...new TextEncoder().encode(word)],
    top_logprobs: [],
  })
);

/** Together's per-chunk `token` object of each word. */
const TOGETHER_TOKENS: readonly string[] = MOCK_WORDS.map((word, i) =>
  JSON.stringify({ id: WORD_IDS[i], text: word, logprob: WORD_LOGPROBS[i], special: false })
);

/** Everything a reply's text depends on. */
export interface ReplySpec {
  /** Chat completions (`true`) or raw completions. */
  readonly chat: boolean;
  /** Response id, the same in every chunk of one stream. */
  readonly id: string;
  /** Unix time in seconds, the same in every chunk of one stream. */
  readonly created: number;
  /** Model name echoed back. */
  readonly model: string;
  /** Tokens each choice carries, exactly. */
  readonly tokens: number;
  /**
   * Choices generated (the request's `n`); tokens of the choices interleave. The llamacpp
   * flavour ends each streamed choice with that choice's usage, as llama.cpp does; the others
   * report one usage for the whole reply. Default 1.
   */
  readonly choices?: number;
  /** No text at all: the model stopped on its first token (`tokens` is 1, counted in usage). */
  readonly empty?: boolean;
  /** Cut at the context size: the llamacpp flavour says `truncated: true` in its finish chunk. */
  readonly truncated?: boolean;
  /** Prompt tokens served from the prompt cache, reported as `cached_tokens` (and `cache_n`). */
  readonly cachedPromptTokens?: number;
  /** Prompt tokens reported in `usage`. */
  readonly promptTokens: number;
  /** Whether each token carries logprobs. */
  readonly logprobs: boolean;
  /** Whether a usage chunk ends the stream (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
  /** `finish_reason` of the last chunk. Default `"length"`. */
  readonly finishReason?: FinishReason;
  /** The server imitated. Default `"vllm"`. */
  readonly flavour?: OpenAIFlavour;
  /** Whether the reply is streamed (only used by {@link openAIReply}). */
  readonly stream?: boolean;
  /**
   * Chat with a `reasoning_effort`: the share of each choice's tokens sent first as
   * `reasoning_content`, reported as `completion_tokens_details.reasoning_tokens`.
   */
  readonly reasoningShare?: number;
}

/** Settings of the OpenAI routes that do not come from the request. */
export interface OpenAIRouteOptions {
  /** Chat completions route. */
  readonly chat: boolean;
  /** Models the server serves; the first is used when a request names none. */
  readonly models: readonly string[];
  /** The server imitated. */
  readonly flavour: OpenAIFlavour;
  /** Counts prompt tokens for `usage`. Default {@link countWords}. */
  readonly countTokens?: CountTokens;
}

/**
 * Reads an OpenAI completions or chat request, or returns why it is invalid. `max_tokens` (or
 * `max_completion_tokens`) defaults to 16; `ignore_eos: true` or `min_tokens >= max_tokens` asks
 * for the full length. Chat image parts are counted, {@link IMAGE_TOKENS} prompt tokens each; a
 * chat `reasoning_effort` makes the first tokens reasoning (`mock/reasoning.ts`).
 */
export function parseOpenAIRequest(
  body: unknown,
  options: OpenAIRouteOptions,
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  const asked = requestModel(fields, options.models);
  if (typeof asked === "string") return asked;
  const { model } = asked;
  const maxTokens = readLength(
    fields.max_tokens ?? (options.chat ? fields.max_completion_tokens : undefined),
    "max_tokens",
    16,
  );
  if (typeof maxTokens === "string") return maxTokens;
  if (options.chat && !Array.isArray(fields.messages)) {
    return "The request must have a messages array";
  }
  const choices = fields.n ?? 1;
  if (typeof choices !== "number" || !Number.isInteger(choices) || choices < 1) {
    return `Cannot use n ${JSON.stringify(fields.n)}: expected an integer >= 1`;
  }
  const stream = fields.stream === true;
  const logprobs = fields.logprobs;
  const streamOptions = fields.stream_options as { include_usage?: unknown } | null | undefined;
  const minTokens = fields.min_tokens;
  // llama.cpp serves its one model whatever the request names, and its replies say so.
  const named = options.flavour === "llamacpp" ? options.models[0] : model;
  const images = options.chat ? countImageParts(fields.messages) : 0;
  const share = options.chat ? reasoningShare(fields.reasoning_effort) : undefined;
  if (typeof share === "string") return share;
  const promptTokens = countPromptTokens(fields, {
    chat: options.chat,
    countTokens: options.countTokens,
  }) + images * IMAGE_TOKENS;
  return {
    model: named,
    maxTokens,
    stream,
    promptKey: JSON.stringify(options.chat ? fields.messages : fields.prompt),
    promptParts: options.chat ? messagesText(fields.messages) : completionParts(fields.prompt),
    fullLength: fields.ignore_eos === true ||
      (typeof minTokens === "number" && minTokens >= maxTokens),
    promptTokens,
    ...(images > 0 ? { images } : {}),
    reply: (common) =>
      openAIReply({
        chat: options.chat,
        id: `${options.chat ? "chatcmpl" : "cmpl"}-${common.id}`,
        created: common.created,
        model: named,
        tokens: common.tokens,
        choices,
        promptTokens,
        logprobs: logprobs !== undefined && logprobs !== null && logprobs !== false,
        includeUsage: stream && streamOptions?.include_usage === true,
        finishReason: common.finishReason,
        flavour: options.flavour,
        stream,
        empty: common.empty,
        truncated: common.truncated,
        cachedPromptTokens: common.cachedPromptTokens,
        reasoningShare: share,
      }),
  };
}

/** The reply of a spec, for the server's timing loop. */
export function openAIReply(spec: ReplySpec): MockReply {
  return {
    tokens: totalTokens(spec),
    stream: spec.stream ?? false,
    contentType: spec.stream ? SSE_TYPE : JSON_TYPE,
    streamParts: () => streamParts(spec),
    tokenEvent: (k) => tokenEvent(spec, k),
    json: () => jsonReply(spec),
  };
}

/**
 * Builds the head, the per-token events and the tail of a streamed reply.
 *
 * @example
 * ```ts
 * const parts = streamParts({
 *   chat: true, id: "chatcmpl-1", created: 0, model: "m", tokens: 3, promptTokens: 2,
 *   logprobs: false, includeUsage: true,
 * });
 * // parts.head: role-only chunk; parts.cycle![0]: the " the" chunk; parts.tail ends in [DONE]
 * ```
 */
export function streamParts(spec: ReplySpec): StreamParts {
  const flavour = spec.flavour ?? "vllm";
  const usageInFinish = flavour === "fireworks" || flavour === "together" ||
    flavour === "llamacpp";
  const usageNull = spec.includeUsage && !usageInFinish ? `,"usage":null` : "";
  const open = chunkOpen(spec);
  const indices = choiceIndices(spec);
  let head = "";
  if (spec.chat) {
    head = indices.map((index) =>
      `${open}"choices":[{"index":${index},"delta":{"role":"assistant","content":""},` +
      `"logprobs":null,"finish_reason":null}]${usageNull}}\n\n`
    ).join("");
  } else if (flavour === "sglang") {
    head = indices.map((index) =>
      `${open}"choices":[{"index":${index},"text":"","logprobs":null,"finish_reason":null}]` +
      `${usageNull}}\n\n`
    ).join("");
  }
  let cycle: string[] | null = null;
  // An empty reply's one write is the tail alone.
  if (spec.empty) cycle = [""];
  else if ((spec.chat || !spec.logprobs) && indices.length === 1 && reasoningOf(spec) === 0) {
    cycle = MOCK_WORDS.map((_, i) => tokenChunk(spec, i, 0));
  }
  const finishPart = spec.chat ? `"delta":{}` : `"text":""`;
  // One finish chunk per choice. llama.cpp ends every choice with that choice's usage; usage of
  // the other flavours that rides on a finish chunk counts every choice, on the last one.
  const perChoice = flavour === "llamacpp";
  let finishUsage = usageNull;
  if (usageInFinish) {
    finishUsage = `,"usage":${usageJson(spec, perChoice ? 1 : indices.length)}`;
    if (flavour === "llamacpp") finishUsage += `,"timings":${timingsJson(spec)}`;
    if (flavour === "llamacpp" && spec.truncated) finishUsage += `,"truncated":true`;
  }
  const finish = indices.map((index) =>
    `${open}"choices":[{"index":${index},${finishPart},"logprobs":null,` +
    `"finish_reason":"${spec.finishReason ?? "length"}"}]` +
    `${perChoice || index === indices.length - 1 ? finishUsage : usageNull}}\n\n`
  ).join("");
  const usage = spec.includeUsage && !usageInFinish
    ? `${open}"choices":[],"usage":${usageJson(spec)}}\n\n`
    : "";
  return { head, cycle, tail: `${finish}${usage}data: [DONE]\n\n` };
}

/**
 * The SSE event of token `k` (0-based). Needed only where `StreamParts.cycle` is `null`; it
 * allocates, so the cycle is preferred on the hot path.
 */
export function tokenEvent(spec: ReplySpec, k: number): string {
  if (spec.empty) return "";
  // With several choices their tokens take turns: event k is token k / n of choice k % n.
  const choices = spec.choices ?? 1;
  const position = Math.floor(k / choices);
  const reasoning = position < reasoningOf(spec);
  return tokenChunk(spec, position % MOCK_WORDS.length, offsetOf(position), {
    choice: k % choices,
    reasoning,
  });
}

/** Reasoning tokens at the start of each choice. */
function reasoningOf(spec: ReplySpec): number {
  return spec.empty ? 0 : reasoningTokens(spec.tokens, spec.reasoningShare);
}

/** The whole streamed reply as one string: head, every token event, tail. */
export function wholeStream(spec: ReplySpec): string {
  return wholeReplyStream(openAIReply({ ...spec, stream: true }));
}

/** The non-streamed JSON reply, with `usage`, the finish reason and logprobs if asked. */
export function jsonReply(spec: ReplySpec): string {
  const n = spec.tokens;
  const words = MOCK_WORDS.length;
  const text = spec.empty ? "" : generatedText(n);
  const model = JSON.stringify(spec.model);
  const finish = spec.finishReason ?? "length";
  let extra = spec.flavour === "llamacpp" ? `,"timings":${timingsJson(spec)}` : "";
  if (spec.flavour === "llamacpp" && spec.truncated) extra += `,"truncated":true`;
  const usage = usageJson(spec);
  if (spec.chat) {
    let logprobs = "null";
    if (spec.logprobs && !spec.empty) {
      const entries = new Array<string>(n);
      for (let k = 0; k < n; k++) entries[k] = CHAT_LOGPROB_ENTRIES[k % words];
      logprobs = `{"content":[${entries.join(",")}]}`;
    }
    const thought = generatedText(reasoningOf(spec));
    const reasoning = thought === "" ? "" : `,"reasoning_content":"${thought}"`;
    const content = text.slice(thought.length);
    const choices = choiceIndices(spec).map((index) =>
      `{"index":${index},"message":{"role":"assistant","content":"${content}"${reasoning}},` +
      `"logprobs":${logprobs},"finish_reason":"${finish}"}`
    );
    return `{"id":"${spec.id}","object":"chat.completion","created":${spec.created},` +
      `"model":${model},"choices":[${choices.join(",")}],"usage":${usage}${extra}}`;
  }
  let logprobs = "null";
  if (spec.logprobs && !spec.empty) {
    const tokens = new Array<string>(n);
    const values = new Array<number>(n);
    const offsets = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      tokens[k] = MOCK_WORDS[k % words];
      values[k] = WORD_LOGPROBS[k % words];
      offsets[k] = offsetOf(k);
    }
    logprobs = JSON.stringify({
      tokens,
      token_logprobs: values,
      top_logprobs: null,
      text_offset: offsets,
    });
  }
  const choices = choiceIndices(spec).map((index) =>
    `{"index":${index},"text":"${text}","logprobs":${logprobs},"finish_reason":"${finish}"}`
  );
  return `{"id":"${spec.id}","object":"text_completion","created":${spec.created},` +
    `"model":${model},"choices":[${choices.join(",")}],"usage":${usage}${extra}}`;
}

/**
 * The mock's prompt token count, by `countTokens` (whitespace-separated words by default).
 * Completions: `prompt` as a string, an array of strings, or token ids (each id one token).
 * Chat: the text of every message, as a string `content` or `{type: "text", text}` parts, and
 * nothing for the chat template (a real server's count is higher; llmload does not compare
 * chat counts). Anything else counts 0.
 */
export function countPromptTokens(
  body: Record<string, unknown>,
  options: { readonly chat: boolean; readonly countTokens?: CountTokens },
): number {
  const count = options.countTokens ?? countWords;
  if (options.chat) {
    return messagesText(body.messages).reduce((sum, text) => sum + count(text), 0);
  }
  const prompt = body.prompt;
  if (typeof prompt === "string") return count(prompt);
  if (!Array.isArray(prompt)) return 0;
  let total = 0;
  for (const item of prompt) {
    if (typeof item === "string") total += count(item);
    else if (typeof item === "number") total += 1;
    else if (Array.isArray(item)) total += item.length;
  }
  return total;
}

/**
 * The pieces of a completions `prompt`: a string, strings, token ids, or arrays of token ids
 * (each array as one piece); anything else has none.
 */
function completionParts(prompt: unknown): (string | readonly number[])[] {
  if (typeof prompt === "string") return [prompt];
  if (!Array.isArray(prompt)) return [];
  if (prompt.every((item) => typeof item === "number")) return [prompt];
  return prompt.filter((item) => typeof item === "string" || Array.isArray(item));
}

/** An OpenAI-style error body: `{error: {message, type, param, code}}`. */
export function errorBody(message: string, options: { type: string; code: string }): string {
  return JSON.stringify({
    error: { message, type: options.type, param: null, code: options.code },
  });
}

function chunkObject(spec: ReplySpec): string {
  return spec.chat ? "chat.completion.chunk" : "text_completion";
}

function chunkOpen(spec: ReplySpec): string {
  return `data: {"id":"${spec.id}","object":"${chunkObject(spec)}","created":${spec.created},` +
    `"model":${JSON.stringify(spec.model)},`;
}

/**
 * The SSE chunk of word `i` (index into `MOCK_WORDS`) at character `offset` of a choice, as
 * text or (chat) as reasoning.
 */
function tokenChunk(
  spec: ReplySpec,
  i: number,
  offset: number,
  { choice = 0, reasoning = false } = {},
): string {
  const flavour = spec.flavour ?? "vllm";
  const usageInFinish = flavour === "fireworks" || flavour === "together" ||
    flavour === "llamacpp";
  const usageNull = spec.includeUsage && !usageInFinish ? `,"usage":null` : "";
  const token = flavour === "together" ? `"token":${TOGETHER_TOKENS[i]},` : "";
  return `${chunkOpen(spec)}${token}"choices":[{"index":${choice},${
    tokenFields(spec, i, offset, reasoning)
  },` +
    `"finish_reason":null}]${usageNull}}\n\n`;
}

/** The choice fields of token chunk `i` (index into `MOCK_WORDS`) at character `offset`. */
function tokenFields(spec: ReplySpec, i: number, offset: number, reasoning: boolean): string {
  const word = MOCK_WORDS[i];
  if (spec.chat) {
    const logprobs = spec.logprobs ? `{"content":[${CHAT_LOGPROB_ENTRIES[i]}]}` : "null";
    const field = reasoning ? "reasoning_content" : "content";
    return `"delta":{"${field}":"${word}"},"logprobs":${logprobs}`;
  }
  const logprobs = spec.logprobs
    ? `{"tokens":["${word}"],"token_logprobs":[${WORD_LOGPROBS[i]}],"top_logprobs":null,` +
      `"text_offset":[${offset}]}`
    : "null";
  return `"text":"${word}","logprobs":${logprobs}`;
}

/** Character offset of token `k` inside the generated text. */
function offsetOf(k: number): number {
  const words = MOCK_WORDS.length;
  return Math.floor(k / words) * CYCLE_CHARS + CYCLE_OFFSETS[k % words];
}

/** Usage of `choices` completions (default: all of them), with the cached prompt tokens. */
function usageJson(spec: ReplySpec, choices = spec.choices ?? 1): string {
  const cached = spec.cachedPromptTokens === undefined
    ? ""
    : `,"prompt_tokens_details":{"cached_tokens":${spec.cachedPromptTokens}}`;
  const completion = spec.tokens * choices;
  const reasoning = spec.reasoningShare === undefined
    ? ""
    : `,"completion_tokens_details":{"reasoning_tokens":${reasoningOf(spec) * choices}}`;
  return `{"prompt_tokens":${spec.promptTokens},"completion_tokens":${completion},` +
    `"total_tokens":${spec.promptTokens + completion}${cached}${reasoning}}`;
}

function timingsJson(spec: ReplySpec): string {
  const cached = spec.cachedPromptTokens ?? 0;
  return `{"cache_n":${cached},"prompt_n":${spec.promptTokens - cached},"prompt_ms":1,` +
    `"predicted_n":${spec.tokens},"predicted_ms":1}`;
}

/** Tokens of all choices together, as `usage` counts them. */
function totalTokens(spec: ReplySpec): number {
  return spec.tokens * (spec.choices ?? 1);
}

function choiceIndices(spec: ReplySpec): number[] {
  return Array.from({ length: spec.choices ?? 1 }, (_, index) => index);
}
