/**
 * Checks the process's open-file limit against the connections a run will open, before the run,
 * so that `-u 20000` on a machine allowing 1024 files fails with advice instead of mid-run.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** File descriptors the runtime, the workers and the output files need besides connections. */
export const FILE_HEADROOM = 64;

/** Reads the soft open-file limit from `/proc/self/limits`; `undefined` where unavailable. */
export function openFileLimit(readTextFile: (path: string) => string = Deno.readTextFileSync) {
  try {
    const line = readTextFile("/proc/self/limits").split("\n")
      .find((row) => row.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * Throws a {@link UsageError} when `connections` (one per user, or per in-flight request in QPS
 * mode) cannot fit under the open-file `limit`, saying how to raise it.
 */
export function checkFileLimit(connections: number, limit: number | undefined): void {
  if (limit === undefined) return;
  const needed = connections + FILE_HEADROOM;
  if (needed <= limit) return;
  throw new UsageError(
    `Cannot open ${connections} connections: the open-file limit is ${limit} and this run needs ` +
      `about ${needed}; raise it first (e.g. 'ulimit -n ${Math.max(needed, 65536)}' in the shell ` +
      `that starts llmload, or LimitNOFILE in a systemd unit), or lower -u/--users`,
  );
}
