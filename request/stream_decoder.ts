/**
 * Splits a streamed response body into event payloads, on bytes: SSE `data:` fields or
 * newline-delimited JSON lines. Bytes in, payload strings out. Boundaries and fields are found on
 * the bytes; only a payload's bytes are decoded, once per event (an event whole in one read is
 * decoded straight from the transport's buffer); a partial event waits in one reusable buffer.
 * The end-of-stream marker is compared on bytes and never decoded. One event may hold at most
 * {@link MAX_EVENT_BYTES}, so a server cannot make the client buffer without limit.
 *
 * Written here rather than taken from a library, as the hot path's one exception:
 * `eventsource-parser`, which the tests hold this decoder to (tests/stream_decoder_test.ts),
 * parses decoded strings, so every byte would be decoded before its boundaries are found; on bytes
 * the whole request path costs 1.37–1.66 µs per event against 1.60–2.33 µs with it
 * (`deno run -A tests/bench/reader_cpu.ts`, 2026-12-02).
 *
 * @module
 */
import type { StreamFraming } from "../providers/types.ts";

/**
 * Largest event accepted, in bytes (256 KiB). A token event is a few hundred bytes, a final
 * event with usage and timings a few thousand; a stream whose event grows past this is refused
 * rather than buffered, so a thousand streams in flight hold at most a few hundred MB.
 */
export const MAX_EVENT_BYTES = 256 * 1024;

/** Longest payload, in characters, trimmed before it is compared with the end marker. */
const MARKER_TRIM_CHARS = 32;

/**
 * Whether an event payload is the dialect's end-of-stream marker (`[DONE]`), stray whitespace
 * around it tolerated. The one rule for the marker, which the decoder applies on bytes (see
 * {@link createEventDecoder}'s `endMarker`): providers never see it. `false` at once for a
 * dialect without one; only short payloads are trimmed.
 *
 * @example
 * ```ts
 * isEndMarker(" [DONE] ", "[DONE]"); // true
 * isEndMarker("[DONE]", undefined); // false
 * ```
 */
export function isEndMarker(data: string, marker: string | undefined): boolean {
  if (marker === undefined) return false;
  return data === marker || (data.length < MARKER_TRIM_CHARS && data.trim() === marker);
}

/** Thrown by {@link EventDecoder.feed} when one event grows past the limit. */
export class EventTooLargeError extends Error {
  override name = "EventTooLargeError";
}

/** Incremental decoder of one response body. */
export interface EventDecoder {
  /**
   * Feeds body bytes as read (a piece may end inside a character or a line); complete events
   * are passed on synchronously, and `bytes` is not kept past the call. Throws an
   * {@link EventTooLargeError} once an event (finished or not) passes the limit; the decoder
   * must not be fed after that.
   */
  feed(bytes: Uint8Array): void;
  /** Signals the end of the body; flushes a final unterminated NDJSON line. */
  end(): void;
}

/** Options of {@link createEventDecoder}. */
export interface EventDecoderOptions {
  /** Largest event accepted, in bytes. Default {@link MAX_EVENT_BYTES}. */
  readonly maxEventBytes?: number;
  /**
   * The dialect's end marker: a payload that is the marker ({@link isEndMarker}) calls
   * `onEndMarker` instead of being decoded and passed to `onEvent`.
   */
  readonly endMarker?: string;
  /** Called for the end marker, when `endMarker` is set. */
  readonly onEndMarker?: () => void;
}

/**
 * Creates a decoder for one response of the given framing.
 *
 * @example
 * ```ts
 * const decoder = createEventDecoder("sse", (data) => console.log(data));
 * decoder.feed(new TextEncoder().encode('data: {"text":"hi"}\n\n')); // logs {"text":"hi"}
 * ```
 */
