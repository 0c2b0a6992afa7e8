/**
 * Reads one response as the transport delivers it (bytes) and keeps only what the metrics
 * need: the status, the times of the first and last tokens and the gaps between them, the
 * generated text, and the server's counts. Each event payload is split out of the bytes once by
 * the stream decoder (which also spots the end marker without decoding it) and read once by the
 * provider: its fast path when it has one and can tell, else its full parse. This is the hot
 * path: per event it does only what a metric needs, and what it keeps of an event (the text)
 * goes into one growable byte buffer, outside the JS heap, not into objects that survive
 * collections until the request ends.
 *
 * @module
 */
import { createEventDecoder, type EventDecoder } from "./stream_decoder.ts";
import { ServerErrorEvent } from "../providers/server_error.ts";
import type { ResponseHead, ResponseSink } from "../transport/types.ts";
import type { Chunk, Provider, Sample, Usage } from "../providers/types.ts";
import type { RequestContext } from "./context.ts";
import type { RequestRecord, TokenSource } from "./types.ts";
import { BadResponseError, headProblem, isSuccess, messageOf } from "./classify.ts";

/** Largest non-streamed body read, in bytes (32 MiB of JSON); a larger one is refused. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Bytes of an error (non-2xx) body kept to quote the server's message. */
const ERROR_BODY_LIMIT = 2048;

const utf8 = new TextEncoder();

/** Options of a {@link ResponseReader}. */
export interface ResponseReaderOptions {
  /** Whether the request asked for a stream of events. */
  readonly stream: boolean;
  /**
   * Called once, synchronously, when the response is refused (a `bad_response`): the caller
   * aborts the request so that nothing more is read.
   */
  readonly fail: (error: BadResponseError) => void;
  /** Called once, synchronously, when the first chunk with text or reasoning arrives. */
  readonly onFirstToken?: () => void;
}

/** What was sent, for {@link ResponseReader.finish}. */
export interface SentRequest {
  /** The sample the request asked for. */
  readonly sample: Sample;
  /** When it was handed to the transport (`performance.now()`). */
  readonly startedAt: number;
  /** When the schedule meant to send it (absolute ms), in QPS and burst modes. */
  readonly intendedStart?: number;
}

/**
 * The {@link ResponseSink} of one request. The transport pushes the head and the bytes into it;
 * once the transport is done, {@link ResponseReader.end} flushes the stream and
 * {@link ResponseReader.finish} turns what was read into a {@link RequestRecord}.
 *
 * @example
 * ```ts
 * const reader = new ResponseReader(provider, { stream: true, fail: (e) => controller.abort(e) });
 * await transport.send(request, reader);
 * reader.end();
 * const record = await reader.finish(context, { sample, startedAt });
 * ```
 */
export class ResponseReader implements ResponseSink {
  /** The dialect that parses each event and the body. */
  readonly #provider: Provider;
  /** Whether the response is a stream of events rather than one body. */
  readonly #stream: boolean;
  /** Aborts the request when the response is refused. */
  readonly #fail: (error: BadResponseError) => void;
  /** Told of the first token (`--cancel-rate` closes the request there). */
  readonly #onFirstToken: (() => void) | undefined;
  /** Splits the streamed bytes into event payloads. */
  readonly #decoder: EventDecoder;
  /** HTTP status; 0 until the head arrived. */
  #status = 0;
  /** The `Location` of a redirect. */
  #location: string | undefined;
  /** The server's id of the request: its `x-request-id`, else the first event's or body's `id`. */
  #serverId: string | undefined;
  /** Server-side timing headers, when the server sent them. */
  #serverTiming: Readonly<Record<string, string>> | undefined;
  /** Why the response was refused, once it was; what arrives after is ignored. */
  #refused: BadResponseError | undefined;
  /** Set once the request has ended: a transport's late deliveries are ignored. */
  #detached = false;
  /** Time the bytes being decoded arrived: the time of every event in them. */
  #now = 0;
  /** Time of the last body bytes. */
  #lastByteAt = 0;
  /** Time of the first chunk with generated text or reasoning. */
  #firstTokenAt: number | undefined;
  /** Time of the first chunk with visible text. */
  #firstVisibleAt: number | undefined;
  /** Time of the latest chunk with generated text or reasoning. */
  #lastTokenAt = 0;
  /** Gaps between consecutive token-carrying chunks. */
  readonly #itl: number[] = [];
  /** Generated characters, text and reasoning. */
  #chars = 0;
  /** The generated reasoning and text, in order, as UTF-8 (see {@link ResponseReader.#keep}). */
  #generated: Uint8Array = new Uint8Array(0);
  /** Bytes used in {@link ResponseReader.#generated}. */
  #generatedBytes = 0;
  /** A high surrogate that ended the last piece, kept to be encoded with its low half. */
  #heldSurrogate = "";
  /** Tokens counted from logprobs, when the server sent them. */
  #logprobTokens: number | undefined;
  /** The server's counts: the latest, or the sum over choices. */
  #usage: Usage | undefined;
  /** Usage reported per choice (llama.cpp with n > 1), by choice index; usually never used. */
  #choiceUsage: Map<number, Usage> | undefined;
  /** The server cut the reply at its context size. */
  #truncated = false;
  /** The stream ended as the dialect ends it (its marker, or an event that says so). */
  #sawEnd = false;
  /** The dialect's end marker arrived. */
  #sawMarker = false;
  /** A non-streamed body, decoded as it arrives. */
  readonly #body: string[] = [];
  /** Decodes a non-streamed body across reads; made when one arrives. */
  #bodyDecoder: TextDecoder | undefined;
  /** The first part of an error body, copied as it arrived. */
  readonly #errorBody: Uint8Array[] = [];
  /** Bytes of body received. */
  #bodyBytes = 0;

