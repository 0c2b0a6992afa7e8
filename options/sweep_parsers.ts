/**
 * Parsers of `llmload sweep`'s load lists: `--users 1,2,4,8`, `--qps 2,4,8`, `--qps 1:64:x2`
 * (geometric: from 1, times 2, up to 64) or `--qps 1:10:+1` (arithmetic). Every list is
 * strictly increasing and above 0, so a sweep's points read from light load to heavy.
 *
 * @module
 */
import { Rejected } from "./parsers.ts";

const FORM = "a strictly increasing list above 0 such as 1,2,4,8, or FROM:TO:xFACTOR such as " +
  "1:64:x2, or FROM:TO:+STEP such as 1:10:+1";

/** Points a range may expand to at most: a sweep of more would take hours. */
const MAX_POINTS = 1000;

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

function positive(text: string, whole: boolean): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (!NUMBER.test(trimmed) || !(value > 0) || (whole && !Number.isInteger(value))) {
    throw new Rejected(whole ? FORM.replace("above 0", "of whole numbers above 0") : FORM);
  }
  return value;
}

/** `FROM:TO:xF` or `FROM:TO:+S`, expanded; TO is the last point when the steps reach it. */
function range(value: string, whole: boolean): number[] {
  const [fromText, toText, stepText] = value.split(":");
  const from = positive(fromText, whole);
  const to = positive(toText, whole);
  const kind = stepText.trim()[0];
  if (kind !== "x" && kind !== "+") throw new Rejected(FORM);
  const step = positive(stepText.trim().slice(1), whole);
  if (to <= from || (kind === "x" && step <= 1)) throw new Rejected(FORM);
  const points: number[] = [];
  // Rounding keeps 0.1:1:+0.1 from drifting to 0.30000000000000004.
  for (let k = 0; points.length <= MAX_POINTS; k++) {
    const point = Number((kind === "x" ? from * step ** k : from + step * k).toPrecision(12));
    if (point > to * (1 + 1e-9)) break;
    points.push(point);
  }
  if (points.length > MAX_POINTS) {
    throw new Rejected(`${FORM}, of at most ${MAX_POINTS} points`);
  }
  return points;
}

/**
 * Parses a sweep's list of loads; `whole` asks for whole numbers (users).
 *
 * @example
 * ```ts
 * sweepList("1:64:x2", { whole: false }); // [1, 2, 4, 8, 16, 32, 64]
 * sweepList("4,8,16", { whole: true }); // [4, 8, 16]
 * ```
 */
export function sweepList(value: string | boolean, options: { whole: boolean }): number[] {
  if (typeof value !== "string" || value.trim() === "") throw new Rejected(FORM);
  const colons = value.split(":").length - 1;
  if (colons === 2) return range(value, options.whole);
  if (colons !== 0) throw new Rejected(FORM);
  const points = value.split(",").map((part) => positive(part, options.whole));
  if (points.some((point, i) => i > 0 && point <= points[i - 1])) throw new Rejected(FORM);
  return points;
}