export function createEventDecoder(
  framing: StreamFraming,
  onEvent: (data: string) => void,
  options: EventDecoderOptions = {},
): EventDecoder {
  const emit = payloadEmitter(onEvent, options);
  const limit = options.maxEventBytes ?? MAX_EVENT_BYTES;
  return framing === "sse" ? createSseDecoder(emit, limit) : createNdjsonDecoder(emit, limit);
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
/** `data`, the one SSE field read. */
const DATA = [0x64, 0x61, 0x74, 0x61];
const BOM = [0xef, 0xbb, 0xbf];

/**
 * Passes one payload's bytes on: the end marker compared on bytes, anything else decoded;
 * `trim` trims the decoded text too (NDJSON's Unicode whitespace) and drops it if blank.
 */
type Emit = (bytes: Uint8Array, start: number, end: number, trim?: boolean) => void;

function payloadEmitter(onEvent: (data: string) => void, options: EventDecoderOptions): Emit {
  // A leading BOM is the stream's (stripped at its start), never a payload's: keep it. Decoding a
  // 180-byte token event this way measured 0.22 µs; an ASCII fast path in JavaScript (check the
  // bytes, then `String.fromCharCode`) 1.1 µs, so there is none.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const marker = options.endMarker;
  const markerBytes = marker === undefined ? undefined : new TextEncoder().encode(marker);
  const onEndMarker = options.onEndMarker ?? (() => {});
  return function emit(bytes, start, end, trim) {
    // A payload of 32 characters or more is at least 32 bytes; of fewer, at most 96.
    if (markerBytes !== undefined && end - start <= MARKER_TRIM_CHARS * 3) {
      if (isMarkerBytes(bytes, start, end, markerBytes, marker!, decoder)) return onEndMarker();
    }
    const text = decoder.decode(bytes.subarray(start, end));
    if (!trim) return onEvent(text);
    const trimmed = text.trim();
    if (trimmed) onEvent(trimmed);
  };
}

/**
 * {@link isEndMarker} on bytes: an exact match, or one inside ASCII whitespace, is decided
 * without decoding; a short payload with other bytes at its edges (Unicode whitespace) is
 * decoded and given the string rule.
 */
function isMarkerBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  marker: Uint8Array,
  markerText: string,
  decoder: TextDecoder,
): boolean {
  let from = start;
  let to = end;
  while (from < to && isAsciiSpace(bytes[from])) from++;
  while (to > from && isAsciiSpace(bytes[to - 1])) to--;
  if (to - from === marker.length) {
    let same = true;
    for (let i = 0; i < marker.length && same; i++) same = bytes[from + i] === marker[i];
    if (same) return from === start && to === end ? true : end - start < MARKER_TRIM_CHARS;
  }
  if (from === to || (bytes[from] < 0x80 && bytes[to - 1] < 0x80)) return false;
  return isEndMarker(decoder.decode(bytes.subarray(start, end)), markerText);
}

/** The whitespace `String.prototype.trim` removes that is one ASCII byte. */
function isAsciiSpace(byte: number): boolean {
  return byte === SPACE || (byte >= 0x09 && byte <= 0x0d);
}

function tooLarge(limit: number): EventTooLargeError {
  const size = limit % 1024 === 0 ? `${limit / 1024} KiB` : `${limit} bytes`;
  return new EventTooLargeError(`Stream event larger than ${size}: refused rather than buffered`);
}

/** A growable byte buffer, reused for the life of one decoder. */
class ByteBuffer {
  bytes: Uint8Array = new Uint8Array(0);
  length = 0;

  append(source: Uint8Array, start: number, end: number): void {
    const needed = this.length + end - start;
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2, 256));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(source.subarray(start, end), this.length);
    this.length = needed;
  }

  push(byte: number): void {
    if (this.length === this.bytes.length) this.append(new Uint8Array([byte]), 0, 1);
    else this.bytes[this.length++] = byte;
  }
}

/**
 * SSE as the WHATWG spec reads it, for the one field used: lines end at CRLF, LF or CR; a line
 * `data:value` (one leading space dropped) or a bare `data` adds a line to the event's data;
 * a blank line dispatches the event if it has data; other fields and comments are ignored; a
 * BOM at the stream's start is dropped; an unterminated event at the end is discarded.
 */
