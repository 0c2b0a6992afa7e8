/**
 * The faults `llmload mock --fault KIND[:RATE]` can inject, how a `--fault` value is read, and
 * the body of a reply with a content fault, planned in full. Pure: the mock decides per request,
 * with its seeded random source, which fault (if any) a request gets, and only times the pieces.
 *
 * @module
 */
import { MOCK_WORDS, type MockReply } from "./wire.ts";

/** Every fault kind the mock can inject, with what it does to a response. */
export const FAULT_KINDS = {
  http_400: "answers 400 with an OpenAI-style error body",
  http_401: "answers 401 (bad API key)",
  http_404: "answers 404 (no such model)",
  http_429: "answers 429 with Retry-After",
  http_500: "answers 500",
  http_503: "answers 503",
  refuse: "closes a new connection without answering (as a refused or dropped connection)",
  reset: "resets the connection in the middle of the stream",
  malformed_json: "sends an event whose JSON is broken",
  no_done: "ends the stream without the end-of-stream marker",
  stall: "stops sending in the middle of the stream and never finishes",
  trickle: "sends the response one byte per second",
  huge_event: "sends one 1 MB event",
  invalid_utf8: "sends bytes that are not valid UTF-8 inside an event",
  wrong_content_type: "streams with Content-Type text/plain instead of text/event-stream",
  keepalive_close: "closes the kept-alive connection right after the response",
  empty_200: "answers 200 with an empty body",
} as const;

/** One fault kind. */
export type FaultKind = keyof typeof FAULT_KINDS;

/** A fault and the share of requests that get it. */
export interface FaultSpec {
  /** What goes wrong. */
  readonly kind: FaultKind;
  /** Share of requests, 0 < rate <= 1. */
  readonly rate: number;
}

/** Names accepted by `--fault`. */
export const FAULT_NAMES: readonly FaultKind[] = Object.keys(FAULT_KINDS) as FaultKind[];

/**
 * Reads `KIND` or `KIND:RATE` (rate a fraction such as 0.1 or a percentage such as 10%; default
 * 1, every request). Throws an `Error` whose message says what is accepted.
 *
 * @example
 * ```ts
 * parseFault("http_503:10%"); // { kind: "http_503", rate: 0.1 }
 * ```
 */
export function parseFault(text: string): FaultSpec {
  const [name, rateText] = text.trim().split(":", 2);
  if (!(FAULT_NAMES as readonly string[]).includes(name)) {
    throw new Error(`KIND[:RATE] with KIND one of ${FAULT_NAMES.join(", ")}`);
  }
  if (rateText === undefined) return { kind: name as FaultKind, rate: 1 };
  const percent = rateText.endsWith("%");
  const number = Number(percent ? rateText.slice(0, -1) : rateText);
  const rate = percent ? number / 100 : number;
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1 || rateText.trim() === "") {
    throw new Error("a rate above 0 and at most 1, such as 0.1 or 10%");
  }
  return { kind: name as FaultKind, rate };
}

/**
 * Why faults cannot be injected together, if they cannot: their rates take consecutive slices of
 * one draw, so they may add up to at most 1. The one check of `--fault` and of `startMock`.
 */
export function faultRatesProblem(faults: readonly FaultSpec[]): string | undefined {
  const total = faults.reduce((sum, fault) => sum + fault.rate, 0);
  return total > 1 + 1e-9
    ? `they add up to ${Number(total.toFixed(6))}, expected at most 1`
    : undefined;
}

/**
 * Picks the fault for one request from a uniform draw `u` in [0, 1): faults take consecutive
 * slices of the unit interval in the order given, so their rates add up (the sum is at most 1).
 */
export function pickFault(faults: readonly FaultSpec[], u: number): FaultKind | undefined {
  let edge = 0;
  for (const fault of faults) {
    edge += fault.rate;
    if (u < edge) return fault.kind;
  }
  return undefined;
}

