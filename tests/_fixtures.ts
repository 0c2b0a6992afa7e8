/**
 * Shared test fixtures. Private to the tests.
 *
 * @module
 */
import { parseCommandLine } from "../cli/command_line.ts";
import type { RunConfig } from "../options/types.ts";
import type { RunInfo } from "../output/results.ts";

/**
 * A run configuration as the command line gives it for `args` (no environment, no config file),
 * with `overrides` on top: tests state only what they depend on.
 */
export function runConfig(args: string[] = [], overrides: Partial<RunConfig> = {}): RunConfig {
  const parsed = parseCommandLine(args, { env: {}, version: "test" });
  if (parsed.kind !== "run") throw new Error(`Expected a run command, got ${parsed.kind}`);
  return { ...parsed.config, ...overrides };
}

/** What `buildResults` is told of a one-second vLLM run of model `m` under `config`, `extra` on top. */
export function oneSecondRun(config: RunConfig, extra: Partial<RunInfo> = {}): RunInfo {
  return {
    provider: "vllm",
    model: "m",
    config,
    startedAt: 0,
    endedAt: 1000,
    durationMs: 1000,
    ...extra,
  };
}
