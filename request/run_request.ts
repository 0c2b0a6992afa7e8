/**
 * Runs one request end to end: the provider builds it, the transport sends it into a
 * {@link ResponseReader} (`response_reader.ts`, which reads it with the stream decoder and the
 * provider), and the outcome is a {@link RequestRecord} or a {@link RequestFailure} named by
 * `classify.ts`. This file wires those pieces: the time limit, the run's stop, and the masking
 * of every message.
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
 *   ends without its end marker, an event over `MAX_EVENT_BYTES` (`stream_decoder.ts`), a body
 *   over `MAX_BODY_BYTES` (`response_reader.ts`), a stream without `text/event-stream`, an empty
 *   body): `bad_response`, ended as soon as it is known, without reading the rest;
 * - the run stopping: `aborted`.
 * A streamed request asked to be cancelled after its first token (`--cancel-rate`) is closed
 * (aborted through the transport) as soon as that token is read, and is a record marked
 * `cancelled` with its TTFT, not a failure; one that ends before any token ends as usual.
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
import { TimeoutError } from "../common/errors.ts";
import type { HttpRequestSpec, Sample } from "../providers/types.ts";
import type { RequestContext, RequestOutcome, RunRequestOptions } from "./context.ts";
import type { RequestFailure, RequestRecord } from "./types.ts";
import {
  classifyError,
  failure,
  httpFailure,
  isSuccess,
  messageOf,
  SendError,
  StopError,
} from "./classify.ts";
import { ResponseReader } from "./response_reader.ts";

export type { RequestContext, RequestOutcome, RunRequestOptions } from "./context.ts";

/** Longest failure message kept, in characters. */
const MESSAGE_LIMIT = 200;

/**
 * Sends one sample and measures it. Never throws for anything the server or network does.
 */
export async function runRequest(
  context: RequestContext,
  sample: Sample,
  options: RunRequestOptions = {},
): Promise<RequestOutcome> {
  const secrets = secretsOf(context);
  let spec: HttpRequestSpec;
  try {
    spec = context.provider.request(sample);
  } catch (error) {
    return failed(failure("connect", `Cannot build the request (${messageOf(error)})`), secrets);
  }
  const controller = new AbortController();
  const cancel = options.cancelAfterFirstToken === true && spec.stream;
  const reader = new ResponseReader(context.provider, {
    stream: spec.stream,
    fail: (error) => controller.abort(error),
    onFirstToken: cancel ? () => controller.abort(new CancelledError()) : undefined,
  });
  const watch = watchRequest(controller, {
    timeoutMs: context.timeoutMs,
    stopSignal: options.stopSignal,
    answered: () => reader.status !== 0,
  });
  const startedAt = performance.now();
  try {
    await Promise.race([send(context, spec, controller.signal, reader), watch.ended]);
    reader.end();
  } catch (error) {
    if (error instanceof CancelledError) {
      const sent = { sample, startedAt, intendedStart: options.intendedStart };
      return { ok: true, record: reader.cancelled(sent) };
    }
    const classified = classifyError(error, { status: reader.status, stream: spec.stream });
    return failed(withServerId(classified, reader.serverId), secrets);
  } finally {
    watch.dispose();
    reader.detach();
  }
  // A transport that ignores the abort (or finished first) still ends a refused response here.
  if (reader.failure !== undefined) {
    return failed(
      withServerId(failure("bad_response", reader.failure.message), reader.serverId),
      secrets,
    );
  }
  if (!isSuccess(reader.status)) {
    const body = maskSecrets(reader.errorBody(), secrets);
    return failed(
      withServerId(httpFailure(reader.status, body, reader.location), reader.serverId),
      secrets,
    );
  }
  try {
    const onResponse = context.onResponse &&
      ((text: string) => context.onResponse!(maskSecrets(text, secrets, { cut: false })));
    const record: RequestRecord = await reader.finish({ ...context, onResponse }, {
      sample,
      startedAt,
      intendedStart: options.intendedStart,
    });
    return { ok: true, record };
  } catch (error) {
    return failed(
      withServerId(failure("bad_response", messageOf(error)), reader.serverId),
      secrets,
    );
  }
}

/** The abort reason of a request closed on purpose after its first token. */
class CancelledError extends Error {
  override name = "CancelledError";
  constructor() {
    super("Cancelled after the first token");
  }
}

/** The failure with the server's id of the request, when the response gave one. */
function withServerId(failed: RequestFailure, serverId: string | undefined): RequestFailure {
  return serverId === undefined ? failed : { ...failed, serverId };
}

/** Hands the request to the transport; a transport that throws at once sent nothing. */
function send(
  context: RequestContext,
  spec: HttpRequestSpec,
  signal: AbortSignal,
  reader: ResponseReader,
): Promise<void> {
  let sending: Promise<void>;
  try {
    sending = context.transport.send({
      url: context.host + spec.path,
      headers: context.headers,
      body: spec.body,
      signal,
    }, reader);
  } catch (error) {
    return Promise.reject(new SendError(`Cannot send the request (${messageOf(error)})`));
  }
  sending.catch(() => {}); // it may still settle after the request has ended
  return sending;
}

/**
 * Aborts a request at its time limit or when the run stops, and gives a promise that rejects
 * with the abort's reason: the request ends when it is aborted even if the transport does not
 * (Deno 2.9's fetch sometimes leaves a pending body read unsettled after its signal aborts).
 */
function watchRequest(
  controller: AbortController,
  options: {
    readonly timeoutMs: number;
    readonly stopSignal?: AbortSignal;
    readonly answered: () => boolean;
  },
): { readonly ended: Promise<never>; dispose(): void } {
  const { timeoutMs, stopSignal } = options;
  const timer = setTimeout(() => {
    const what = options.answered() ? "No complete response" : "No response";
    controller.abort(new TimeoutError(`${what} within ${timeoutMs} ms`));
  }, timeoutMs);
  const onStop = () => controller.abort(new StopError("Run stopped"));
  stopSignal?.addEventListener("abort", onStop, { once: true });
  const ended = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
      once: true,
    });
  });
  ended.catch(() => {});
  return {
    ended,
    dispose() {
      clearTimeout(timer);
      stopSignal?.removeEventListener("abort", onStop);
    },
  };
}

/** The failure with its message free of secrets and at most {@link MESSAGE_LIMIT} long. */
function failed(failure: RequestFailure, secrets: readonly string[]): RequestOutcome {
  const message = maskSecrets(failure.message, secrets);
  if (message.length <= MESSAGE_LIMIT) return { ok: false, failure: { ...failure, message } };
  return { ok: false, failure: { ...failure, message: message.slice(0, MESSAGE_LIMIT) } };
}
