/**
 * Splits a streamed response body into event payloads: SSE `data:` fields (through
 * `eventsource-parser`) or newline-delimited JSON lines. Text in, payload strings out.
 *
 * @module
 */
import { createParser } from "eventsource-parser";
import type { StreamFraming } from "./types.ts";

/** Incremental decoder of one response body. */
export interface EventDecoder {
  /** Feeds decoded body text; complete events are passed to the callback synchronously. */
  feed(text: string): void;
  /** Signals the end of the body; flushes a final unterminated NDJSON line. */
  end(): void;
}

/** Creates a decoder for one response of the given framing. */
export function createEventDecoder(
  framing: StreamFraming,
  onEvent: (data: string) => void,
): EventDecoder {
  return framing === "sse" ? createSseDecoder(onEvent) : createNdjsonDecoder(onEvent);
}

function createSseDecoder(onEvent: (data: string) => void): EventDecoder {
  const parser = createParser({ onEvent: (event) => onEvent(event.data) });
  return { feed: (text) => parser.feed(text), end: () => parser.reset({ consume: true }) };
}

function createNdjsonDecoder(onEvent: (data: string) => void): EventDecoder {
  let pending = "";
  function emit(line: string) {
    const trimmed = line.trim();
    if (trimmed) onEvent(trimmed);
  }
  return {
    feed(text) {
      const lines = (pending + text).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) emit(line);
    },
    end() {
      emit(pending);
      pending = "";
    },
  };
}
