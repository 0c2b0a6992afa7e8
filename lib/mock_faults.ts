/**
 * The faults `llmload mock --fault KIND[:RATE]` can inject, and how a `--fault` value is read.
 * Pure: the mock decides per request, with its seeded random source, which fault (if any) a
 * request gets.
 *
 * @module
 */

/** Every fault kind the mock can inject, with what it does to a response. */
export const FAULT_KINDS = {
  http_400: "answers 400 with an OpenAI-style error body",
  http_401: "answers 401 (bad API key)",
  http_404: "answers 404 (no such model)",
  http_429: "answers 429 with Retry-After",
  http_500: "answers 500",
  http_503: "answers 503",
  refuse: "closes the connection before answering (as a refused or dropped connection)",
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
