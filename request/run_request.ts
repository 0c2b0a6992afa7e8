/**
 * Runs one request end to end: provider builds it, the transport sends it, the stream decoder
 * and the provider read it, and the outcome is a {@link RequestRecord} or a classified
 * {@link RequestFailure}. This is the hot path: per chunk it does only what a metric needs.
 *
 * Whatever the server does, a request ends exactly once, as a record or as one failure:
 * - an HTTP status outside 2xx: `http_3xx` (a redirect, never followed: it names its
 *   `Location`), `http_4xx`, `http_5xx` or `http_other`, with the status and the server's error
 *   message;
 * - a request that cannot even be sent (the provider or the HTTP client throws, e.g. on a header
 *   value it rejects): `connect`, with the reason;
 * - no response at all (refused, dropped before the status line, DNS): `connect`. llmload never
 *   retries: the server may have read the request, and a retry would make it see more requests
 *   than llmload counts. (Deno's HTTP client, under both transports, does resend on its own a
 *   request that a kept-alive connection dropped before answering, as most HTTP clients do.)
 * - no complete response within `timeoutMs` (a stall, a trickle): `timeout`, even when the
 *   transport fails to end on the abort;
 * - a response that cannot be read (connection reset mid-stream, malformed JSON, a stream that
 *   ends without its end marker, an event over {@link MAX_EVENT_CHARS}, a body over
 *   {@link MAX_BODY_CHARS}, a stream without `text/event-stream`, an empty body): `bad_response`,
 *   ended as soon as it is known, without reading the rest;
 * - the run stopping: `aborted`.
 * A 2xx stream or body that carries an error report (`{"error": ...}`) is a `bad_response`
 * quoting it: `Server sent an error event: {...}`. A complete reply without generated text (the
 * model stopped on its first token) is a success, marked `empty`, with no TTFT or ITL.
 * Invalid UTF-8 is decoded with replacement characters (U+FFFD), as browsers do: the request
 * counts if its JSON still parses. Failure messages never hold the credentials the request
 * carried (the `Authorization` header and its token, API-key headers): a server that echoes them
 * in an error body is quoted with `***` in their place.
 *
 * @module
 */
import { maskSecrets, secretsOf } from "../common/secrets.ts";
import { createEventDecoder } from "./stream_decoder.ts";
import { TimeoutError } from "../common/errors.ts";
import { ServerErrorEvent } from "../providers/server_error.ts";
import type { ResponseHead, Transport } from "../transport/types.ts";
import type { Chunk, Provider, Sample, Usage } from "../providers/types.ts";
import type { FailureKind, RequestFailure, RequestRecord, TokenSource } from "./types.ts";

export { MAX_EVENT_CHARS } from "./stream_decoder.ts";

/** Largest non-streamed body read, in characters (32 MiB of JSON); a larger one is refused. */
export const MAX_BODY_CHARS = 32 * 1024 * 1024;

/** Everything a request needs that does not change between requests. */
export interface RequestContext {
  /** The dialect. */
  readonly provider: Provider;
  /** The HTTP client. */
  readonly transport: Transport;
  /** Target base URL without a trailing slash. */
  readonly host: string;
  /** Headers for every request (auth included); credential values never reach a message. */
  readonly headers: Readonly<Record<string, string>>;
  /** Per-request time limit in milliseconds. */
  readonly timeoutMs: number;
  /** Prompt tokens by the local tokenizer, used when the server reports none. */
  readonly localPromptTokens?: number;
  /** Whether the server's prompt count should equal the local one (not so for chat templates). */
  readonly comparePromptTokens?: boolean;
  /** Completions per request (`n`, default 1): a full answer has `max_tokens × n` tokens. */
  readonly completions?: number;
  /** Counts tokens of generated text when the server reports neither usage nor logprobs. */
  readonly countTokens: (text: string) => Promise<number>;
  /** Receives each successful response's generated text (`--show-response`), secrets masked. */
  readonly onResponse?: (text: string) => void;
}

