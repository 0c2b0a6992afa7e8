/**
 * Wire text of the mock server's replies, in the OpenAI completions and chat completions format
 * as vLLM and OpenAI emit it. Pure string building, no I/O, so the shapes are tested directly and
 * the server only decides when each piece goes out.
 *
 * Streamed replies are cut into a head (the chat role-only chunk), one SSE event per token and a
 * tail (the `finish_reason` chunk, the optional usage chunk and `data: [DONE]`).
 *
 * @module
 */

/**
 * The generated tokens, cycled in order. Each is one token in tiktoken's o200k_base and
 * cl100k_base, so a client-side tokenizer count agrees with `max_tokens`.
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

/** Log-probability reported for each of `MOCK_WORDS`: exact binary fractions, printed as-is. */
const WORD_LOGPROBS: readonly number[] = MOCK_WORDS.map((_, i) => -(i + 1) / 8);

/** Characters in one full cycle of `MOCK_WORDS`. */
const CYCLE_CHARS = MOCK_WORDS.reduce((sum, word) => sum + word.length, 0);

/** Character offset of each word inside one cycle, for `text_offset`. */
const CYCLE_OFFSETS: readonly number[] = MOCK_WORDS.map((_, i) =>
  MOCK_WORDS.slice(0, i).reduce((sum, word) => sum + word.length, 0)
);

