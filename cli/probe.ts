/**
 * `llmload probe`: one request per mode against the target, and a table of what the server
 * honours.
 *
 * @module
 */
import { EXIT_FAILED, EXIT_OK } from "./exit_codes.ts";
import type { CommandOutput } from "./command_output.ts";
import { formatProbeTable, probeTarget, probeWarnings } from "../run/probe.ts";
import { inspectServer, resolveTarget } from "../run/target.ts";
import type { RunConfig } from "../options/types.ts";

/**
 * `llmload probe`: resolves the target, probes it, prints the table and any warnings; resolves
 * to 0 when the server answered the basic request, 1 when it did not.
 */
export async function runProbeCommand(config: RunConfig, output: CommandOutput): Promise<number> {
  const target = await resolveTarget(config, { checkModes: false, log: output.log });
  output.log(
    `Provider ${target.provider} (${target.providerReason}), model ${target.model} (${target.modelReason})`,
  );
  const server = await inspectServer(config, target, { log: output.log });
  const report = await probeTarget(config, { target, server });
  output.out(formatProbeTable(report));
  for (const warning of [...server.warnings, ...probeWarnings(report)]) {
    output.log(`Warning: ${warning}`);
  }
  return report.answered ? EXIT_OK : EXIT_FAILED;
}