/** Per-call options of {@link runRequest}. */
export interface RunRequestOptions {
  /** When the schedule meant to send it (absolute ms), in QPS and burst modes. */
  readonly intendedStart?: number;
  /** Aborts the request when the run stops for good. */
  readonly stopSignal?: AbortSignal;
}

/** The outcome of one request. */
export type RequestOutcome =
  | { readonly ok: true; readonly record: RequestRecord }
  | { readonly ok: false; readonly failure: RequestFailure };

/** Ends a request as a `bad_response`, from the parse path or through the abort signal. */
class BadResponseError extends Error {
  override name = "BadResponseError";
}

/** Stops a request because the run is stopping, not because anything went wrong. */
class StopError extends Error {
  override name = "StopError";
}

/** The transport threw instead of returning a promise: nothing was sent. */
class SendError extends Error {
  override name = "SendError";
}

const ERROR_BODY_LIMIT = 2048;
const MESSAGE_LIMIT = 200;
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

/**
 * Sends one sample and measures it. Never throws for anything the server or network does.
 */
export async function runRequest(
  context: RequestContext,
  sample: Sample,
  options: RunRequestOptions = {},
): Promise<RequestOutcome> {
  const secrets = secretsOf(context);
  let spec: ReturnType<Provider["request"]>;
  try {
    spec = context.provider.request(sample);
  } catch (error) {
    return failed(failure("connect", `Cannot build the request (${messageOf(error)})`), secrets);
  }
  const controller = new AbortController();
  const reader = createResponseReader(context.provider, {
    stream: spec.stream,
    fail: (error) => controller.abort(error),
  });
  const timer = setTimeout(() => {
    const what = reader.status === 0 ? "No response" : "No complete response";
    controller.abort(new TimeoutError(`${what} within ${context.timeoutMs} ms`));
  }, context.timeoutMs);
  const onStop = () => controller.abort(new StopError("Run stopped"));
  options.stopSignal?.addEventListener("abort", onStop, { once: true });
  // The request ends when it is aborted even if the transport does not: Deno 2.9's fetch
  // sometimes leaves a pending body read unsettled after its signal aborts.
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
      once: true,
    });
  });
  aborted.catch(() => {});

  const startedAt = performance.now();
  try {
    let sending: Promise<void>;
    try {
      sending = context.transport.send({
        url: context.host + spec.path,
        headers: context.headers,
        body: spec.body,
        signal: controller.signal,
      }, reader);
    } catch (error) {
      throw new SendError(`Cannot send the request (${messageOf(error)})`);
    }
    sending.catch(() => {}); // it may still settle after the request has ended
    await Promise.race([sending, aborted]);
    reader.end();
  } catch (error) {
    return failed(classifyError(error, { status: reader.status, stream: spec.stream }), secrets);
  } finally {
    clearTimeout(timer);
    options.stopSignal?.removeEventListener("abort", onStop);
    reader.detach();
  }
  // A transport that ignores the abort (or finished first) still ends a refused response here.
  if (reader.failure !== undefined) {
    return failed(failure("bad_response", reader.failure.message), secrets);
  }
  if (!isSuccess(reader.status)) {
    const body = maskSecrets(reader.errorBody(), secrets);
    return failed(httpFailure(reader.status, body, reader.location), secrets);
  }
  try {
    const onResponse = context.onResponse &&
      ((text: string) => context.onResponse!(maskSecrets(text, secrets, { cut: false })));
    const record = await reader.finish({ ...context, onResponse }, sample, startedAt, options);
    return { ok: true, record };
  } catch (error) {
    return failed(failure("bad_response", messageOf(error)), secrets);
  }
}

