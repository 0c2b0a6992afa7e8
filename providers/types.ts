/**
 * The provider contract: what a dialect turns a sample into and what it reads out of a reply.
 * Pure types; providers import nothing outside this folder.
 *
 * @module
 */

/**
 * What a request asks of the server, as `--mode` names it: text generation (completions or
 * chat), embeddings of a batch of inputs (`/v1/embeddings`), or a ranking of documents against a
 * query (`/v1/rerank`).
 */
export const REQUEST_MODES = ["generate", "embeddings", "rerank"] as const;

/** One of {@link REQUEST_MODES}. */
export type RequestMode = typeof REQUEST_MODES[number];

/** One chat message, as the OpenAI chat API takes it. */
export interface ChatMessage {
  /** `system`, `user`, `assistant`, ... */
  readonly role: string;
  /** The message text. */
  readonly content: string;
}

/** One request's worth of workload: what to ask and how long the answer may be. */
export interface Sample {
  /** The prompt text. */
  readonly prompt: string;
  /** A chat history to send as given in chat mode, instead of `prompt` as one user message. */
  readonly messages?: readonly ChatMessage[];
  /** `max_tokens` for this request (0 in the modes that generate nothing). */
  readonly maxTokens: number;
  /**
   * The texts of one embeddings batch or the documents of one rerank request, in the modes
   * that send several texts at once; absent in generate mode.
   */
  readonly inputs?: readonly string[];
  /** Images for the (last) user message, as `data:` URLs; chat and responses APIs only. */
  readonly images?: readonly string[];
}

/** What a provider wants sent for one sample. */
export interface HttpRequestSpec {
  /** Path appended to the host, e.g. `/v1/completions`. */
  readonly path: string;
  /** JSON body, already serialised. */
  readonly body: string;
  /** Whether the response is a stream of events. */
  readonly stream: boolean;
}

/** Token usage as reported by the server. */
export interface Usage {
  /** Prompt tokens counted by the server. */
  readonly promptTokens?: number;
  /** Generated tokens counted by the server. */
  readonly completionTokens?: number;
  /** Prompt tokens the server served from its prompt cache, when it says. */
  readonly cachedPromptTokens?: number;
  /** Generated tokens spent on reasoning (`completion_tokens_details.reasoning_tokens`). */
  readonly reasoningTokens?: number;
  /**
   * The choice these counts belong to, when the server reports usage per choice (llama.cpp
   * with `n > 1`); absent when they cover the whole response.
   */
  readonly choice?: number;
}

/** What a provider reads out of one streamed event or one whole body. */
export interface Chunk {
  /** Visible generated text in this chunk (may be empty). */
  readonly text: string;
  /** Reasoning text in this chunk (may be empty). */
  readonly reasoning: string;
  /** Tokens in this chunk known from logprobs, if the server sent them. */
  readonly logprobTokens?: number;
  /** Usage, if this chunk carries it. */
  readonly usage?: Usage;
  /** The server says the reply was cut at its context size (llama.cpp `truncated: true`). */
  readonly truncated?: boolean;
  /** The event that ends a complete stream, in dialects that end with one (`endsWithEvent`). */
  readonly end?: boolean;
}

/** How a streamed response is framed on the wire. */
export type StreamFraming = "sse" | "ndjson";

/** Settings every provider receives once, at construction. */
export interface ProviderOptions {
  /** Model name to put in requests. */
  readonly model: string;
  /** Chat API instead of completions. */
  readonly chat: boolean;
  /** Ask for a streamed response. */
  readonly stream: boolean;
  /** Sampling temperature. */
  readonly temperature: number;
  /** `logprobs` parameter, if asked for. */
  readonly logprobs?: number;
  /** Completions per request (`n`), when more than one. */
  readonly n?: number;
  /** Embeddings mode: `dimensions` of each embedding, when asked for. */
  readonly dimensions?: number;
  /** Rerank mode: the query the documents are ranked against. */
  readonly query?: string;
  /** Rerank mode: how many results the server returns (`top_n`), when asked for. */
  readonly topN?: number;
  /** OpenAI's Responses API (`/v1/responses`) instead of chat completions. */
  readonly responses?: boolean;
  /** `reasoning_effort` to send (chat and responses APIs), if asked for. */
  readonly reasoningEffort?: string;
  /** Where a sample's images go in its user message; default `before` the text. */
  readonly imagesPosition?: ImagesPosition;
}

/** Where images go in a user message: before its text, after it, or between pieces of it. */
export type ImagesPosition = "before" | "after" | "interleave";

/**
 * One API dialect: data in, data out. The HTTP loop never branches on a provider's name.
 */
export interface Provider {
  /** Dialect name, as given to `--provider`. */
  readonly name: string;
  /** Wire framing of streamed responses. */
  readonly framing: StreamFraming;
  /**
   * Payload of the event that ends every complete stream (`[DONE]` in the OpenAI dialects), when
   * the dialect has one: a stream that ends without it was cut short and is a `bad_response`.
   * Wrappers of a provider must pass it on.
   */
  readonly endMarker?: string;
  /**
   * The dialect ends every complete stream with an event whose chunk says `end` (the Responses
   * API's `response.completed`): a stream without it was cut short and is a `bad_response`.
   */
  readonly endsWithEvent?: boolean;
  /** Builds the request for one sample. */
  request(sample: Sample): HttpRequestSpec;
  /**
   * Parses the payload of one streamed event (an SSE `data:` field or an NDJSON line).
   * Returns `null` for an event that ends the stream or carries nothing. The `endMarker` never
   * reaches it: the request path tests every event for the marker first.
   * Throws on a payload it cannot read.
   */
  parseEvent(data: string): Chunk | null;
  /**
   * The fast path of {@link Provider.parseEvent}, for the common token event: reads the few
   * fields a metric needs in place, without building the payload's object tree. Returns exactly
   * the chunk `parseEvent` would (a property test holds every dialect to it), or `undefined`
   * for "cannot tell cheaply" (usage, an error, logprobs it does not count, anything unusual),
   * and the request path then calls `parseEvent`. Never throws. A wrapper that changes what
   * `parseEvent` returns must drop or wrap this too.
   */
  fastEvent?(data: string): Chunk | undefined;
  /** Parses a whole non-streamed response body. Throws on a body it cannot read. */
  parseBody(body: string): Chunk;
  /** The server's tokenize endpoint (`--tokenizer server`), when the dialect has one. */
  readonly tokenize?: TokenizeSpec;
}

/** A server's tokenize endpoint, as data: where to send a text and how to read its count. */
export interface TokenizeSpec {
  /** Path appended to the host, e.g. `/tokenize`. */
  readonly path: string;
  /**
   * JSON body that asks for the tokens of `text`; `special` asks for the special tokens (BOS)
   * the server adds to a prompt, where the endpoint lets the client choose.
   */
  body(text: string, special: boolean): string;
  /** Tokens in the parsed JSON reply. Throws on a reply it cannot read. */
  count(reply: unknown): number;
}
