/**
 * Typed errors. A `UsageError` is the user's to fix (exit code 2, one line); anything else that
 * escapes is a bug and shows its stack.
 *
 * @module
 */

/** A bad flag, environment variable, config line or unreadable input file. Exit code 2. */
export class UsageError extends Error {
  /** Always `"UsageError"`. */
  override name = "UsageError";
}

/** A request that ran past `--timeout`. */
export class TimeoutError extends Error {
  /** Always `"TimeoutError"`. */
  override name = "TimeoutError";
}

/** A run that cannot start (e.g. the target is unreachable). Exit code 1, one line. */
export class StartError extends Error {
  /** Always `"StartError"`. */
  override name = "StartError";
}