/** Reads a response as it arrives and keeps only what the metrics need. */
function createResponseReader(
  provider: Provider,
  options: { stream: boolean; fail: (error: BadResponseError) => void },
) {
  const { stream } = options;
  const endMarker = provider.endMarker;
  let status = 0;
  let firstTokenAt: number | undefined;
  let firstVisibleAt: number | undefined;
  let lastTokenAt = 0;
  let lastByteAt = 0;
  let chars = 0;
  let logprobTokens: number | undefined;
  let usage: Chunk["usage"];
  // Usage reported per choice (llama.cpp with n > 1), by choice index; usually never used.
  let choiceUsage: Map<number, Usage> | undefined;
  let truncated = false;
  let location: string | undefined;
  let refused: BadResponseError | undefined;
  let sawEnd = false;
  let sawMarker = false;
  const pieces: string[] = [];
  const itl: number[] = [];
  let now = 0;

  let detached = false;

  /** Ends the request as a `bad_response` now; whatever arrives after is ignored. */
  function refuse(message: string) {
    if (refused !== undefined) return;
    refused = new BadResponseError(message);
    options.fail(refused);
  }

  function take(chunk: Chunk) {
    if (chunk.usage) takeUsage(chunk.usage);
    if (chunk.truncated) truncated = true;
    if (chunk.logprobTokens !== undefined) {
      logprobTokens = (logprobTokens ?? 0) + chunk.logprobTokens;
    }
    const generated = chunk.text.length + chunk.reasoning.length;
    if (generated === 0) return;
    if (firstTokenAt === undefined) firstTokenAt = now;
    else itl.push(now - lastTokenAt);
    if (firstVisibleAt === undefined && chunk.text.length > 0) firstVisibleAt = now;
    lastTokenAt = now;
    chars += generated;
    if (chunk.reasoning) pieces.push(chunk.reasoning);
    if (chunk.text) pieces.push(chunk.text);
  }

  function takeUsage(next: Usage) {
    if (next.choice === undefined && choiceUsage === undefined) {
      usage = next;
      return;
    }
    // Each choice's latest counts, summed; a count for the whole response is kept under -1.
    if (choiceUsage === undefined) {
      choiceUsage = new Map();
      if (usage !== undefined) choiceUsage.set(-1, usage);
    }
    choiceUsage.set(next.choice ?? -1, next);
    usage = sumUsage(choiceUsage);
  }

  function onEvent(data: string) {
    if (refused !== undefined) return;
    // A marker with stray whitespace around it still counts; only short events are checked.
    if (data === endMarker || (data.length < 32 && data.trim() === endMarker)) {
      sawMarker = true;
      sawEnd = true;
      return;
    }
    try {
      const chunk = provider.parseEvent(data);
      if (chunk === null) sawEnd = true;
      else take(chunk);
    } catch (error) {
      refuse(
        error instanceof ServerErrorEvent ? error.message : `Unreadable event: ${messageOf(error)}`,
      );
    }
  }

  const decoder = createEventDecoder(provider.framing, onEvent);
  const body: string[] = [];
  let bodyChars = 0;

  return {
    get status() {
      return status;
    },
    get failure(): BadResponseError | undefined {
      return refused;
    },
    /** The `Location` of a redirect, if the response had one. */
    get location(): string | undefined {
      return location;
    },
    head(head: ResponseHead) {
      status = head.status;
      location = head.location;
      const sse = stream && provider.framing === "sse";
      if (sse && isSuccess(status) && !head.contentType.includes("text/event-stream")) {
        refuse(`Expected text/event-stream, got '${head.contentType || "no content type"}'`);
      }
    },
    text(text: string, at: number) {
      if (refused !== undefined || detached) return;
      lastByteAt = at;
      bodyChars += text.length;
      if (!isSuccess(status)) {
        if (bodyChars - text.length < ERROR_BODY_LIMIT) body.push(text);
      } else if (stream) {
        now = at;
        try {
          decoder.feed(text);
        } catch (error) {
          refuse(messageOf(error));
        }
      } else if (bodyChars > MAX_BODY_CHARS) {
        refuse(`Response body larger than ${MAX_BODY_CHARS / 1024 / 1024} MiB`);
      } else body.push(text);
    },
    /** Ignores whatever a transport still delivers once the request has ended. */
    detach() {
      detached = true;
    },
    end() {
      if (refused !== undefined || !stream || !isSuccess(status)) return;
      try {
        decoder.end();
      } catch (error) {
        refuse(messageOf(error));
      }
    },
    errorBody(): string {
      return body.join("");
    },
    async finish(
      context: RequestContext,
      sample: Sample,
      startedAt: number,
      options: RunRequestOptions,
    ): Promise<RequestRecord> {
      if (bodyChars === 0) throw new BadResponseError(`Empty response body (HTTP ${status})`);
      if (!stream) {
        now = lastByteAt;
        take(provider.parseBody(body.join("")));
      } else if (endMarker !== undefined && !sawMarker) {
        throw new BadResponseError(
          `Stream ended without ${endMarker}: the response may be cut short`,
        );
      }
      // A reply without text is complete, not cut short, when the stream ended as the dialect
      // ends it or the server counted it: the model stopped on its first token.
      const empty = firstTokenAt === undefined;
      if (empty && !sawEnd && usage === undefined) {
        throw new BadResponseError(
          stream ? "Response ended without generated text" : "Empty response",
        );
      }
      const end = lastByteAt || firstTokenAt || startedAt;
      const counted = await countOutputTokens(context, usage, logprobTokens, pieces);
      context.onResponse?.(pieces.join(""));
      const timeOrigin = performance.timeOrigin;
      return {
        start: timeOrigin + startedAt,
        intendedStart: options.intendedStart,
        ttft: stream && firstTokenAt !== undefined ? firstTokenAt - startedAt : undefined,
        ttfvt: stream && firstVisibleAt !== undefined ? firstVisibleAt - startedAt : undefined,
        totalLatency: end - startedAt,
        itl,
        outputTokens: counted.tokens,
        tokenSource: counted.source,
        promptTokens: usage?.promptTokens ?? context.localPromptTokens,
        chars,
        maxTokens: sample.maxTokens,
        expectedOutputTokens: (context.completions ?? 1) > 1
          ? sample.maxTokens * context.completions!
          : undefined,
        serverPromptTokens: usage?.promptTokens,
        localPromptTokens: context.comparePromptTokens ? context.localPromptTokens : undefined,
        ...(usage?.cachedPromptTokens === undefined
          ? {}
          : { cachedPromptTokens: usage.cachedPromptTokens }),
        ...(empty ? { empty: true } : {}),
        ...(truncated ? { truncated: true } : {}),
      };
    },
  };
}