  /** A reader for one response of `provider`. */
  constructor(provider: Provider, options: ResponseReaderOptions) {
    this.#provider = provider;
    this.#stream = options.stream;
    this.#fail = options.fail;
    this.#onFirstToken = options.onFirstToken;
    this.#decoder = createEventDecoder(provider.framing, (data) => this.#onEvent(data), {
      endMarker: provider.endMarker,
      onEndMarker: () => this.#onEndMarker(),
    });
  }

  /** HTTP status of the response; 0 until its head arrived. */
  get status(): number {
    return this.#status;
  }

  /** The `Location` of a redirect, if the response had one. */
  get location(): string | undefined {
    return this.#location;
  }

  /** The server's id of the request, once known: `x-request-id`, else the payload's `id`. */
  get serverId(): string | undefined {
    return this.#serverId;
  }

  /** Why the response was refused, if it was. */
  get failure(): BadResponseError | undefined {
    return this.#refused;
  }

  /** Takes the status line; refuses a 2xx stream without the content type it needs. */
  head(head: ResponseHead): void {
    this.#status = head.status;
    this.#location = head.location;
    this.#serverId = head.requestId;
    this.#serverTiming = head.serverTiming;
    const problem = headProblem(head, this.#stream && this.#provider.framing === "sse");
    if (problem !== undefined) this.#refuse(problem);
  }

  /**
   * Takes body bytes arriving at `at`: decoded as events, or kept as a body. The view is not
   * kept past the call.
   */
  body(bytes: Uint8Array, at: number): void {
    if (this.#refused !== undefined || this.#detached) return;
    this.#lastByteAt = at;
    this.#bodyBytes += bytes.length;
    if (!isSuccess(this.#status)) {
      if (this.#bodyBytes - bytes.length < ERROR_BODY_LIMIT) this.#errorBody.push(bytes.slice());
    } else if (this.#stream) {
      this.#now = at;
      try {
        this.#decoder.feed(bytes);
      } catch (error) {
        this.#refuse(messageOf(error));
      }
    } else if (this.#bodyBytes > MAX_BODY_BYTES) {
      this.#refuse(`Response body larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    } else {
      this.#bodyDecoder ??= new TextDecoder();
      this.#body.push(this.#bodyDecoder.decode(bytes, { stream: true }));
    }
  }

  /** Ignores whatever a transport still delivers once the request has ended. */
  detach(): void {
    this.#detached = true;
  }

  /** The body has been read to its end: flushes a last unterminated event. */
  end(): void {
    if (this.#refused !== undefined || !this.#stream || !isSuccess(this.#status)) return;
    try {
      this.#decoder.end();
    } catch (error) {
      this.#refuse(messageOf(error));
    }
  }

  /** The start of an error body, as received (about 2 KiB), decoded. */
  errorBody(): string {
    const decoder = new TextDecoder();
    return this.#errorBody.map((part) => decoder.decode(part, { stream: true })).join("") +
      decoder.decode();
  }

  /**
   * The record of a 2xx response read to its end. Throws a {@link BadResponseError} for a
   * response that is incomplete: empty, without its end marker, or without text or counts.
   */
  async finish(context: RequestContext, sent: SentRequest): Promise<RequestRecord> {
    const { sample, startedAt } = sent;
    const stream = this.#stream;
    const endMarker = this.#provider.endMarker;
    if (this.#bodyBytes === 0) {
      throw new BadResponseError(`Empty response body (HTTP ${this.#status})`);
    }
    if (!stream) {
      this.#now = this.#lastByteAt;
      this.#body.push(this.#bodyDecoder?.decode() ?? "");
      const body = this.#body.join("");
      this.#serverId ??= payloadId(body);
      this.#take(this.#provider.parseBody(body));
    } else if (endMarker !== undefined && !this.#sawMarker) {
      throw new BadResponseError(
        `Stream ended without ${endMarker}: the response may be cut short`,
      );
    } else if (this.#provider.endsWithEvent && !this.#sawEnd) {
      throw new BadResponseError("Stream ended without its final event: it may be cut short");
    }
    // A reply without text is complete, not cut short, when the stream ended as the dialect
    // ends it or the server counted it: the model stopped on its first token.
    const usage = this.#usage;
    const firstTokenAt = this.#firstTokenAt;
    // Embeddings and rerank replies carry no generated text by nature: they are never empty.
    const empty = firstTokenAt === undefined && sample.inputs === undefined;
    if (empty && !this.#sawEnd && usage === undefined) {
      throw new BadResponseError(
        stream ? "Response ended without generated text" : "Empty response",
      );
    }
    const end = this.#lastByteAt || firstTokenAt || startedAt;
    let generated: string | undefined;
    const text = () => generated ??= this.#generatedText();
    const counted = await countOutputTokens(context, usage, this.#logprobTokens, text);
    context.onResponse?.(text());
    return {
      start: performance.timeOrigin + startedAt,
      intendedStart: sent.intendedStart,
      ttft: stream && firstTokenAt !== undefined ? firstTokenAt - startedAt : undefined,
      ttfvt: stream && this.#firstVisibleAt !== undefined
        ? this.#firstVisibleAt - startedAt
        : undefined,
      totalLatency: end - startedAt,
      itl: this.#itl,
      outputTokens: counted.tokens,
      tokenSource: counted.source,
      promptTokens: usage?.promptTokens ?? context.localPromptTokens,
      chars: this.#chars,
      maxTokens: sample.maxTokens,
      expectedOutputTokens: (context.completions ?? 1) > 1
        ? sample.maxTokens * context.completions!
        : undefined,
      serverPromptTokens: usage?.promptTokens,
      localPromptTokens: context.comparePromptTokens ? context.localPromptTokens : undefined,
      ...(usage?.cachedPromptTokens === undefined
        ? {}
        : { cachedPromptTokens: usage.cachedPromptTokens }),
      ...(sample.inputs === undefined ? {} : { inputs: sample.inputs.length }),
      ...(usage?.reasoningTokens === undefined ? {} : { reasoningTokens: usage.reasoningTokens }),
      ...(empty ? { empty: true } : {}),
      ...(this.#truncated ? { truncated: true } : {}),
      status: this.#status,
      ...(this.#serverId === undefined ? {} : { serverId: this.#serverId }),
      ...(this.#serverTiming === undefined ? {} : { serverTiming: this.#serverTiming }),
    };
  }

  /**
   * The record of a stream closed on purpose right after its first token (`--cancel-rate`):
   * its TTFT (and TTFVT, if that chunk was visible text), its start, and nothing that needs the
   * rest of the reply. Its token count stays 0: the recorder counts none of its tokens.
   */
  cancelled(sent: SentRequest): RequestRecord {
    const { sample, startedAt } = sent;
    const firstTokenAt = this.#firstTokenAt ?? this.#lastByteAt;
    return {
      start: performance.timeOrigin + startedAt,
      intendedStart: sent.intendedStart,
      ttft: firstTokenAt - startedAt,
      ttfvt: this.#firstVisibleAt === undefined ? undefined : this.#firstVisibleAt - startedAt,
      totalLatency: firstTokenAt - startedAt,
      itl: [],
      outputTokens: 0,
      tokenSource: "tokenizer",
      chars: this.#chars,
      maxTokens: sample.maxTokens,
      cancelled: true,
    };
  }

  /** Ends the request as a `bad_response` now; whatever arrives after is ignored. */
  #refuse(message: string): void {
    if (this.#refused !== undefined) return;
    this.#refused = new BadResponseError(message);
    this.#fail(this.#refused);
  }

  /** The dialect's end marker arrived. */
  #onEndMarker(): void {
    this.#sawMarker = true;
    this.#sawEnd = true;
  }

  /** One event payload (never the end marker): read by the fast path, else parsed in full. */
  #onEvent(data: string): void {
    if (this.#refused !== undefined) return;
    this.#serverId ??= payloadId(data);
    const provider = this.#provider;
    try {
      const chunk = provider.fastEvent?.(data) ?? provider.parseEvent(data);
      if (chunk === null) this.#sawEnd = true;
      else this.#take(chunk);
    } catch (error) {
      this.#refuse(
        error instanceof ServerErrorEvent ? error.message : `Unreadable event: ${messageOf(error)}`,
      );
    }
  }

  /** Adds one parsed chunk, timed when the text that held it arrived. */
  #take(chunk: Chunk): void {
    if (chunk.usage) this.#takeUsage(chunk.usage);
    if (chunk.truncated) this.#truncated = true;
    if (chunk.end) this.#sawEnd = true;
    if (chunk.logprobTokens !== undefined) {
      this.#logprobTokens = (this.#logprobTokens ?? 0) + chunk.logprobTokens;
    }
    const generated = chunk.text.length + chunk.reasoning.length;
    if (generated === 0) return;
    const now = this.#now;
    const first = this.#firstTokenAt === undefined;
    if (first) this.#firstTokenAt = now;
    else this.#itl.push(now - this.#lastTokenAt);
    if (this.#firstVisibleAt === undefined && chunk.text.length > 0) this.#firstVisibleAt = now;
    this.#lastTokenAt = now;
    this.#chars += generated;
    if (chunk.reasoning) this.#keep(chunk.reasoning);
    if (chunk.text) this.#keep(chunk.text);
    if (first) this.#onFirstToken?.();
  }

  /**
   * Appends a piece of generated text to one growable UTF-8 buffer: its backing store lives
   * outside the JS heap, so a request in flight holds one object, not one string per event that
   * every young-generation collection copies. A high surrogate that ends a piece waits for the
   * low half that starts the next (a server may split an escaped pair across events).
   */
  #keep(piece: string): void {
    let text = this.#heldSurrogate === "" ? piece : this.#heldSurrogate + piece;
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#heldSurrogate = text.slice(-1);
      text = text.slice(0, -1);
    } else this.#heldSurrogate = "";
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const needed = this.#generatedBytes + text.length * 3;
    if (needed > this.#generated.length) {
      const grown = new Uint8Array(Math.max(needed, this.#generated.length * 2, 1024));
      grown.set(this.#generated.subarray(0, this.#generatedBytes));
      this.#generated = grown;
    }
    const { written } = utf8.encodeInto(text, this.#generated.subarray(this.#generatedBytes));
    this.#generatedBytes += written;
  }

  /** The generated reasoning and text, in order, as one string. */
  #generatedText(): string {
    const kept = new TextDecoder().decode(this.#generated.subarray(0, this.#generatedBytes));
    return kept + this.#heldSurrogate;
  }

  /** Keeps the latest counts, or each choice's latest summed when they come per choice. */
  #takeUsage(next: Usage): void {
    if (next.choice === undefined && this.#choiceUsage === undefined) {
      this.#usage = next;
      return;
    }
    // Each choice's latest counts, summed; a count for the whole response is kept under -1.
    if (this.#choiceUsage === undefined) {
      this.#choiceUsage = new Map();
      if (this.#usage !== undefined) this.#choiceUsage.set(-1, this.#usage);
    }
    this.#choiceUsage.set(next.choice ?? -1, next);
    this.#usage = sumUsage(this.#choiceUsage);
  }
}

/**
 * Per-choice counts summed: generated tokens add up, while the prompt (and its cached part) is
 * the same for every choice, so the largest count stands.
 */
function sumUsage(byChoice: ReadonlyMap<number, Usage>): Usage {
  let completion: number | undefined;
  let prompt: number | undefined;
  let cached: number | undefined;
  let reasoning: number | undefined;
  for (const part of byChoice.values()) {
    if (part.reasoningTokens !== undefined) {
      reasoning = (reasoning ?? 0) + part.reasoningTokens;
    }
    if (part.completionTokens !== undefined) {
      completion = (completion ?? 0) + part.completionTokens;
    }
    if (part.promptTokens !== undefined) prompt = Math.max(prompt ?? 0, part.promptTokens);
    if (part.cachedPromptTokens !== undefined) {
      cached = Math.max(cached ?? 0, part.cachedPromptTokens);
    }
  }
  const sum = { promptTokens: prompt, completionTokens: completion, cachedPromptTokens: cached };
  return reasoning === undefined ? sum : { ...sum, reasoningTokens: reasoning };
}

/** Output tokens by the best source there is: the server's usage, logprobs, else the tokenizer. */
async function countOutputTokens(
  context: RequestContext,
  usage: Usage | undefined,
  logprobTokens: number | undefined,
  text: () => string,
): Promise<{ tokens: number; source: TokenSource }> {
  if (usage?.completionTokens !== undefined) {
    return { tokens: usage.completionTokens, source: "usage" };
  }
  if (logprobTokens !== undefined) return { tokens: logprobTokens, source: "logprobs" };
  return { tokens: await context.countTokens(text()), source: "tokenizer" };
}

/** An `"id": "..."` near the start of a JSON payload (OpenAI-style replies lead with it). */
const PAYLOAD_ID = /"id"\s*:\s*"([^"\\]{1,200})"/;

/** The `id` of a payload, looked for in its first 512 characters only. */
function payloadId(data: string): string | undefined {
  return PAYLOAD_ID.exec(data.slice(0, 512))?.[1];
}
