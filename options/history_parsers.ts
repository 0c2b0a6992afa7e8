/**
 * Value parsers of the run-history options: `--history FILE|off` and `--tag key=value`. Pure;
 * throws `Rejected` with the accepted forms, as `options/parsers.ts`.
 *
 * @module
 */
import { Rejected } from "./parsers.ts";

const OFF = new Set(["off", "false", "no", "0"]);
const TAG_KEY = /^[A-Za-z0-9_.-]+$/;

/**
 * Parses `--history`: a file path, or `false` for `--no-history` (also written `off`, `false`,
 * `no` or `0` in the environment or a config file; a file of that name is written `./off`).
 *
 * @example
 * ```ts
 * historyChoice("runs.db"); // "runs.db"
 * historyChoice("off"); // false
 * ```
 */
export function historyChoice(value: string | boolean): string | false {
  if (value === false) return false;
  if (typeof value !== "string" || value.trim() === "") {
    throw new Rejected("a file path, or off to store nothing");
  }
  return OFF.has(value.trim().toLowerCase()) ? false : value;
}

/**
 * Parses one `--tag key=value`: a key of letters, digits and `_.-`, and any value.
 *
 * @example
 * ```ts
 * tag("gpu=h100"); // ["gpu", "h100"]
 * ```
 */
export function tag(value: string | boolean): [string, string] {
  const expected = "key=value with a key of letters, digits and _.-, such as gpu=h100";
  const raw = typeof value === "string" ? value : "";
  const equals = raw.indexOf("=");
  const key = raw.slice(0, Math.max(0, equals)).trim();
  if (equals < 0 || !TAG_KEY.test(key)) throw new Rejected(expected);
  return [key, raw.slice(equals + 1).trim()];
}