/**
 * Per-choice counts summed: generated tokens add up, while the prompt (and its cached part) is
 * the same for every choice, so the largest count stands.
 */
function sumUsage(byChoice: ReadonlyMap<number, Usage>): Usage {
  let completion: number | undefined;
  let prompt: number | undefined;
  let cached: number | undefined;
  for (const part of byChoice.values()) {
    if (part.completionTokens !== undefined) {
      completion = (completion ?? 0) + part.completionTokens;
    }
    if (part.promptTokens !== undefined) prompt = Math.max(prompt ?? 0, part.promptTokens);
    if (part.cachedPromptTokens !== undefined) {
      cached = Math.max(cached ?? 0, part.cachedPromptTokens);
    }
  }
  return { promptTokens: prompt, completionTokens: completion, cachedPromptTokens: cached };
}

async function countOutputTokens(
  context: RequestContext,
  usage: Chunk["usage"],
  logprobTokens: number | undefined,
  pieces: string[],
): Promise<{ tokens: number; source: TokenSource }> {
  if (usage?.completionTokens !== undefined) {
    return { tokens: usage.completionTokens, source: "usage" };
  }
  if (logprobTokens !== undefined) return { tokens: logprobTokens, source: "logprobs" };
  return { tokens: await context.countTokens(pieces.join("")), source: "tokenizer" };
}

function classifyError(
  error: unknown,
  response: { status: number; stream: boolean },
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

function httpFailure(status: number, body: string, location?: string): RequestFailure {
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

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function failure(kind: FailureKind, message: string): RequestFailure {
  return { kind, message };
}

/** The failure with its message free of secrets and at most {@link MESSAGE_LIMIT} long. */
function failed(failure: RequestFailure, secrets: readonly string[]): RequestOutcome {
  const message = maskSecrets(failure.message, secrets);
  if (message.length <= MESSAGE_LIMIT) return { ok: false, failure: { ...failure, message } };
  return { ok: false, failure: { ...failure, message: message.slice(0, MESSAGE_LIMIT) } };
}

function messageOf(error: unknown): string {
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
