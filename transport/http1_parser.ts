/**
 * The HTTP/1.1 response framer: a state machine over bytes, with no I/O, that finds the head
 * (skipping 1xx interim responses) and hands on the body bytes as they come, framed by
 * `Content-Length`, chunked transfer coding (extensions and trailers read and dropped) or the
 * connection's close. Anything malformed throws an {@link Http1Error}; nothing else is thrown,
 * whatever the bytes.
 *
 * @module
 */

/** How a failure reads: `connect` when no response came at all, `bad_response` otherwise. */
export type Http1ErrorKind = "bad_response" | "connect";

/**
 * A failure of the HTTP/1.1 client, with its kind and a Node-style `code` that agrees with it
 * (`ECONNRESET`, `ECONNREFUSED`… for `connect`; `ERR_HTTP1_BAD_RESPONSE` for `bad_response`), so
 * callers that classify by `code` and callers that classify by `kind` read it the same way.
 */
export class Http1Error extends Error {
  override name = "Http1Error";
  /** What the failure means for the request. */
  readonly kind: Http1ErrorKind;
  /** A Node-style error code. */
  readonly code: string;

  /** A failure of `kind`; `code` defaults to the kind's usual one. */
  constructor(
    kind: Http1ErrorKind,
    message: string,
    options: { readonly code?: string; readonly cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.code = options.code ?? (kind === "connect" ? "ECONNRESET" : BAD_RESPONSE_CODE);
  }
}

/** The `code` of every `bad_response` {@link Http1Error}. */
export const BAD_RESPONSE_CODE = "ERR_HTTP1_BAD_RESPONSE";

/** Largest response head (status line and headers), and largest trailer section, in bytes. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** A final (non-1xx) response head. */
export interface Http1Head {
  /** The status code. */
  readonly status: number;
  /** Headers by lower-cased name; repeated ones joined with `", "`. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Receives what the parser finds, synchronously from {@link ResponseParser.feed}. */
export interface ResponseHandler {
  /** The final head arrived; called once, before any body. */
  head(head: Http1Head): void;
  /** Body bytes arrived (never none): a view into the fed buffer, valid only during the call. */
  body(bytes: Uint8Array): void;
}

/** Frames one response. */
export interface ResponseParser {
  /**
   * Takes the next bytes read, `bytes[0..end)` (`end` defaults to the whole array, so a reused
   * read buffer needs no view); `true` when the response ended within them. Bytes after the end
   * (a body longer than its `Content-Length`) throw, as does anything malformed.
   */
  feed(bytes: Uint8Array, end?: number): boolean;
  /** The peer closed the connection: ends a close-delimited body, throws if the response is cut. */
  close(): void;
  /** Starts over for the next response on the same connection. */
  reset(): void;
  /** Whether the response has ended. */
  readonly done: boolean;
  /** Bytes fed so far (0: nothing of a response came). */
  readonly received: number;
  /** Whether the connection may carry another request once the response has ended. */
  readonly reusable: boolean;
}

const HEAD = 0;
const LENGTH_BODY = 1;
const CLOSE_BODY = 2;
const CHUNK_SIZE = 3;
const CHUNK_SIZE_SPACE = 4;
const CHUNK_EXTENSION = 5;
const CHUNK_SIZE_LF = 6;
const CHUNK_DATA = 7;
const CHUNK_DATA_CR = 8;
const CHUNK_DATA_LF = 9;
const TRAILER_START = 10;
const TRAILER_LINE = 11;
const TRAILER_LINE_LF = 12;
const TRAILER_END_LF = 13;
const DONE = 14;
const FAILED = 15;

const CR = 13;
const LF = 10;
/** 16^12 > 2^48: larger chunk sizes are refused long before a number loses precision. */
const MAX_CHUNK_SIZE_DIGITS = 12;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
/** A header field value as RFC 9110 allows it: no CR, LF, NUL or other control byte. */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const latin1 = new TextDecoder("latin1");

/**
 * A parser for the responses on one connection, one at a time ({@link ResponseParser.reset}
 * between them), to requests that have a body (so never to `HEAD`).
 *
 * @example
 * ```ts
 * const parser = createResponseParser({ head: (h) => console.log(h.status), body: () => {} });
 * parser.feed(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n")); // true
 * ```
 */
export function createResponseParser(handler: ResponseHandler): ResponseParser {
  let state = HEAD;
  let failure: Http1Error | undefined;
  let received = 0;
  let reusable = false;
  // Grown on demand: most heads fit in the first kibibytes.
  let headBytes = new Uint8Array(4096);
  let headLength = 0;
  let remaining = 0;
  let bodyLength = 0;
  let sizeDigits = 0;
  let lineBytes = 0;

  function feed(bytes: Uint8Array, end = bytes.length): boolean {
    if (state === FAILED) throw failure;
    try {
      received += end;
      step(bytes, end);
    } catch (error) {
      // A handler's own error (a sink refusing the response) passes through as it is.
      state = FAILED;
      failure = error instanceof Http1Error
        ? error
        : new Http1Error("bad_response", "The response was refused by its reader");
      throw error;
    }
    return state === DONE;
  }

  function step(bytes: Uint8Array, end: number) {
    let i = 0;
    while (i < end) {
      switch (state) {
        case HEAD:
          i = readHead(bytes, i, end);
          break;
        case LENGTH_BODY:
        case CHUNK_DATA: {
          const n = Math.min(remaining, end - i);
          handler.body(bytes.subarray(i, i + n));
          i += n;
          remaining -= n;
          if (remaining === 0) state = state === LENGTH_BODY ? DONE : CHUNK_DATA_CR;
          break;
        }
        case CLOSE_BODY:
          handler.body(bytes.subarray(i, end));
          i = end;
          break;
        case DONE:
          throw new Http1Error(
            "bad_response",
            bodyLength >= 0
              ? `Response body longer than its Content-Length (${bodyLength} bytes)`
              : "Bytes after the last chunk of the response",
          );
        default:
          chunkByte(bytes[i]);
          i++;
      }
    }
  }

  /** Copies head bytes until the blank line, then parses the head; returns the next index. */
  function readHead(bytes: Uint8Array, start: number, end: number): number {
    let i = start;
    while (i < end) {
      if (headLength === headBytes.length) growHead();
      headBytes[headLength++] = bytes[i++];
      if (
        headLength >= 4 && headBytes[headLength - 1] === LF && headBytes[headLength - 2] === CR &&
        headBytes[headLength - 3] === LF && headBytes[headLength - 4] === CR
      ) {
        takeHead(latin1.decode(headBytes.subarray(0, headLength - 4)));
        headLength = 0;
        return i;
      }
    }
    return i;
  }

  function growHead() {
    if (headLength === MAX_HEAD_BYTES) {
      throw new Http1Error("bad_response", `Response head over ${MAX_HEAD_BYTES} bytes`);
    }
    const grown = new Uint8Array(Math.min(headBytes.length * 2, MAX_HEAD_BYTES));
    grown.set(headBytes);
    headBytes = grown;
  }

  function takeHead(text: string) {
    const lines = text.split("\r\n");
    const status = STATUS_LINE.exec(lines[0]);
    if (status === null) {
      throw new Http1Error("bad_response", `Malformed status line ${quote(lines[0])}`);
    }
    const code = Number(status[2]);
    const headers = parseHeaders(lines);
    if (code === 101) {
      throw new Http1Error("bad_response", "Unexpected 101 Switching Protocols");
    }
    if (code < 200) return; // an interim response (100 Continue, 103 Early Hints): the next head follows
    const http10 = status[1] === "0";
    const connection = (headers.connection ?? "").toLowerCase();
    const keepAlive = http10 ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection);
    const encoding = headers["transfer-encoding"];
    const length = headers["content-length"];
    if (code === 204 || code === 304) {
      begin(LENGTH_BODY, 0, keepAlive);
    } else if (encoding !== undefined) {
      const codings = encoding.toLowerCase().split(",");
      const chunked = codings[codings.length - 1].trim() === "chunked";
      // With both headers the framing is ambiguous to other parties: never reuse the connection.
      bodyLength = -1;
      if (chunked) begin(CHUNK_SIZE, 0, keepAlive && length === undefined);
      else begin(CLOSE_BODY, 0, false);
    } else if (length !== undefined) {
      begin(LENGTH_BODY, contentLength(length), keepAlive);
    } else {
      begin(CLOSE_BODY, 0, false);
    }
    handler.head({ status: code, headers });
    if (state === LENGTH_BODY && remaining === 0) state = DONE;
  }

