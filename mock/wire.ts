/**
 * What every dialect of the mock server shares: the generated words, and the shape of a planned
 * reply that the server only has to time. Each dialect module (`mock_payload.ts` for the OpenAI
 * routes, `mock_tgi.ts`, `mock_triton.ts`, `mock_llamacpp.ts`, `mock_ollama.ts`) reads a request
 * body into a {@link ParsedRequest} and builds its {@link MockReply}. Pure, no I/O.
 *
 * @module
 */

/**
 * The generated tokens, cycled in order. Each is one token in tiktoken's o200k_base and
 * cl100k_base, so a client-side tokenizer count agrees with the tokens sent.
 */
export const MOCK_WORDS: readonly string[] = [
  " the",
  " of",
  " and",
  " to",
  " in",
  " a",
  " is",
  " that",
];

/** Token id reported for each of `MOCK_WORDS` (Llama-3-like ids; any fixed ids would do). */
export const WORD_IDS: readonly number[] = [279, 315, 323, 311, 304, 264, 374, 430];

/** Log-probability reported for each of `MOCK_WORDS`: exact binary fractions, printed as-is. */
export const WORD_LOGPROBS: readonly number[] = MOCK_WORDS.map((_, i) => -(i + 1) / 8);

/** The text of the first `n` generated tokens. */
export function generatedText(n: number): string {
  const words = MOCK_WORDS.length;
  const full = Math.floor(n / words);
  return MOCK_WORDS.join("").repeat(full) + MOCK_WORDS.slice(0, n - full * words).join("");
}

/** Why a reply ended: it reached the length asked for, or the "model" stopped on its own. */
export type FinishReason = "length" | "stop";

/** Facts of a reply fixed by the server once the request is accepted. */
export interface ReplyCommon {
  /** Response id, the same in every event of one stream. */
  readonly id: string;
  /** Unix time in seconds. */
  readonly created: number;
  /** Tokens the reply carries: the length asked for, or fewer when the mock stops early. */
  readonly tokens: number;
  /** `"length"` when `tokens` is the length asked for. */
  readonly finishReason: FinishReason;
  /**
   * The "model" stopped on its first token: the reply carries no text, and its one token is
   * only counted in usage (`tokens` is 1, `finishReason` `"stop"`). OpenAI and llama.cpp routes.
   */
  readonly empty?: boolean;
  /** The reply was cut at the context size: llama.cpp marks it `truncated: true`. */
  readonly truncated?: boolean;
  /** Prompt tokens served from the prompt cache (the prompt was seen before), if any. */
  readonly cachedPromptTokens?: number;
}

/** The pieces of one streamed reply. */
export interface StreamParts {
  /** Sent as soon as the response starts (a role-only chunk, say), or `""`. */
  readonly head: string;
  /**
   * The event of token `k` is `cycle[k % cycle.length]`, or `null` when events differ per
   * position: then use {@link MockReply.tokenEvent}.
   */
  readonly cycle: readonly string[] | null;
  /** Sent right after the last token (finish event, usage, end marker), or `""`. */
  readonly tail: string;
  /**
   * The last token's event together with the tail, when the last event differs from the others
   * (TGI's carries the whole text and the details); otherwise the last token's event plus `tail`.
   */
  readonly last?: string;
}

/** A reply planned in full; the server decides only when each piece goes out. */
export interface MockReply {
  /** Tokens the reply carries. */
  readonly tokens: number;
  /** Whether it is streamed. */
  readonly stream: boolean;
  /** `content-type` of the response. */
  readonly contentType: string;
  /** The pieces of the streamed reply. */
  streamParts(): StreamParts;
  /** The event of token `k` (0-based); allocates, so a cycle is preferred on the hot path. */
  tokenEvent(k: number): string;
  /** The whole non-streamed body. */
  json(): string;
}

/** A request body read by a dialect: what the reply depends on. */
export interface ParsedRequest {
  /** Model the request names (or the server's default). */
  readonly model: string;
  /** Tokens asked for (`max_tokens` or the dialect's equivalent; a default when absent). */
  readonly maxTokens: number;
  /** Whether it asked for a stream. */
  readonly stream: boolean;
  /** Whether it asked the model not to stop before `maxTokens` (`ignore_eos`, `min_tokens`). */
  readonly fullLength: boolean;
  /** The prompt, as the prompt cache remembers it (routes that report cached tokens). */
  readonly promptKey?: string;
  /**
   * The prompt's pieces in order, for the prefix cache (routes that report cached tokens): texts
   * (a completions prompt, or each chat message's text) and token-id arrays as sent.
   */
  readonly promptParts?: readonly (string | readonly number[])[];
  /** Prompt tokens as the server counts them; absent where the dialect counts none (Triton). */
  readonly promptTokens?: number;
  /** Image parts in the request (chat and responses routes); absent when none. */
  readonly images?: number;
  /** Builds the reply once the server has fixed id, time and length. */
  reply(common: ReplyCommon): MockReply;
  /**
   * Tokens the context limit applies to when not `promptTokens`: the longest text of an
   * embeddings or rerank request (rerank: with the query), each being its own sequence.
   */
  readonly contextTokens?: number;
  /** Inputs of an embeddings request (`/v1/embeddings`). */
  readonly inputs?: number;
  /** Documents of a rerank request (`/v1/rerank`). */
  readonly documents?: number;
}

