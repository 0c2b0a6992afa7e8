/**
 * Value parser of `--think-time DURATION[:DIST]`, the pause of a session's user between a reply
 * and the next turn. Pure; throws `Rejected` with the accepted forms, as `options/parsers.ts`.
 *
 * @module
 */
import { DURATION_FORMS, MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from "./duration.ts";
import { Rejected } from "./parsers.ts";

/** How think times are drawn around their mean. */
export type ThinkDistribution = "constant" | "uniform" | "exponential";

const DISTRIBUTIONS: readonly ThinkDistribution[] = ["constant", "uniform", "exponential"];

/** A parsed `--think-time`: the mean pause and how each pause is drawn. */
export interface ThinkTime {
  /** Mean pause in milliseconds (0: the next turn is sent at once). */
  readonly meanMs: number;
  /** `constant` (always the mean), `uniform` (in [0, 2·mean]) or `exponential`. */
  readonly distribution: ThinkDistribution;
}

/**
 * Parses `DURATION` or `DURATION:DIST` (`2s`, `500ms:exponential`, `1.5s:uniform`).
 *
 * @example
 * ```ts
 * thinkTime("2s:exponential"); // { meanMs: 2000, distribution: "exponential" }
 * ```
 */
export function thinkTime(value: string | boolean): ThinkTime {
  const expected = `DURATION[:DIST], a duration (${DURATION_FORMS}) and optionally ` +
    `:constant, :uniform or :exponential, such as 2s or 500ms:exponential`;
  if (typeof value !== "string" || value.trim() === "") throw new Rejected(expected);
  const [durationText, distributionText, ...rest] = value.trim().split(":");
  const distribution = (distributionText?.trim() || "constant") as ThinkDistribution;
  if (rest.length > 0 || !DISTRIBUTIONS.includes(distribution)) throw new Rejected(expected);
  let meanMs: number;
  try {
    meanMs = parseDuration(durationText);
  } catch {
    throw new Rejected(expected);
  }
  if (meanMs > MAX_DURATION_MS) throw new Rejected(`a duration of ${MAX_DURATION_TEXT}`);
  return { meanMs, distribution };
}
