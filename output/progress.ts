/**
 * The live progress line: elapsed time, requests, failures, rates and TTFT p50 at a glance,
 * fitted to the terminal so that rewriting it in place never leaves a wrapped, stale line.
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
  /** The client itself is CPU-bound: its figures may be the client's, not the server's. */
  readonly saturated?: boolean;
  /** Other processes delay the client by up to this many ms; absent when they do not. */
  readonly delayedMs?: number;
}

/** One piece of the line, with its rank: the lowest rank goes first when the line is too wide. */
interface Part {
  readonly text: string;
  readonly rank: number;
  /** A shorter form, put in when `shortRank` is the lowest; the part then keeps `rank`. */
  readonly short?: string;
  /** Rank of the full form when there is a `short` one. */
  readonly shortRank?: number;
}

/**
 * Formats one progress line, at most `width - 1` characters when `width` is given (a line that
 * fills the last column wraps in some terminals). What goes first as the width shrinks: the
 * in-flight count, the token rate, then the client warning is shortened, then the TTFT and the
 * request rate go; the short warning goes only after them, and elapsed time and the ok/failed
 * counts stay, cut at the width as a last resort.
 *
 * @example
 * ```ts
 * formatProgress({ elapsedMs: 5000, completed: 10, failed: 0, inFlight: 2,
 *   requestsPerSec: 2, tokensPerSec: 128, ttftP50: 51.2 });
 * // "[5s] 10 ok, 0 failed, 2 in flight | 2.0 req/s, 128 tok/s | TTFT p50 51.2 ms"
 * formatProgress({ elapsedMs: 5000, completed: 10, failed: 0, inFlight: 2,
 *   requestsPerSec: 2, tokensPerSec: 128, ttftP50: 51.2 }, 40);
 * // "[5s] 10 ok, 0 failed | 2.0 req/s"
 * ```
 */
export function formatProgress(figures: ProgressFigures, width?: number): string {
  const parts: Part[] = [
    { text: `[${Math.round(figures.elapsedMs / 1000)}s] `, rank: 9 },
    { text: `${figures.completed} ok, ${figures.failed} failed`, rank: 9 },
    { text: `, ${figures.inFlight} in flight`, rank: 1 },
    { text: ` | ${figures.requestsPerSec.toFixed(1)} req/s`, rank: 4 },
    { text: `, ${Math.round(figures.tokensPerSec)} tok/s`, rank: 2 },
  ];
  if (figures.ttftP50 !== undefined) {
    parts.push({ text: ` | TTFT p50 ${figures.ttftP50.toFixed(1)} ms`, rank: 3 });
  }
  if (figures.saturated) {
    parts.push({ text: " | CLIENT SATURATED", short: " | SATURATED", shortRank: 2.5, rank: 8 });
  } else if (figures.delayedMs !== undefined) {
    const late = Math.round(figures.delayedMs);
    parts.push({
      text: ` | CLIENT DELAYED ${late} ms BY OTHER PROCESSES`,
      short: ` | DELAYED ${late} ms`,
      shortRank: 2.5,
      rank: 8,
    });
  }
  const line = () => parts.map((part) => part.text).join("");
  if (width === undefined) return line();
  const max = Math.max(1, width - 1);
  while (line().length > max) {
    const droppable = parts.filter((part) => part.rank < 9);
    if (droppable.length === 0) break;
    const rankOf = (part: Part) => part.shortRank ?? part.rank;
    const least = droppable.reduce((low, part) => rankOf(part) < rankOf(low) ? part : low);
    const at = parts.indexOf(least);
    if (least.short) parts[at] = { text: least.short, rank: least.rank };
    else parts.splice(at, 1);
  }
  const fitted = line();
  return fitted.length > max ? fitted.slice(0, max) : fitted;
}

/** Columns of the terminal, or undefined when there is none (output piped, tests). */
export function terminalColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns || undefined;
  } catch {
    return undefined;
  }
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
