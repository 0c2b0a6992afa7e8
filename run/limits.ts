/**
 * Checks the process's open-file limit against the connections a run will open, before the run,
 * so that `-u 20000` on a machine allowing 1024 files fails with advice instead of mid-run.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";

/** File descriptors the runtime, the workers and the output files need besides connections. */
export const FILE_HEADROOM = 64;

/** Where {@link openFileLimit} looks; injectable for tests. */
export interface LimitSources {
  /** Reads a text file (`/proc/self/limits`). */
  readonly readTextFile?: (path: string) => string;
  /** Prints the shell's `ulimit -n`, or `undefined` when no shell may be run. */
  readonly shellUlimit?: () => Promise<string | undefined>;
}

/**
 * The soft open-file limit, or `undefined` where it cannot be learnt. Deno lets only
 * `--allow-all` read `/proc/self/limits`, so a shell's `ulimit -n` (with `--allow-run=sh`) is
 * the second source.
 */
export async function openFileLimit(sources: LimitSources = {}): Promise<number | undefined> {
  const readTextFile = sources.readTextFile ?? Deno.readTextFileSync;
  try {
    const line = readTextFile("/proc/self/limits").split("\n")
      .find((row) => row.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft !== undefined) return soft === "unlimited" ? undefined : Number(soft);
  } catch {
    // Not Linux, or not readable without --allow-all: ask a shell.
  }
  const printed = (await (sources.shellUlimit ?? shellUlimit)())?.trim();
  return printed && /^\d+$/.test(printed) ? Number(printed) : undefined;
}

async function shellUlimit(): Promise<string | undefined> {
  if (Deno.build.os === "windows") return undefined;
  const permission = await Deno.permissions.query({ name: "run", command: "sh" });
  if (permission.state !== "granted") return undefined;
  try {
    const output = await new Deno.Command("sh", {
      args: ["-c", "ulimit -n"],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why `connections` (one per user, or per in-flight request in QPS mode) cannot fit under the
 * open-file `limit` ("the open-file limit is 1024 and this run needs about 2064"), or
 * `undefined` when they fit or the limit is unknown.
 */
export function fileLimitProblem(
  connections: number,
  limit: number | undefined,
): string | undefined {
  if (limit === undefined) return undefined;
  const needed = connections + FILE_HEADROOM;
  if (needed <= limit) return undefined;
  return `the open-file limit is ${limit} and this run needs about ${needed}`;
}

/**
 * Throws a {@link UsageError} when `connections` cannot fit under the open-file `limit` (see
 * {@link fileLimitProblem}), saying how to raise it.
 */
export function checkFileLimit(connections: number, limit: number | undefined): void {
  const problem = fileLimitProblem(connections, limit);
  if (problem === undefined) return;
  const needed = connections + FILE_HEADROOM;
  throw new UsageError(
    `Cannot open ${connections} connections: ${problem}; raise it first (e.g. ` +
      `'ulimit -n ${Math.max(needed, 65536)}' in the shell that starts llmload, or LimitNOFILE ` +
      `in a systemd unit), or lower -u/--users`,
  );
}