  function begin(next: number, length: number, keepAlive: boolean) {
    state = next;
    remaining = length;
    if (next === LENGTH_BODY) bodyLength = length;
    reusable = keepAlive;
    sizeDigits = 0;
  }

  /** One byte of chunk framing: size line, extension, data delimiters, trailers. */
  function chunkByte(byte: number) {
    switch (state) {
      case CHUNK_SIZE: {
        const digit = hexValue(byte);
        if (digit >= 0) {
          if (++sizeDigits > MAX_CHUNK_SIZE_DIGITS) {
            throw new Http1Error("bad_response", "Chunk size too large");
          }
          remaining = remaining * 16 + digit;
        } else if (sizeDigits === 0) {
          throw badChunkSize(byte);
        } else if (byte === CR) state = CHUNK_SIZE_LF;
        else if (byte === 0x3b) startExtension(); // ";"
        else if (byte === 0x20 || byte === 0x09) state = CHUNK_SIZE_SPACE;
        else throw badChunkSize(byte);
        return;
      }
      case CHUNK_SIZE_SPACE:
        if (byte === CR) state = CHUNK_SIZE_LF;
        else if (byte === 0x3b) startExtension();
        else if (byte !== 0x20 && byte !== 0x09) throw badChunkSize(byte);
        return;
      case CHUNK_EXTENSION:
        if (byte === CR) state = CHUNK_SIZE_LF;
        else lineByte(byte, "Chunk extension");
        return;
      case CHUNK_SIZE_LF:
        expectLf(byte, "chunk size");
        if (remaining === 0) {
          lineBytes = 0;
          state = TRAILER_START;
        } else state = CHUNK_DATA;
        return;
      case CHUNK_DATA_CR:
        if (byte !== CR) throw new Http1Error("bad_response", "Chunk longer than its size");
        state = CHUNK_DATA_LF;
        return;
      case CHUNK_DATA_LF:
        expectLf(byte, "chunk data");
        state = CHUNK_SIZE;
        sizeDigits = 0;
        return;
      case TRAILER_START:
        if (byte === CR) state = TRAILER_END_LF;
        else {
          state = TRAILER_LINE;
          lineByte(byte, "Trailer section");
        }
        return;
      case TRAILER_LINE:
        if (byte === CR) state = TRAILER_LINE_LF;
        else lineByte(byte, "Trailer section");
        return;
      case TRAILER_LINE_LF:
        expectLf(byte, "trailer");
        state = TRAILER_START;
        return;
      case TRAILER_END_LF:
        expectLf(byte, "trailer section");
        state = DONE;
        return;
    }
  }

