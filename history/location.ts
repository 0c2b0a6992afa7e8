/**
 * Where the run history lives when `--history` does not say: `runs.db` in the platform's data
 * directory. Pure: the environment and the operating system are arguments.
 *
 * @module
 */

/** The history file's name inside the data directory. */
const FILE_NAME = "runs.db";

/**
 * The default history file: `$XDG_DATA_HOME/llmload/runs.db`, else
 * `~/.local/share/llmload/runs.db` on Linux and the BSDs; `~/Library/Application
 * Support/llmload/runs.db` on macOS; `%APPDATA%\llmload\runs.db` on Windows. `undefined` when
 * the variables it needs (`HOME`, `APPDATA`) are unset.
 *
 * @example
 * ```ts
 * defaultHistoryPath({ HOME: "/home/ada" }, "linux"); // "/home/ada/.local/share/llmload/runs.db"
 * ```
 */
export function defaultHistoryPath(
  env: Readonly<Record<string, string | undefined>>,
  os: typeof Deno.build.os,
): string | undefined {
  if (os === "windows") {
    return env.APPDATA ? `${env.APPDATA}\\llmload\\${FILE_NAME}` : undefined;
  }
  if (os === "darwin") {
    return env.HOME ? `${env.HOME}/Library/Application Support/llmload/${FILE_NAME}` : undefined;
  }
  if (env.XDG_DATA_HOME?.startsWith("/")) return `${env.XDG_DATA_HOME}/llmload/${FILE_NAME}`;
  return env.HOME ? `${env.HOME}/.local/share/llmload/${FILE_NAME}` : undefined;
}
