/**
 * One line of the per-request log (`--log-requests FILE.jsonl`): what one request did, in a
 * shape that lets it be found in the server's own logs (its `serverId`). Pure.
 *
 * @module
 */
import type { RequestOutcome } from "./context.ts";

/** One request, as a line of the request log. Times are absolute epoch ms, durations ms. */
export interface RequestLogLine {
  /** When it was sent. */
  readonly start: number;
  /** When it ended (its last byte, or its failure). */
  readonly end: number;
  /** Time to first token; absent when not streamed or for a failure. */
  readonly ttftMs?: number;
  /** Gaps between token-carrying chunks: how many, their mean and the longest; absent without. */
  readonly itl?: { readonly count: number; readonly meanMs: number; readonly maxMs: number };
  /** Generated and prompt tokens, for a success. */
  readonly outputTokens?: number;
  readonly promptTokens?: number;
  /** HTTP status, when there was one. */
  readonly status?: number;
  /** The failure's kind (`http_5xx`, `timeout`, ...); absent for a success. */
  readonly failure?: string;
  /** The server's id of the request: its `x-request-id`, else the reply's `id`. */
  readonly serverId?: string;
  /** Server-side timing headers (Fireworks' `fireworks-server-*`), as sent. */
  readonly serverTiming?: Readonly<Record<string, string>>;
}

/**
 * The log line of `outcome`, for a request sent at `sentAt` and ended at `endedAt` (both
 * `performance.now()` times; a success's own times are used where it has them).
 */
export function requestLogLine(
  outcome: RequestOutcome,
  times: { readonly sentAt: number; readonly endedAt: number },
): RequestLogLine {
  const origin = performance.timeOrigin;
  if (!outcome.ok) {
    const { failure } = outcome;
    return {
      start: origin + times.sentAt,
      end: origin + times.endedAt,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      failure: failure.kind,
      ...(failure.serverId === undefined ? {} : { serverId: failure.serverId }),
    };
  }
  const { record } = outcome;
  const itl = record.itl;
  let sum = 0;
  let max = 0;
  for (const gap of itl) {
    sum += gap;
    if (gap > max) max = gap;
  }
  return {
    start: record.start,
    end: record.start + record.totalLatency,
    ...(record.ttft === undefined ? {} : { ttftMs: record.ttft }),
    ...(itl.length === 0 ? {} : {
      itl: { count: itl.length, meanMs: sum / itl.length, maxMs: max },
    }),
    outputTokens: record.outputTokens,
    ...(record.promptTokens === undefined ? {} : { promptTokens: record.promptTokens }),
    ...(record.status === undefined ? {} : { status: record.status }),
    ...(record.serverId === undefined ? {} : { serverId: record.serverId }),
    ...(record.serverTiming === undefined ? {} : { serverTiming: record.serverTiming }),
  };
}
