/**
 * `--json`: the results file, written once at the end of the run (atomically, see
 * `writeResultsJson`).
 *
 * @module
 */
import { writeResultsJson } from "./results.ts";
import type { Output } from "./types.ts";

/** Writes the results to `path` and says so on `log`. */
export function resultsJsonOutput(path: string, log: (line: string) => void): Output {
  return {
    name: "results JSON",
    async finish({ results }) {
      await writeResultsJson(path, results);
      log(`Results written to ${path}`);
    },
  };
}