/** Content type of a streamed SSE reply. */
export const SSE_TYPE = "text/event-stream";
/** Content type of a streamed newline-delimited JSON reply (Ollama). */
export const NDJSON_TYPE = "application/x-ndjson";
/** Content type of a JSON body. */
export const JSON_TYPE = "application/json";

/**
 * The whole streamed reply as one string: head, every token event, tail. Used when all tokens go
 * out in one write; repeats a full cycle of events instead of building each one.
 */
export function wholeStream(reply: MockReply): string {
  const parts = reply.streamParts();
  const n = reply.tokens;
  const body = parts.last === undefined ? n : n - 1;
  let tokens = "";
  const cycle = parts.cycle;
  if (cycle !== null) {
    const full = Math.floor(body / cycle.length);
    tokens = cycle.join("").repeat(full) + cycle.slice(0, body - full * cycle.length).join("");
  } else {
    const events = new Array<string>(body);
    for (let k = 0; k < body; k++) events[k] = reply.tokenEvent(k);
    tokens = events.join("");
  }
  return parts.head + tokens + (parts.last ?? parts.tail);
}

/**
 * Counts the tokens of a prompt text. The server uses tiktoken's o200k_base (see `startMock`);
 * pure callers and tests may pass {@link countWords}.
 */
export type CountTokens = (text: string) => number;

/** Counts whitespace-separated words without splitting (prompts can be long). */
export function countWords(text: string): number {
  let count = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x3000;
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      count++;
    }
  }
  return count;
}

/** The text of chat messages: string contents and `{type: "text", text}` parts. */
export function messagesText(messages: unknown): string[] {
  if (!Array.isArray(messages)) return [];
  const texts: string[] = [];
  for (const message of messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (typeof content === "string") texts.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown } | null)?.text;
        if (typeof text === "string") texts.push(text);
      }
    }
  }
  return texts;
}

/**
 * Reads a length field: absent or null gives `fallback`; anything but a whole number >= 1 gives
 * the message of a 400 reply.
 */
export function readLength(
  value: unknown,
  name: string,
  fallback: number,
): number | string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    return `Cannot use ${name} ${JSON.stringify(value)}: expected an integer >= 1`;
  }
  return value;
}

/** The body as an object, or the message of a 400 reply. */
export function asObject(body: unknown): Record<string, unknown> | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "The request body must be a JSON object";
  }
  return body as Record<string, unknown>;
}

/** A stream's events as one string each: `data: <json>\n\n` (SSE) or `<json>\n` (NDJSON). */
export function sseEvent(json: string): string {
  return `data: ${json}\n\n`;
}

/** Settings of the embeddings and rerank routes that do not come from the request. */
export interface TextRouteOptions {
  /** Models the server serves; the first is used when a request names none. */
  readonly models: readonly string[];
  /** Counts the tokens of each text for `usage`. */
  readonly countTokens: CountTokens;
}

/**
 * The model a request names, the server's only model when it names none, or the message of a
 * 400 reply (no model while several are served, or not a non-empty string).
 */
export function requestModel(
  fields: Record<string, unknown>,
  models: readonly string[],
): { model: string } | string {
  const model = fields.model ?? (models.length > 1 ? undefined : models[0]);
  if (model === undefined || model === null) {
    return `The request must name a model: this server serves ${models.join(", ")}`;
  }
  if (typeof model !== "string" || model === "") return "The model must be a non-empty string";
  return { model };
}

/** The value when it is a non-empty array of strings (embeddings inputs, rerank documents). */
export function nonEmptyTexts(value: unknown): string[] | undefined {
  const texts = Array.isArray(value) && value.length > 0 ? value : undefined;
  return texts?.every((text) => typeof text === "string") ? texts : undefined;
}

/**
 * A non-streamed reply whose body is `body`, as the embeddings and rerank routes answer; it
 * carries no tokens.
 */
export function jsonReply(body: string): MockReply {
  return {
    tokens: 0,
    stream: false,
    contentType: JSON_TYPE,
    streamParts: () => ({ head: "", cycle: null, tail: body }),
    tokenEvent: () => "",
    json: () => body,
  };
}

/** FNV-1a hash of `text`: the seed of the mock's deterministic stand-ins for model outputs. */
export function textHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** A number in [0, 1) fixed by a hash and a position (one mulberry32 step). */
export function hashedUnit(hash: number, position = 0): number {
  let t = (hash + Math.imul(position + 1, 0x6d2b79f5)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
