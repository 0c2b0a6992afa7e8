/**
 * Runs one request end to end: provider builds it, the transport sends it, the stream decoder
 * and the provider read it, and the outcome is a {@link RequestRecord} or a classified
 * {@link RequestFailure}. This is the hot path: per chunk it does only what a metric needs.
 *
 * @module
 */
import { createEventDecoder } from "./stream_decoder.ts";
import { TimeoutError } from "./errors.ts";
import type { Transport } from "./transport.ts";
import type {
  Chunk,
  FailureKind,
  Provider,
  RequestFailure,
  RequestRecord,
  Sample,
  TokenSource,
} from "./types.ts";

/** Everything a request needs that does not change between requests. */
export interface RequestContext {
  /** The dialect. */
  readonly provider: Provider;
  /** The HTTP client. */
  readonly transport: Transport;
  /** Target base URL without a trailing slash. */
  readonly host: string;
  /** Headers for every request (auth included). */
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
  /** Receives each successful response's generated text (`--show-response`). */
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

/** Raised inside the parse path so the request ends as a `bad_response`. */
class BadResponseError extends Error {
  override name = "BadResponseError";
}

/** Stops a request because the run is stopping, not because anything went wrong. */
class StopError extends Error {
  override name = "StopError";
}

const ERROR_BODY_LIMIT = 2048;
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ConnectionRefused",
]);

/**
 * Sends one sample and measures it. Never throws for anything the server or network does.
 */
export async function runRequest(
  context: RequestContext,
  sample: Sample,
  options: RunRequestOptions = {},
): Promise<RequestOutcome> {
  const spec = context.provider.request(sample);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(`No complete response within ${context.timeoutMs} ms`)),
    context.timeoutMs,
  );
  const onStop = () => controller.abort(new StopError("Run stopped"));
  options.stopSignal?.addEventListener("abort", onStop, { once: true });

  const reader = createResponseReader(context.provider, spec.stream);
  const startedAt = performance.now();
  try {
    await context.transport.send({
      url: context.host + spec.path,
      headers: context.headers,
      body: spec.body,
      signal: controller.signal,
    }, reader);
    reader.end();
  } catch (error) {
    return { ok: false, failure: classifyError(error, reader.status) };
  } finally {
    clearTimeout(timer);
    options.stopSignal?.removeEventListener("abort", onStop);
  }
  if (!isSuccess(reader.status)) {
    return { ok: false, failure: httpFailure(reader.status, reader.errorBody()) };
  }
  try {
    return { ok: true, record: await reader.finish(context, sample, startedAt, options) };
  } catch (error) {
    return { ok: false, failure: failure("bad_response", messageOf(error)) };
  }
}

/** Reads a response as it arrives and keeps only what the metrics need. */
function createResponseReader(provider: Provider, stream: boolean) {
  let status = 0;
  let contentType = "";
  let firstTokenAt: number | undefined;
  let firstVisibleAt: number | undefined;
  let lastTokenAt = 0;
  let lastByteAt = 0;
  let chars = 0;
  let logprobTokens: number | undefined;
  let usage: Chunk["usage"];
  let parseError: unknown;
  let sawDone = false;
  const pieces: string[] = [];
  const itl: number[] = [];
  let now = 0;

  function take(chunk: Chunk) {
    if (chunk.usage) usage = chunk.usage;
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
    pieces.push(chunk.reasoning, chunk.text);
  }

  function onEvent(data: string) {
    if (parseError !== undefined) return;
    try {
      const chunk = provider.parseEvent(data);
      if (chunk === null) sawDone = true;
      else take(chunk);
    } catch (error) {
      parseError = error;
    }
  }

  const decoder = createEventDecoder(provider.framing, onEvent);
  const body: string[] = [];
  let bodyChars = 0;

  return {
    get status() {
      return status;
    },
    head(head: { status: number; contentType: string }) {
      status = head.status;
      contentType = head.contentType;
    },
    text(text: string, at: number) {
      lastByteAt = at;
      if (!isSuccess(status)) {
        if (bodyChars < ERROR_BODY_LIMIT) body.push(text);
        bodyChars += text.length;
      } else if (stream) {
        now = at;
        decoder.feed(text);
      } else body.push(text);
    },
    end() {
      if (stream && isSuccess(status)) decoder.end();
    },
    errorBody(): string {
      return body.join("").slice(0, ERROR_BODY_LIMIT);
    },
    async finish(
      context: RequestContext,
      sample: Sample,
      startedAt: number,
      options: RunRequestOptions,
    ): Promise<RequestRecord> {
      if (parseError !== undefined) {
        throw new BadResponseError(`Unreadable event: ${messageOf(parseError)}`);
      }
      if (!stream) {
        now = lastByteAt;
        take(provider.parseBody(body.join("")));
      } else if (!contentType.includes("text/event-stream") && provider.framing === "sse") {
        throw new BadResponseError(`Expected text/event-stream, got '${contentType}'`);
      }
      if (firstTokenAt === undefined) {
        throw new BadResponseError(
          sawDone ? "Response ended without generated text" : "Empty response",
        );
      }
      const end = lastByteAt || firstTokenAt;
      const counted = await countOutputTokens(context, usage, logprobTokens, pieces);
      context.onResponse?.(pieces.join(""));
      const timeOrigin = performance.timeOrigin;
      return {
        start: timeOrigin + startedAt,
        intendedStart: options.intendedStart,
        ttft: stream ? firstTokenAt - startedAt : undefined,
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
      };
    },
  };
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

function classifyError(error: unknown, status: number): RequestFailure {
  if (error instanceof TimeoutError) return failure("timeout", error.message);
  if (error instanceof StopError) return failure("aborted", error.message);
  const code = (error as { code?: string })?.code;
  if (status === 0 && (code === undefined || CONNECT_CODES.has(code) || code === "ECONNRESET")) {
    return failure("connect", messageOf(error));
  }
  return failure("bad_response", messageOf(error));
}

function httpFailure(status: number, body: string): RequestFailure {
  const kind: FailureKind = status >= 500 ? "http_5xx" : status >= 400 ? "http_4xx" : "http_other";
  return { kind, status, message: `HTTP ${status}: ${errorDetail(body)}` };
}

function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body);
    const message = parsed?.error?.message ?? parsed?.error ?? parsed?.message ?? parsed?.detail;
    if (typeof message === "string") return message.slice(0, 200);
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.replace(/\s+/g, " ").trim().slice(0, 200) || "(empty body)";
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function failure(kind: FailureKind, message: string): RequestFailure {
  return { kind, message };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
