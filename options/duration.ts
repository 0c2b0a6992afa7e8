/**
 * Durations as people type them on a command line (`30s`, `5min`, `1h30m`, `250ms`, a bare
 * number of seconds) and back.
 *
 * @module
 */

/** The forms `parseDuration` accepts, for error and help messages. */
export const DURATION_FORMS =
  "a number of seconds or a duration such as 250ms, 1.5s, 30s, 5m, 5min, 2h or 1h30m";

/**
 * Longest duration an option takes: 24 days. A timer cannot wait longer than 2^31 - 1 ms
 * (about 24.8 days; Deno fires a longer `setTimeout` after 1 ms), and the margins added to some
 * durations (the stop grace gets 5 s more) must still fit.
 */
export const MAX_DURATION_MS = 24 * 86_400_000;

/** {@link MAX_DURATION_MS} as the accepted range, for error messages. */
export const MAX_DURATION_TEXT =
  "at most 576h (24 days): timers cannot wait longer than about 24.8 days";

const UNIT_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  min: 60_000,
  s: 1_000,
  ms: 1,
};

/** Largest unit first: a compound duration must name its parts in this order, each once. */
const UNIT_RANK: Readonly<Record<string, number>> = { h: 0, m: 1, min: 1, s: 2, ms: 3 };

const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const BARE_SECONDS = new RegExp(`^${NUMBER}$`);
// `min` and `ms` come before `m` so the alternation does not stop at the shorter unit.
const PART = new RegExp(`(${NUMBER})(min|ms|h|m|s)`, "y");

/**
 * Parses a duration into milliseconds.
 *
 * Accepts a bare number of seconds (`90`, `1.5`) or one or more `<number><unit>` parts with the
 * units `h`, `m` or `min`, `s` and `ms`, largest first and each at most once (`1h30m`, `2m30s`).
 * Surrounding whitespace is ignored; anything else, including negative values and spaces inside,
 * throws an `Error` whose message lists the accepted forms.
 *
 * @example
 * ```ts
 * parseDuration("5min"); // 300000
 * parseDuration("1h30m"); // 5400000
 * parseDuration("2"); // 2000
 * ```
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (BARE_SECONDS.test(trimmed)) return roundToMicros(Number(trimmed) * 1_000);

  let total = 0;
  let lastRank = -1;
  PART.lastIndex = 0;
  while (trimmed.length > 0 && PART.lastIndex < trimmed.length) {
    const start = PART.lastIndex;
    const match = PART.exec(trimmed);
    if (match === null || match.index !== start) throw durationError(text);
    const rank = UNIT_RANK[match[2]];
    if (rank <= lastRank) throw durationError(text);
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  if (lastRank === -1) throw durationError(text);
  return roundToMicros(total);
}

/**
 * Formats milliseconds as the shortest duration `parseDuration` reads back to the same value
 * (to the millisecond): `250ms`, `1.5s`, `1m30s`, `1h30m`, `0s`.
 *
 * @example
 * ```ts
 * formatDuration(90_000); // "1m30s"
 * formatDuration(600_000); // "10m"
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`Cannot format duration ${ms}: expected a finite number of at least 0`);
  }
  const whole = Math.round(ms);
  if (whole === 0) return "0s";
  if (whole < 1_000) return `${whole}ms`;

  const hours = Math.floor(whole / UNIT_MS.h);
  const minutes = Math.floor((whole % UNIT_MS.h) / UNIT_MS.m);
  const millis = whole % UNIT_MS.m;
  let out = "";
  if (hours > 0) out += `${hours}h`;
  if (minutes > 0) out += `${minutes}m`;
  // Seconds keep their fraction (`1.5s`) rather than splitting into `1s500ms`.
  if (millis > 0) out += `${millis / 1_000}s`;
  return out;
}

function roundToMicros(ms: number): number {
  // Binary fractions make 1.1 * 1000 come out as 1100.0000000000002; nobody means that.
  return Math.round(ms * 1_000) / 1_000;
}

function durationError(text: string): Error {
  return new Error(`Cannot parse duration '${text}': expected ${DURATION_FORMS}`);
}
