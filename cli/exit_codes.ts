/**
 * Every exit code llmload returns, defined once (the README's "Exit codes" table lists them).
 *
 * @module
 */

/** Exit code of a run where every request succeeded. */
export const EXIT_OK = 0;
/** Exit code of a run where a request failed or none completed (the seed's rule). */
export const EXIT_FAILED = 1;
/** Exit code of a usage error. */
export const EXIT_USAGE = 2;
/** Exit code of a run where a `--threshold` failed (or stopped it with `--abort-on-threshold`). */
export const EXIT_THRESHOLDS = 3;
