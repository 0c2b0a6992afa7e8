/**
 * The live progress line: elapsed time, requests, failures, rates and TTFT p50 at a glance.
 *
 * @module
 */

/** Figures shown on one progress line. */
export interface ProgressFigures {
  /** Time since load started. */
  readonly elapsedMs: number;
  /** Successful requests in the measured window. */
  readonly completed: number;
  /** Failed requests in the measured window. */
  readonly failed: number;
  /** Requests in flight now. */
  readonly inFlight: number;
  /** Successful requests per second over the last interval. */
  readonly requestsPerSec: number;
  /** Output tokens per second over the last interval. */
  readonly tokensPerSec: number;
  /** Median TTFT in ms so far, if streaming. */
  readonly ttftP50?: number;
  /** The client itself is saturated: its figures may be the client's, not the server's. */
  readonly saturated?: boolean;
}

/**
 * Formats one progress line.
 *
 * @example
 * ```ts
 * formatProgress({ elapsedMs: 5000, completed: 10, failed: 0, inFlight: 2,
 *   requestsPerSec: 2, tokensPerSec: 128, ttftP50: 51.2 });
 * // "[5s] 10 ok, 0 failed, 2 in flight | 2.0 req/s, 128 tok/s | TTFT p50 51.2 ms"
 * ```
 */
export function formatProgress(figures: ProgressFigures): string {
  const ttft = figures.ttftP50 === undefined ? "" : ` | TTFT p50 ${figures.ttftP50.toFixed(1)} ms`;
  return `[${
    Math.round(figures.elapsedMs / 1000)
  }s] ${figures.completed} ok, ${figures.failed} failed, ` +
    `${figures.inFlight} in flight | ${figures.requestsPerSec.toFixed(1)} req/s, ` +
    `${Math.round(figures.tokensPerSec)} tok/s${ttft}${
      figures.saturated ? " | CLIENT SATURATED" : ""
    }`;
}

/**
 * `count` and the noun that goes with it: singular for exactly 1, plural otherwise.
 *
 * @example
 * ```ts
 * counted(1, "user"); // "1 user"
 * counted(8, "user"); // "8 users"
 * ```
 */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
