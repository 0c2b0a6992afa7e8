/**
 * Splits a streamed response body into event payloads: SSE `data:` fields (through
 * `eventsource-parser`) or newline-delimited JSON lines. Text in, payload strings out, with a
 * bound on how much one event may hold, so a server cannot make the client buffer without limit,
 * and the one test for a dialect's end-of-stream marker ({@link isEndMarker}).
 *
 * @module
 */
import { createParser } from "eventsource-parser";
import type { StreamFraming } from "../providers/types.ts";

/**
 * Largest event accepted, in characters (256 KiB of ASCII JSON). A token event is a few hundred characters, a
 * final event with usage and timings a few thousand; a stream whose event grows past this is
 * refused rather than buffered, so a thousand streams in flight hold at most a few hundred MB.
 */
export const MAX_EVENT_CHARS = 256 * 1024;

/**
 * Whether an event payload is the dialect's end-of-stream marker (`[DONE]`), stray whitespace
 * around it tolerated. The request path's one test for the marker: providers never see it.
 * `false` at once for a dialect without one; only short payloads are trimmed.
 *
 * @example
 * ```ts
 * isEndMarker(" [DONE] ", "[DONE]"); // true
 * isEndMarker("[DONE]", undefined); // false
 * ```
 */
export function isEndMarker(data: string, marker: string | undefined): boolean {
  if (marker === undefined) return false;
  return data === marker || (data.length < 32 && data.trim() === marker);
}

/** Thrown by {@link EventDecoder.feed} when one event grows past the limit. */
export class EventTooLargeError extends Error {
  override name = "EventTooLargeError";
}

/** Incremental decoder of one response body. */
export interface EventDecoder {
  /**
   * Feeds decoded body text; complete events are passed to the callback synchronously. Throws
   * an {@link EventTooLargeError} once an event (finished or not) passes the limit; the decoder
   * must not be fed after that.
   */
  feed(text: string): void;
  /** Signals the end of the body; flushes a final unterminated NDJSON line. */
  end(): void;
}

/** Options of {@link createEventDecoder}. */
export interface EventDecoderOptions {
  /** Largest event accepted, in characters. Default {@link MAX_EVENT_CHARS}. */
  readonly maxEventChars?: number;
}

/**
 * Creates a decoder for one response of the given framing.
 *
 * @example
 * ```ts
 * const decoder = createEventDecoder("sse", (data) => console.log(data));
 * decoder.feed("data: {\"text\":\"hi\"}\n\n"); // logs {"text":"hi"}
 * ```
 */
export function createEventDecoder(
  framing: StreamFraming,
  onEvent: (data: string) => void,
  options: EventDecoderOptions = {},
): EventDecoder {
  const limit = options.maxEventChars ?? MAX_EVENT_CHARS;
  return framing === "sse" ? createSseDecoder(onEvent, limit) : createNdjsonDecoder(onEvent, limit);
}

function tooLarge(limit: number): EventTooLargeError {
  const size = limit % 1024 === 0 ? `${limit / 1024} KiB` : `${limit} characters`;
  return new EventTooLargeError(`Stream event larger than ${size}: refused rather than buffered`);
}

function createSseDecoder(onEvent: (data: string) => void, limit: number): EventDecoder {
  let dispatched = false;
  // Characters fed since the last event ended, roughly: what the parser may be holding.
  let pending = 0;
  const parser = createParser({
    onEvent(event) {
      if (event.data.length > limit) throw tooLarge(limit);
      dispatched = true;
      onEvent(event.data);
    },
  });
  return {
    feed(text) {
      dispatched = false;
      parser.feed(text);
      // After an event, only the text past the last line break can still be buffered.
      pending = dispatched ? text.length - text.lastIndexOf("\n") - 1 : pending + text.length;
      if (pending > limit) throw tooLarge(limit);
    },
    end: () => parser.reset({ consume: true }),
  };
}

function createNdjsonDecoder(onEvent: (data: string) => void, limit: number): EventDecoder {
  let pending = "";
  function emit(line: string) {
    if (line.length > limit) throw tooLarge(limit);
    const trimmed = line.trim();
    if (trimmed) onEvent(trimmed);
  }
  return {
    feed(text) {
      const lines = (pending + text).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) emit(line);
      if (pending.length > limit) throw tooLarge(limit);
    },
    end() {
      emit(pending);
      pending = "";
    },
  };
}