  function startExtension() {
    lineBytes = 0;
    state = CHUNK_EXTENSION;
  }

  /** One byte of an extension or trailer line, counted towards {@link MAX_HEAD_BYTES}. */
  function lineByte(byte: number, what: string) {
    if (byte === LF || byte === 0) {
      throw new Http1Error("bad_response", `${what} holds a bare ${byte === LF ? "LF" : "NUL"}`);
    }
    if (++lineBytes > MAX_HEAD_BYTES) {
      throw new Http1Error("bad_response", `${what} over ${MAX_HEAD_BYTES} bytes`);
    }
  }

  function close() {
    if (state === FAILED) throw failure;
    if (state === DONE) return;
    if (state === CLOSE_BODY) {
      state = DONE;
      return;
    }
    failure = cutFailure();
    state = FAILED;
    throw failure;
  }

  /** The failure of a response cut short where it was. */
  function cutFailure(): Http1Error {
    if (received === 0) return new Http1Error("connect", "Connection closed before any response");
    if (state === HEAD) return new Http1Error("bad_response", "Connection closed mid-head");
    if (state === LENGTH_BODY) {
      const got = bodyLength - remaining;
      return new Http1Error(
        "bad_response",
        `Connection closed mid-body (${got} of ${bodyLength} bytes)`,
      );
    }
    return new Http1Error("bad_response", "Connection closed mid-chunk");
  }

  function reset() {
    state = HEAD;
    failure = undefined;
    received = 0;
    reusable = false;
    headLength = 0;
    remaining = 0;
    bodyLength = 0;
  }

  return {
    feed,
    close,
    reset,
    get done() {
      return state === DONE;
    },
    get received() {
      return received;
    },
    get reusable() {
      return reusable && state === DONE;
    },
  };
}

function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index];
    const match = HEADER_LINE.exec(line);
    if (match === null || !FIELD_VALUE.test(match[2])) {
      throw new Http1Error("bad_response", `Malformed header line ${quote(line)}`);
    }
    const name = match[1].toLowerCase();
    const previous = headers[name];
    headers[name] = previous === undefined ? match[2] : `${previous}, ${match[2]}`;
  }
  return headers;
}

/** A `Content-Length` value; repeated equal values (`"5, 5"`) are one. */
function contentLength(value: string): number {
  const values = new Set(value.split(",").map((part) => part.trim()));
  const [only] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(only)) {
    throw new Http1Error("bad_response", `Malformed Content-Length ${quote(value)}`);
  }
  return Number(only);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function badChunkSize(byte: number): Http1Error {
  return new Http1Error(
    "bad_response",
    `Bad chunk size: unexpected byte 0x${byte.toString(16).padStart(2, "0")}`,
  );
}

function expectLf(byte: number, after: string) {
  if (byte !== LF) throw new Http1Error("bad_response", `Expected LF after the ${after}`);
}

/** A line of a response quoted for a message: JSON-escaped, cut at 80 characters. */
function quote(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
}
