/**
 * How a request's outcome is named: the error types that end a request early, and pure
 * functions from what happened (an HTTP status, a content type, a thrown error) to one
 * {@link RequestFailure} kind and its message. No I/O, no state.
 *
 * @module
 */
import { TimeoutError } from "../common/errors.ts";
import type { ResponseHead } from "../transport/types.ts";
import type { FailureKind, RequestFailure } from "./types.ts";

/** Ends a request as a `bad_response`, from the parse path or through the abort signal. */
export class BadResponseError extends Error {
  /** Always `"BadResponseError"`. */
  override name = "BadResponseError";
}

/** Stops a request because the run is stopping, not because anything went wrong. */
export class StopError extends Error {
  /** Always `"StopError"`. */
  override name = "StopError";
}

/** The transport threw instead of returning a promise: nothing was sent. */
export class SendError extends Error {
  /** Always `"SendError"`. */
  override name = "SendError";
}

/** Error codes (Node's and Deno's) of a request that got no response at all. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ConnectionRefused",
  "ConnectionReset",
]);

/** Whether an HTTP status is a success (2xx). */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Why a response head alone makes the response unreadable, or `undefined`: a 2xx reply to a
 * request that expects an SSE stream must say `text/event-stream`.
 */
export function headProblem(head: ResponseHead, expectsSse: boolean): string | undefined {
  if (!expectsSse || !isSuccess(head.status)) return undefined;
  if (head.contentType.includes("text/event-stream")) return undefined;
  return `Expected text/event-stream, got '${head.contentType || "no content type"}'`;
}

/** A failure of the given kind and message. */
export function failure(kind: FailureKind, message: string): RequestFailure {
  return { kind, message };
}

/**
 * The failure for an error that ended a request: its own kind for the request path's errors
 * (timeout, stop, refused response, unsendable request), else `connect` before any status
 * (`status` 0) and a `bad_response` reset after it.
 */
export function classifyError(
  error: unknown,
  response: { readonly status: number; readonly stream: boolean },
): RequestFailure {
  if (error instanceof TimeoutError) return failure("timeout", error.message);
  if (error instanceof StopError) return failure("aborted", error.message);
  if (error instanceof BadResponseError) return failure("bad_response", error.message);
  if (error instanceof SendError) return failure("connect", error.message);
  const code = (error as { code?: string })?.code;
  if (response.status === 0) {
    if (code === undefined || CONNECT_CODES.has(code)) {
      return failure("connect", connectMessage(error, code));
    }
    return failure("bad_response", `Unreadable response: ${messageOf(error)}`);
  }
  const where = response.stream ? "mid-stream" : "mid-response";
  return failure("bad_response", `Connection reset ${where} (${messageOf(error)})`);
}

function connectMessage(error: unknown, code: string | undefined): string {
  const detail = messageOf(error);
  if (code === "ECONNREFUSED" || code === "ConnectionRefused" || /refused/i.test(detail)) {
    return `Connection refused (${detail})`;
  }
  const closed = /closed before message completed|connection reset|socket hang up/i;
  if (
    code === "ECONNRESET" || code === "EPIPE" || code === "ConnectionReset" || closed.test(detail)
  ) {
    return `Connection closed before any response (${detail})`;
  }
  return `Cannot connect (${detail})`;
}

/**
 * The failure for a status outside 2xx: `http_3xx` naming the `Location` (never followed),
 * else `http_4xx`, `http_5xx` or `http_other` quoting the server's error message from `body`.
 */
export function httpFailure(status: number, body: string, location?: string): RequestFailure {
  if (status >= 300 && status < 400) {
    const where = location ? ` to ${location}` : " without a Location";
    return {
      kind: "http_3xx",
      status,
      message: `HTTP ${status} redirect${where}, not followed: point -H at the final URL`,
    };
  }
  const kind: FailureKind = status >= 500 ? "http_5xx" : status >= 400 ? "http_4xx" : "http_other";
  return { kind, status, message: `HTTP ${status}: ${errorDetail(body)}` };
}

function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body);
    const message = parsed?.error?.message ?? parsed?.error ?? parsed?.message ?? parsed?.detail;
    if (typeof message === "string") return message;
  } catch {
    // Not JSON (or cut short at the limit): fall through to the raw text.
  }
  return body.replace(/\s+/g, " ").trim() || "(empty body)";
}

/** An error's message, with its code and (for fetch) the cause that says why. */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  const message = code && !error.message.includes(code)
    ? `${code}: ${error.message}`
    : error.message;
  // fetch says only "fetch failed"; the cause says why, after the addresses (the local port
  // differs per request and would make every message distinct).
  if (!(error.cause instanceof Error)) return message;
  const cause = error.cause.message.replace(
    /^error sending request from \S+ for \S+ \(\S+\): /,
    "",
  );
  return `${message}: ${cause}`;
}