/** HTTP status of each fault that answers with an error status. */
export const FAULT_STATUS: Readonly<Partial<Record<FaultKind, number>>> = {
  http_400: 400,
  http_401: 401,
  http_404: 404,
  http_429: 429,
  http_500: 500,
  http_503: 503,
};

/** Two bytes that can never occur in UTF-8. */
export const INVALID_UTF8: Uint8Array = new Uint8Array([0xff, 0xfe]);

/** Characters of filler in the `huge_event` event: 1 MiB. */
export const HUGE_EVENT_CHARS = 1 << 20;

/** What happens after the last piece of a faulty body. */
export type FaultEnding = "close" | "reset" | "stall";

/** One write of a faulty body. */
export interface FaultPiece {
  /** The bytes written. */
  readonly bytes: Uint8Array;
  /** Generated tokens the write carries, for the mock's records. */
  readonly tokens: number;
}

/** The body of a reply with a content fault, planned in full; the server only times it. */
export interface FaultyBody {
  /** `content-type` of the response. */
  readonly contentType: string;
  /** Written as soon as the response starts (a chat role chunk), or `null`. */
  readonly head: Uint8Array | null;
  /** Written one at a time: the first when the first token (or the body) is due, then one per interval. */
  readonly pieces: readonly FaultPiece[];
  /** Time between pieces in ms; `undefined` keeps the server's inter-token latency. */
  readonly intervalMs?: number;
  /** After the last piece: end the body, reset the connection, or send nothing more, ever. */
  readonly ending: FaultEnding;
}

const encoder = new TextEncoder();

/**
 * The body of `reply` with the content fault `kind`, or `undefined` when `kind` does not act on
 * the body (statuses, `refuse`, `keepalive_close`) or does not apply to this reply: `huge_event`,
 * `no_done` and `wrong_content_type` change streams only, and `no_done` needs a stream that has
 * an end marker (`[DONE]`, or the final event of TGI, llama.cpp and Ollama streams). Faults that
 * act in the middle of a stream act on token `floor(n / 2)`.
 *
 * @example
 * ```ts
 * const body = faultyBody(reply, "reset"); // the first half of the tokens, then a reset
 * ```
 */
export function faultyBody(reply: MockReply, kind: FaultKind): FaultyBody | undefined {
  if (kind === "empty_200") {
    return { contentType: reply.contentType, head: null, pieces: [], ending: "close" };
  }
  return reply.stream ? faultyStream(reply, kind) : faultyJson(reply, kind);
}

function faultyStream(reply: MockReply, kind: FaultKind): FaultyBody | undefined {
  const parts = reply.streamParts();
  const n = reply.tokens;
  const events = new Array<string>(n);
  for (let k = 0; k < n; k++) {
    events[k] = parts.cycle === null ? reply.tokenEvent(k) : parts.cycle[k % parts.cycle.length];
  }
  if (parts.last !== undefined) events[n - 1] = parts.last;
  else events[n - 1] += parts.tail;
  const middle = Math.floor(n / 2);
  const word = MOCK_WORDS[middle % MOCK_WORDS.length];
  const head = parts.head === "" ? null : encoder.encode(parts.head);
  const plan = (pieces: FaultPiece[], ending: FaultEnding = "close"): FaultyBody => ({
    contentType: reply.contentType,
    head,
    pieces,
    ending,
  });
  const tokens = (list: string[]): FaultPiece[] =>
    list.map((event) => ({ bytes: encoder.encode(event), tokens: 1 }));
  switch (kind) {
    case "reset":
      return plan(tokens(events.slice(0, middle)), "reset");
    case "stall":
      return plan(tokens(events.slice(0, middle)), "stall");
    case "malformed_json":
      events[middle] = breakFirstJson(events[middle]);
      return plan(tokens(events));
    case "huge_event": {
      const pieces = tokens(events);
      pieces[middle] = {
        bytes: encoder.encode(insertAfterWord(events[middle], word, "a".repeat(HUGE_EVENT_CHARS))),
        tokens: 1,
      };
      return plan(pieces);
    }
    case "invalid_utf8": {
      const pieces = tokens(events);
      pieces[middle] = { bytes: bytesAfterWord(events[middle], word, INVALID_UTF8), tokens: 1 };
      return plan(pieces);
    }
    case "wrong_content_type":
      return { ...plan(tokens(events)), contentType: "text/plain; charset=utf-8" };
    case "no_done": {
      const last = withoutEndMarker(reply, events[n - 1]);
      if (last === undefined) return undefined;
      events[n - 1] = last;
      return plan(tokens(events));
    }
    case "trickle":
      return trickled(reply.contentType, encoder.encode(parts.head + events.join("")));
  }
  return undefined;
}

