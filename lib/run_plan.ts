/**
 * Everything settled before load starts: limits and reachability checked, the target resolved,
 * the prompt built and counted, the random seed drawn, the shard count chosen.
 *
 * @module
 */
import { checkFileLimit, openFileLimit } from "./limits.ts";
import { formatProbeTable, probeTarget, probeWarnings } from "./probe.ts";
import { buildPrompt } from "./prompt.ts";
import { createRandom, randomSeed } from "./random.ts";
import { checkReachable } from "./reachability.ts";
import { autoWorkerCount } from "./shards.ts";
import { resolveTarget } from "./target.ts";
import type { Target } from "./target.ts";
import { loadTokenizer } from "./tokenizer.ts";
import { createLengthSampler } from "./workload.ts";
import type { RunConfig } from "./types.ts";

/** What a run settles before it sends anything. */
export interface RunPlan {
  /** Model and provider, with the reasons they were chosen. */
  readonly target: Target;
  /** The prompt every request sends (before any per-request randomisation). */
  readonly prompt: string;
  /** Prompt tokens by the local tokenizer, counted as the server does (BOS included). */
  readonly localPromptTokens: number;
  /** Seed of the run's random source. */
  readonly seed: number;
  /** The `max_tokens` distribution, described for the summary. */
  readonly generationTokens: string;
  /** Number of Worker shards. */
  readonly shardCount: number;
  /** Warnings the plan raised (e.g. what `--preflight` found the server ignores). */
  readonly warnings: readonly string[];
}

/**
 * Settles a run. Throws a `UsageError` or `StartError` (one line for the user) when the run
 * cannot start.
 */
export async function planRun(config: RunConfig, log: (line: string) => void): Promise<RunPlan> {
  checkFileLimit(config.users, await openFileLimit());
  if (!usesProxy(config)) await checkReachable(config.host);
  const target = await resolveTarget(config);
  log(
    `Provider ${target.provider} (${target.providerReason}), model ${target.model} (${target.modelReason})`,
  );
  const warnings: string[] = [];
  if (config.preflight) {
    const report = await probeTarget(config, { target });
    log(formatProbeTable(report));
    warnings.push(...probeWarnings(report));
  }
  const tokenizer = await loadTokenizer(config.tokenizer);
  const prompt = config.promptText ?? buildPrompt(config.promptTokens, tokenizer);
  const seed = config.seed ?? randomSeed();
  const generationTokens = createLengthSampler({
    distribution: config.maxTokensDistribution,
    mean: config.maxTokens,
    alpha: config.maxTokensRange,
    cap: config.maxTokensCap,
    jitter: config.maxTokensJitter,
  }, createRandom(seed)).describe();
  const shardCount = config.workers ||
    autoWorkerCount({ cores: navigator.hardwareConcurrency, users: config.users, qps: config.qps });
  return {
    target,
    prompt,
    // As the server counts it, special tokens (BOS) included: what its usage is checked against.
    localPromptTokens: tokenizer.countPrompt(prompt),
    seed,
    generationTokens,
    shardCount,
    warnings,
  };
}

/** A fetch transport may go through an HTTP proxy, which a direct TCP check would not see. */
function usesProxy(config: RunConfig): boolean {
  const proxy = ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]
    .some((name) => Deno.env.get(name));
  return config.transport === "fetch" && proxy;
}