/** Chat `logprobs.content` entry of each word, already serialised (it never changes). */
const CHAT_LOGPROB_ENTRIES: readonly string[] = MOCK_WORDS.map((word, i) =>
  JSON.stringify({
    token: word,
    logprob: WORD_LOGPROBS[i],
    bytes: [...new TextEncoder().encode(word)],
    top_logprobs: [],
  })
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
  /** Tokens to generate, exactly. */
  readonly maxTokens: number;
  /** Prompt tokens reported in `usage`. */
  readonly promptTokens: number;
  /** Whether each token carries logprobs. */
  readonly logprobs: boolean;
  /** Whether a usage chunk ends the stream (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
}

/** The pieces of one streamed reply. */
export interface StreamParts {
  /** Sent as soon as the response starts: the chat role-only chunk, or `""` for completions. */
  readonly head: string;
  /**
   * The event of token `k` is `cycle[k % cycle.length]`, or `null` when events differ per
   * position (completions with logprobs carry `text_offset`): then use `tokenEvent`.
   */
  readonly cycle: readonly string[] | null;
  /** Sent right after the last token: finish chunk, usage chunk if asked for, `[DONE]`. */
  readonly tail: string;
}

/**
 * Builds the head, the per-token events and the tail of a streamed reply.
 *
 * @example
 * ```ts
 * const parts = streamParts({
 *   chat: true, id: "chatcmpl-1", created: 0, model: "m", maxTokens: 3, promptTokens: 2,
 *   logprobs: false, includeUsage: true,
 * });
 * // parts.head: role-only chunk; parts.cycle![0]: the " the" chunk; parts.tail ends in [DONE]
 * ```
 */
export function streamParts(spec: ReplySpec): StreamParts {
  const prefix = chunkPrefix(spec);
  const suffix = spec.includeUsage
    ? `,"finish_reason":null}],"usage":null}\n\n`
    : `,"finish_reason":null}]}\n\n`;
  const head = spec.chat
    ? `${prefix}"delta":{"role":"assistant","content":""},"logprobs":null${suffix}`
    : "";
  let cycle: string[] | null = null;
  if (spec.chat || !spec.logprobs) {
    cycle = MOCK_WORDS.map((_, i) => `${prefix}${tokenFields(spec, i, 0)}${suffix}`);
  }
  const finishSuffix = spec.includeUsage
    ? `,"finish_reason":"length"}],"usage":null}\n\n`
    : `,"finish_reason":"length"}]}\n\n`;
  const finish = spec.chat
    ? `${prefix}"delta":{},"logprobs":null${finishSuffix}`
    : `${prefix}"text":"","logprobs":null${finishSuffix}`;
  const usage = spec.includeUsage
    ? `data: {"id":"${spec.id}","object":"${chunkObject(spec)}","created":${spec.created},` +
      `"model":${JSON.stringify(spec.model)},"choices":[],"usage":${usageJson(spec)}}\n\n`
    : "";
  return { head, cycle, tail: `${finish}${usage}data: [DONE]\n\n` };
}

/**
 * The SSE event of token `k` (0-based). Needed only where `StreamParts.cycle` is `null`; it
 * allocates, so the cycle is preferred on the hot path.
 */
export function tokenEvent(spec: ReplySpec, k: number): string {
  const suffix = spec.includeUsage
    ? `,"finish_reason":null}],"usage":null}\n\n`
    : `,"finish_reason":null}]}\n\n`;
  return `${chunkPrefix(spec)}${tokenFields(spec, k % MOCK_WORDS.length, offsetOf(k))}${suffix}`;
}

/**
 * The whole streamed reply as one string: head, every token event, tail. Used when all tokens go
 * out in one write; repeats a full cycle of events instead of building each one.
 */
export function wholeStream(spec: ReplySpec): string {
  const parts = streamParts(spec);
  const n = spec.maxTokens;
  const cycle = parts.cycle;
  let tokens = "";
  if (cycle !== null) {
    const full = Math.floor(n / cycle.length);
    tokens = cycle.join("").repeat(full) + cycle.slice(0, n - full * cycle.length).join("");
  } else {
    const events = new Array<string>(n);
    for (let k = 0; k < n; k++) events[k] = tokenEvent(spec, k);
    tokens = events.join("");
  }
  return parts.head + tokens + parts.tail;
}

/** The non-streamed JSON reply, with `usage`, `finish_reason: "length"` and logprobs if asked. */
export function jsonReply(spec: ReplySpec): string {
  const n = spec.maxTokens;
  const words = MOCK_WORDS.length;
  const full = Math.floor(n / words);
  const text = MOCK_WORDS.join("").repeat(full) + MOCK_WORDS.slice(0, n - full * words).join("");
  const usage = usageJson(spec);
  const model = JSON.stringify(spec.model);
  if (spec.chat) {
    let logprobs = "null";
    if (spec.logprobs) {
      const entries = new Array<string>(n);
      for (let k = 0; k < n; k++) entries[k] = CHAT_LOGPROB_ENTRIES[k % words];
      logprobs = `{"content":[${entries.join(",")}]}`;
    }
    return `{"id":"${spec.id}","object":"chat.completion","created":${spec.created},` +
      `"model":${model},"choices":[{"index":0,"message":{"role":"assistant","content":"${text}"},` +
      `"logprobs":${logprobs},"finish_reason":"length"}],"usage":${usage}}`;
  }
  let logprobs = "null";
  if (spec.logprobs) {
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
  return `{"id":"${spec.id}","object":"text_completion","created":${spec.created},` +
    `"model":${model},"choices":[{"index":0,"text":"${text}","logprobs":${logprobs},` +
    `"finish_reason":"length"}],"usage":${usage}}`;
}

/**
 * The mock's prompt token count: whitespace-separated words. Completions: `prompt` as a string,
 * an array of strings, or token ids (each id one token). Chat: the `content` of every message,
 * as a string or as `{type: "text", text}` parts. Anything else counts 0.
 */
export function approxPromptTokens(body: Record<string, unknown>, chat: boolean): number {
  if (chat) {
    let count = 0;
    const messages = body.messages;
    if (!Array.isArray(messages)) return 0;
    for (const message of messages) {
      const content = (message as { content?: unknown } | null)?.content;
      if (typeof content === "string") count += countWords(content);
      else if (Array.isArray(content)) {
        for (const part of content) {
          const text = (part as { text?: unknown } | null)?.text;
          if (typeof text === "string") count += countWords(text);
        }
      }
    }
    return count;
  }
  const prompt = body.prompt;
  if (typeof prompt === "string") return countWords(prompt);
  if (!Array.isArray(prompt)) return 0;
  let count = 0;
  for (const item of prompt) {
    if (typeof item === "string") count += countWords(item);
    else if (typeof item === "number") count += 1;
    else if (Array.isArray(item)) count += item.length;
  }
  return count;
}

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

/** An OpenAI-style error body: `{error: {message, type, param, code}}`. */
export function errorBody(message: string, options: { type: string; code: string }): string {
  return JSON.stringify({
    error: { message, type: options.type, param: null, code: options.code },
  });
}

function chunkObject(spec: ReplySpec): string {
  return spec.chat ? "chat.completion.chunk" : "text_completion";
}

function chunkPrefix(spec: ReplySpec): string {
  return `data: {"id":"${spec.id}","object":"${chunkObject(spec)}","created":${spec.created},` +
    `"model":${JSON.stringify(spec.model)},"choices":[{"index":0,`;
}

/** The choice fields of token chunk `i` (index into `MOCK_WORDS`) at character `offset`. */
function tokenFields(spec: ReplySpec, i: number, offset: number): string {
  const word = MOCK_WORDS[i];
  if (spec.chat) {
    const logprobs = spec.logprobs ? `{"content":[${CHAT_LOGPROB_ENTRIES[i]}]}` : "null";
    return `"delta":{"content":"${word}"},"logprobs":${logprobs}`;
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

function usageJson(spec: ReplySpec): string {
  return `{"prompt_tokens":${spec.promptTokens},"completion_tokens":${spec.maxTokens},` +
    `"total_tokens":${spec.promptTokens + spec.maxTokens}}`;
}