function faultyJson(reply: MockReply, kind: FaultKind): FaultyBody | undefined {
  const json = reply.json();
  const half = json.slice(0, Math.ceil(json.length / 2));
  const plan = (bytes: Uint8Array, ending: FaultEnding = "close"): FaultyBody => ({
    contentType: reply.contentType,
    head: null,
    pieces: [{ bytes, tokens: 0 }],
    ending,
  });
  switch (kind) {
    case "reset":
      return plan(encoder.encode(half), "reset");
    case "stall":
      return plan(encoder.encode(half), "stall");
    case "malformed_json":
      return plan(encoder.encode(half));
    case "invalid_utf8":
      return plan(bytesAfterWord(json, MOCK_WORDS[0], INVALID_UTF8));
    case "trickle":
      return trickled(reply.contentType, encoder.encode(json));
  }
  return undefined;
}

/** The whole body, one byte per second. */
function trickled(contentType: string, bytes: Uint8Array): FaultyBody {
  const pieces = new Array<FaultPiece>(bytes.length);
  for (let i = 0; i < bytes.length; i++) pieces[i] = { bytes: bytes.subarray(i, i + 1), tokens: 0 };
  return { contentType, head: null, pieces, intervalMs: 1000, ending: "close" };
}

/**
 * The first JSON object of an event (SSE `data: {...}` or an NDJSON line) cut in half, the rest
 * of the text (a tail of further events) kept. JSON text never holds a raw newline, so the
 * object ends before the first one.
 */
function breakFirstJson(event: string): string {
  const open = event.indexOf("{");
  const end = event.indexOf("\n", open);
  return event.slice(0, open + Math.ceil((end - open) / 2)) + event.slice(end);
}

/**
 * Where to insert inside the JSON string that holds `word`: right after the word (a token
 * event's text is the word alone; a whole body's text starts with it).
 */
function afterWord(event: string, word: string): number {
  const alone = event.indexOf(`${word}"`);
  const at = alone < 0 ? event.indexOf(word) : alone;
  return at < 0 ? event.length : at + word.length;
}

function insertAfterWord(event: string, word: string, text: string): string {
  const at = afterWord(event, word);
  return event.slice(0, at) + text + event.slice(at);
}

function bytesAfterWord(event: string, word: string, bytes: Uint8Array): Uint8Array {
  const at = afterWord(event, word);
  const before = encoder.encode(event.slice(0, at));
  const after = encoder.encode(event.slice(at));
  const joined = new Uint8Array(before.length + bytes.length + after.length);
  joined.set(before);
  joined.set(bytes, before.length);
  joined.set(after, before.length + bytes.length);
  return joined;
}

/**
 * The last event without the end-of-stream marker: `data: [DONE]` removed, or the final event
 * of a dialect that ends with one (TGI's details event becomes a plain token event; llama.cpp's
 * `stop: true` event and Ollama's `done: true` line are dropped). `undefined` when the stream
 * has no marker (Triton).
 */
function withoutEndMarker(reply: MockReply, last: string): string | undefined {
  const done = "data: [DONE]\n\n";
  if (last.endsWith(done)) return last.slice(0, -done.length);
  const parts = reply.streamParts();
  const n = reply.tokens;
  if (parts.last !== undefined) return reply.tokenEvent(n - 1);
  if (parts.tail === "") return undefined;
  return last.slice(0, -parts.tail.length);
}