function createSseDecoder(emit: Emit, limit: number): EventDecoder {
  /** The unterminated line carried over from the previous read. */
  const line = new ByteBuffer();
  /** The event's data so far, when it cannot be read from the current read's bytes. */
  const data = new ByteBuffer();
  /** Data lines in the event so far. */
  let dataLines = 0;
  /** The event's one data line as a range of the current read (no copy), when `direct`. */
  let direct: Uint8Array | undefined;
  let directStart = 0;
  let directEnd = 0;
  /** Bytes since the last blank line: what the event being read holds, at most. */
  let pending = 0;
  /** The last read ended in CR: a LF that starts the next one belongs to it. */
  let skipLf = false;
  let firstLine = true;

  function addData(bytes: Uint8Array, start: number, end: number, inRead: boolean) {
    if (dataLines === 0 && inRead) {
      direct = bytes;
      directStart = start;
      directEnd = end;
    } else {
      keepDirect();
      if (dataLines > 0) data.push(LF);
      data.append(bytes, start, end);
      if (data.length > limit) throw tooLarge(limit);
    }
    dataLines++;
  }

  /** Copies a data line that lives in the current read into `data`, before the read is gone. */
  function keepDirect() {
    if (direct === undefined) return;
    data.append(direct, directStart, directEnd);
    direct = undefined;
  }

  function dispatch() {
    if (dataLines === 0) return;
    const size = direct === undefined ? data.length : directEnd - directStart;
    if (size > limit) throw tooLarge(limit);
    if (direct !== undefined) emit(direct, directStart, directEnd);
    else emit(data.bytes, 0, data.length);
    direct = undefined;
    data.length = 0;
    dataLines = 0;
  }

  function takeLine(bytes: Uint8Array, start: number, end: number, inRead: boolean) {
    if (firstLine) {
      firstLine = false;
      if (startsWith(bytes, start, end, BOM)) start += BOM.length;
    }
    if (start === end) {
      pending = 0;
      dispatch();
    } else if (startsWith(bytes, start, end, DATA)) {
      const after = start + DATA.length;
      if (after === end) addData(bytes, end, end, inRead);
      else if (bytes[after] === COLON) {
        // The byte past the line's end is not the line's (a terminator, or stale buffer bytes).
        const space = after + 1 < end && bytes[after + 1] === SPACE;
        addData(bytes, space ? after + 2 : after + 1, end, inRead);
      }
    }
  }

  function feed(bytes: Uint8Array) {
    const n = bytes.length;
    let i = 0;
    if (skipLf && n > 0) {
      skipLf = false;
      if (bytes[0] === LF) i = 1;
    }
    let lf = bytes.indexOf(LF, i);
    let cr = bytes.indexOf(CR, i);
    let lastBlank = -1;
    while (i < n) {
      if (lf !== -1 && lf < i) lf = bytes.indexOf(LF, i);
      if (cr !== -1 && cr < i) cr = bytes.indexOf(CR, i);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      if (line.length > 0) {
        line.append(bytes, i, end);
        takeLine(line.bytes, 0, line.length, false);
        line.length = 0;
      } else {
        if (end === i) lastBlank = end;
        takeLine(bytes, i, end, true);
      }
      i = end + 1;
      if (bytes[end] === CR) {
        if (i === n) skipLf = true;
        else if (bytes[i] === LF) i++;
      }
    }
    if (i < n) {
      line.append(bytes, i, n);
      if (line.length > limit) throw tooLarge(limit);
    }
    keepDirect();
    pending = lastBlank === -1 ? pending + n : n - lastBlank;
    if (pending > limit) throw tooLarge(limit);
  }

  // An unterminated event at the end of the body is discarded, as the SSE spec says.
  return { feed, end() {} };
}

/** Whether `bytes[start, end)` begins with `prefix`. */
function startsWith(bytes: Uint8Array, start: number, end: number, prefix: number[]): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return false;
  return true;
}

/**
 * NDJSON: one payload per LF-terminated line, whitespace around it trimmed (as
 * `String.prototype.trim` does), blank lines skipped, a BOM at the stream's start dropped, a
 * last unterminated line flushed at the end.
 */
function createNdjsonDecoder(emit: Emit, limit: number): EventDecoder {
  const line = new ByteBuffer();
  let firstLine = true;

  function takeLine(bytes: Uint8Array, start: number, end: number) {
    if (end - start > limit) throw tooLarge(limit);
    if (firstLine) {
      firstLine = false;
      if (startsWith(bytes, start, end, BOM)) start += BOM.length;
    }
    while (start < end && isAsciiSpace(bytes[start])) start++;
    while (end > start && isAsciiSpace(bytes[end - 1])) end--;
    // Other whitespace `trim` removes is never ASCII: only then is the decoded text trimmed.
    if (start < end) emit(bytes, start, end, bytes[start] >= 0x80 || bytes[end - 1] >= 0x80);
  }

  return {
    feed(bytes) {
      const n = bytes.length;
      let i = 0;
      for (let lf = bytes.indexOf(LF); lf !== -1; lf = bytes.indexOf(LF, i)) {
        if (line.length > 0) {
          line.append(bytes, i, lf);
          takeLine(line.bytes, 0, line.length);
          line.length = 0;
        } else takeLine(bytes, i, lf);
        i = lf + 1;
      }
      if (i < n) {
        line.append(bytes, i, n);
        if (line.length > limit) throw tooLarge(limit);
      }
    },
    end() {
      takeLine(line.bytes, 0, line.length);
      line.length = 0;
    },
  };
}
