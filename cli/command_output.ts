/**
 * Where a command writes: results on one stream, information and the live progress line on
 * another.
 *
 * @module
 */

/** Where the command writes. */
export interface CommandOutput {
  /** Results: the table and the summary block. */
  readonly out: (text: string) => void;
  /** Progress and information lines. */
  readonly log: (line: string) => void;
  /** Rewrites the live progress line (TTY only). */
  readonly status?: (line: string) => void;
}
