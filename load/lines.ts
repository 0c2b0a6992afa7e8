/**
 * The lines of a text file, streamed: the reader of JSONL `--dataset` files and Mooncake
 * `--trace` files.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/**
 * Yields the lines of `path` without their `\n` or `\r\n`. Stopping early (a `--dataset-limit`,
 * a `--trace-window`) closes the file at once, not when it is collected.
 */
export async function* fileLines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    yield* lines;
  } finally {
    lines.close();
    input.destroy();
  }
}
