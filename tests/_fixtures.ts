/**
 * Shared test fixtures. Private to the tests.
 *
 * @module
 */
import { parseCommandLine } from "../cli/command_line.ts";
import type { RunConfig } from "../options/types.ts";

/**
 * A run configuration as the command line gives it for `args` (no environment, no config file),
 * with `overrides` on top: tests state only what they depend on.
 */
export function runConfig(args: string[] = [], overrides: Partial<RunConfig> = {}): RunConfig {
  const parsed = parseCommandLine(args, { env: {}, version: "test" });
  if (parsed.kind !== "run") throw new Error(`Expected a run command, got ${parsed.kind}`);
  return { ...parsed.config, ...overrides };
}
