/**
 * The per-request log (`--log-requests FILE.jsonl`): one JSON line per request, written on the
 * coordinator's thread as the shards post their lines, in bounded memory. Lines wait in one
 * queue that a single writer drains; past {@link MAX_QUEUED_BYTES} waiting (a disk slower than
 * the load) new lines are dropped and counted instead of piling up, and the run says so.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { RequestLogLine } from "../request/log_line.ts";

/** Bytes of lines waiting to be written at most; past that new lines are dropped. */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** How the log went, once closed. */
export interface RequestLogSummary {
  /** Lines written. */
  readonly written: number;
  /** Lines dropped: the queue was full, or a write had failed. */
  readonly dropped: number;
  /** Why writing stopped, when a write failed. */
  readonly error?: string;
}

/** An open request log. */
export interface RequestLog {
  /** Queues `lines` to be written; never waits. */
  write(lines: readonly RequestLogLine[]): void;
  /** Writes what is queued, closes the file and says how it went. */
  close(): Promise<RequestLogSummary>;
}

/**
 * Opens (creates or empties) the log at `path`.
 *
 * @throws {UsageError} when the file cannot be opened for writing
 */
export async function openRequestLog(path: string): Promise<RequestLog> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, create: true, truncate: true });
  } catch (error) {
    throw new UsageError(
      `Cannot open --log-requests file '${path}': ${(error as Error).message}; ` +
        "expected a file path in a folder that exists and can be written",
    );
  }
  const encoder = new TextEncoder();
  let queue: string[] = [];
  let queuedBytes = 0;
  let written = 0;
  let dropped = 0;
  let error: string | undefined;
  let draining: Promise<void> | undefined;

  async function drain(): Promise<void> {
    while (queue.length > 0 && error === undefined) {
      const batch = queue;
      queue = [];
      queuedBytes = 0;
      try {
        const bytes = encoder.encode(batch.join(""));
        for (let offset = 0; offset < bytes.length;) {
          offset += await file.write(bytes.subarray(offset));
        }
        written += batch.length;
      } catch (cause) {
        error = (cause as Error).message;
        dropped += batch.length;
      }
    }
    draining = undefined;
  }

  return {
    write(lines) {
      for (const line of lines) {
        const text = JSON.stringify(line) + "\n";
        if (error !== undefined || queuedBytes + text.length > MAX_QUEUED_BYTES) {
          dropped++;
          continue;
        }
        queue.push(text);
        queuedBytes += text.length;
      }
      draining ??= drain();
    },
    async close() {
      while (draining !== undefined) await draining;
      dropped += queue.length;
      file.close();
      return { written, dropped, ...(error === undefined ? {} : { error }) };
    },
  };
}
