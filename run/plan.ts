/**
 * Everything settled before load starts: the workload prepared (datasets read, prompt pool
 * built) before anything is sent, limits and reachability checked, the target resolved,
 * the server inspected (does it list the model, what context does it report), the prompt built
 * and counted and checked against that context, the random seed drawn, the shard count chosen.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { checkFileLimit, openFileLimit } from "./limits.ts";
import { formatProbeTable, probeTarget, probeWarnings } from "./probe.ts";
import { createProvider } from "../providers/mod.ts";
import { buildPrompt, buildServerPrompt } from "../load/prompt.ts";
import { createRandom, randomSeed } from "../load/random.ts";
import { checkReachable } from "./reachability.ts";
import { autoWorkerCount } from "../load/sharding.ts";
import { inspectServer, resolveTarget } from "./target.ts";
import type { ContextLimit, Target } from "./target.ts";
import {
  createServerCounter,
  loadTokenizer,
  localTokenizerSpec,
  SERVER_TOKENIZER,
} from "../load/tokenizer.ts";
import { requestHeaders } from "../options/headers.ts";
import { createLengthSampler } from "../load/workload.ts";
import { datasetFormat, readDataset } from "../load/dataset.ts";
import { requireMultiTurn } from "../load/session.ts";
import { datasetPool, describeWorkload, syntheticPool } from "../load/pool_builder.ts";
import type { PrefixOptions, PreparedWorkload, WorkloadFacts } from "../load/pool_builder.ts";
import { type PromptPool, tokenSpread } from "../load/prompt_pool.ts";
import { deriveSeed } from "../load/random.ts";
import type { Tokenizer } from "../load/tokenizer.ts";
import type { RunConfig } from "../options/types.ts";
import { createTlsFetch, type Fetch, fetchFallbackReason } from "../transport/mod.ts";
import type { TransportKind } from "../transport/types.ts";
import { chooseTransport } from "./transport_choice.ts";
import { blocksOf, readTrace } from "../load/trace.ts";
import type { Trace } from "../load/trace.ts";
import { createTracePrompts } from "../load/trace_prompt.ts";

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
  /** The prompts shards draw from (dataset rows, drawn lengths); absent for one fixed prompt. */
  readonly pool?: PromptPool;
  /** What the prompts are, for the results' `workload` section. */
  readonly workload: WorkloadFacts;
  /** The `max_tokens` distribution, described for the summary. */
  readonly generationTokens: string;
  /** Number of Worker shards. */
  readonly shardCount: number;
  /** The transport that carries the load (`--transport`, or the one that took over). */
  readonly transport: TransportKind;
  /** Warnings the plan raised (e.g. what `--preflight` found the server ignores). */
  readonly warnings: readonly string[];
  /** The requests of `--trace` (the `--trace-window` slice), read and checked. */
  readonly trace?: Trace;
}

/**
 * Settles a run. Throws a `UsageError` or `StartError` (one line for the user) when the run
 * cannot start.
 */
export async function planRun(asked: RunConfig, log: (line: string) => void): Promise<RunPlan> {
  // A bad trace file is the user's to fix before anything is sent, or even looked up.
  const trace = asked.traceFile === undefined ? undefined : await readPlannedTrace(asked, log);
  checkFileLimit(asked.users, await openFileLimit());
  const choice = await chooseTransport(asked);
  if (choice.note !== undefined) log(choice.note);
  const config: RunConfig = Object.freeze({ ...asked, transport: choice.kind });
  // The workload first: a bad dataset is a usage error before anything is sent.
  const tokenizer = await loadTokenizer(localTokenizerSpec(config.tokenizer));
  const seed = config.seed ?? randomSeed();
  const prepared = await prepareWorkload(config, tokenizer, seed);
  if (prepared !== undefined) log(describeWorkload(prepared.facts));
  if (!usesProxy(config)) await checkReachable(config.host, config);
  const target = await resolveTarget(config, { log });
  log(
    `Provider ${target.provider} (${target.providerReason}), model ${target.model} (${target.modelReason})`,
  );
  const server = await inspectServer(config, target, { log });
  const warnings: string[] = [...server.warnings];
  if (trace !== undefined) warnings.push(...checkTracePrompts(trace, tokenizer));
  let prompt: string;
  let localPromptTokens: number;
  if (prepared !== undefined) {
    prompt = prepared.pool.prompts[0];
    localPromptTokens = prepared.facts.promptTokens.max;
  } else if (config.tokenizer === SERVER_TOKENIZER) {
    const sideFetch = createTlsFetch(config);
    try {
      const countOnServer = serverPromptCounter(config, target, sideFetch.fetch);
      prompt = config.promptText ??
        await buildServerPrompt(config.promptTokens, tokenizer, countOnServer);
      localPromptTokens = await countOnServer(prompt);
    } finally {
      sideFetch.close();
    }
    log(
      `Prompt of ${localPromptTokens} tokens as the server's ${target.provider} tokenizer counts`,
    );
  } else {
    prompt = config.promptText ?? buildPrompt(config.promptTokens, tokenizer);
    // As the server counts it, special tokens (BOS) included: what its usage is checked against.
    localPromptTokens = tokenizer.countPrompt(prompt);
  }
  warnings.push(
    ...(trace === undefined
      ? checkContext(config, { limits: server.context, promptTokens: localPromptTokens })
      : traceContextWarnings(trace, server.context)),
  );
  if (config.preflight) {
    const report = await probeTarget(config, { target, server });
    log(formatProbeTable(report));
    warnings.push(...probeWarnings(report));
  }
  const generationTokens = describeGeneration(config);
  const shardCount = config.workers ||
    autoWorkerCount({ cores: navigator.hardwareConcurrency, users: peakUsers(config) });
  return {
    target,
    prompt,
    localPromptTokens,
    seed,
    ...(prepared === undefined ? {} : { pool: prepared.pool }),
    workload: prepared?.facts ?? {
      source: config.promptText === undefined ? "generated" : "text",
      prompts: 1,
      promptTokens: tokenSpread([localPromptTokens]),
    },
    generationTokens,
    shardCount,
    transport: choice.kind,
    warnings,
    ...(trace === undefined ? {} : { trace }),
  };
}

/**
 * The `max_tokens` distribution as the summary block names it (`Constant(128)`), or `from the
 * trace` when a `--trace` gives each request's.
 */
export function describeGeneration(config: RunConfig): string {
  if (config.traceFile !== undefined) return "from the trace";
  return createLengthSampler({
    distribution: config.maxTokensDistribution,
    mean: config.maxTokens,
    alpha: config.maxTokensRange,
    cap: config.maxTokensCap,
    jitter: config.maxTokensJitter,
  }, createRandom(0)).describe();
}

/** Reads `--trace` (its `--trace-window` slice) and says what will be replayed. */
async function readPlannedTrace(config: RunConfig, log: (line: string) => void): Promise<Trace> {
  if (config.tokenizer === SERVER_TOKENIZER) {
    throw new UsageError(
      `Cannot use --tokenizer server with --trace: trace prompts are built and counted ` +
        `locally; pass --tokenizer with the model's tokenizer.json or a tiktoken encoding`,
    );
  }
  const trace = await readTrace(config.traceFile!, { window: config.traceWindow });
  const spanMs = trace.offsets[trace.count - 1] / config.traceSpeed;
  log(
    `Trace ${config.traceFile}: ${trace.count} requests over ${(spanMs / 1000).toFixed(1)}s ` +
      `at ${config.traceSpeed}x`,
  );
  return trace;
}

/**
 * Warnings for the trace requests that do not fit the context the server reported. Not errors:
 * a trace is replayed as it is, and the server's refusals are what production saw.
 */
export function traceContextWarnings(trace: Trace, limits: readonly ContextLimit[]): string[] {
  const warnings: string[] = [];
  for (const limit of limits) {
    let over = 0;
    for (let i = 0; i < trace.count; i++) {
      const tokens = trace.inputLengths[i] +
        (limit.bounds === "prompt" ? 0 : trace.outputLengths[i]);
      if (tokens > limit.tokens) over++;
    }
    if (over === 0) continue;
    const server = limit.kind !== "trained"
      ? `the server's ${limit.bounds === "prompt" ? "prompt limit" : "context"}`
      : "the model's training context";
    const what = limit.bounds === "prompt" ? "prompts" : "prompt + max_tokens";
    warnings.push(
      `${over} of the ${trace.count} trace requests have ${what} above ${server} of ` +
        `${limit.tokens} (from ${limit.source}); the server may refuse or cut them`,
    );
  }
  return warnings;
}

/** Trace rows whose prompts {@linkcode checkTracePrompts} counts: the first few. */
const CHECKED_TRACE_ROWS = 4;

/**
 * Counts the prompts of the trace's first requests: their words are one token each, which holds
 * for tiktoken encodings; a tokenizer where it does not gets a warning with the difference.
 */
export function checkTracePrompts(trace: Trace, tokenizer: Tokenizer): string[] {
  const prompts = createTracePrompts(tokenizer, createRandom(0));
  for (let i = 0; i < Math.min(CHECKED_TRACE_ROWS, trace.count); i++) {
    const asked = trace.inputLengths[i];
    const counted = tokenizer.countPrompt(prompts.prompt(blocksOf(trace, i), asked));
    if (counted !== asked) {
      return [
        `Trace prompts are not exact under ${tokenizer.name}: request ${i + 1} asks for ` +
        `${asked} prompt tokens and its prompt has ${counted}; pass --tokenizer with a ` +
        `tiktoken encoding for exact lengths`,
      ];
    }
  }
  return [];
}

/** Stream of the random source that shuffles datasets and draws prompt lengths. */
const WORKLOAD_STREAM = 0x5eed;

/**
 * The prompt pool of a run with `--dataset` or a prompt length distribution, built before the
 * load; `undefined` for one fixed prompt (built by the caller as before).
 */
async function prepareWorkload(
  config: RunConfig,
  tokenizer: Tokenizer,
  seed: number,
): Promise<PreparedWorkload | undefined> {
  const random = createRandom(deriveSeed(seed, WORKLOAD_STREAM));
  if (config.datasets !== undefined) {
    const inputs = [];
    for (const choice of config.datasets) {
      const read = await readDataset(choice.path, {
        limit: config.datasetLimit,
        shuffle: config.datasetShuffle ? random : undefined,
        fields: config.datasetFields,
        sessions: config.datasetSessions,
      });
      inputs.push({ ...choice, format: datasetFormat(choice.path), read });
    }
    // Embeddings and rerank send each row's text (a chat row's messages joined), generating none.
    const generates = config.mode === "generate";
    const prepared = datasetPool(inputs, tokenizer, {
      maxContext: config.maxContext,
      rowMaxTokens: generates && config.datasetMaxTokens === "dataset",
      maxTokens: generates ? config.maxTokens : 0,
      chat: config.chat || !generates,
    });
    if (config.datasetSessions) requireMultiTurn(prepared.pool, inputs.map((input) => input.path));
    return prepared;
  }
  const drawn = config.promptTokensDistribution !== "constant";
  if ((!drawn && config.prefixTokens === undefined) || config.promptText !== undefined) {
    return undefined;
  }
  return syntheticPool(
    {
      distribution: config.promptTokensDistribution,
      mean: config.promptTokens,
      alpha: config.promptTokensRange,
      cap: config.promptTokensCap,
      jitter: 0,
    },
    tokenizer,
    random,
    prefixOf(config),
  );
}

function prefixOf(config: RunConfig): PrefixOptions | undefined {
  return config.prefixTokens === undefined
    ? undefined
    : { tokens: config.prefixTokens, groups: config.prefixGroups };
}

/**
 * Counts whole prompts, special tokens included, with the server's tokenize endpoint; any
 * failure is the user's to fix before the load (wrong dialect, a server without the route).
 */
function serverPromptCounter(
  config: RunConfig,
  target: Target,
  fetch: Fetch,
): (prompt: string) => Promise<number> {
  const fix = "pass --tokenizer with the model's tokenizer.json or a tiktoken encoding";
  if (config.promptRandomize && config.promptText === undefined) {
    throw new UsageError(
      `Cannot use --prompt-randomize with --tokenizer server: random prompts are counted ` +
        `locally; ${fix}`,
    );
  }
  const provider = createProvider(target.provider, {
    model: target.model,
    chat: config.chat,
    stream: config.stream,
    temperature: config.temperature,
  });
  if (provider.tokenize === undefined) {
    throw new UsageError(
      `Cannot use --tokenizer server: the ${target.provider} API has no tokenize endpoint ` +
        `(vllm, sglang, tgi and llamacpp have one); ${fix}`,
    );
  }
  const counter = createServerCounter(provider.tokenize, {
    host: config.host,
    headers: requestHeaders(config),
    timeoutMs: config.timeoutMs,
    fetch,
  });
  return async function countOnServer(prompt: string): Promise<number> {
    try {
      return await counter.count(prompt, true);
    } catch (error) {
      throw new UsageError(
        `Cannot use --tokenizer server: ${(error as Error).message}; ${fix}`,
      );
    }
  };
}

/** A fetch transport may go through an HTTP proxy, which a direct TCP check would not see. */
function usesProxy(config: RunConfig): boolean {
  return config.transport === "fetch" &&
    fetchFallbackReason(Deno.env.toObject(), config.host) !== undefined;
}

/**
 * The largest `max_tokens` a run's requests can ask for: the constant or the top of the uniform
 * range (plus jitter), never above `--max-tokens-cap`; `Infinity` for a normal or exponential
 * distribution without a cap. Mirrors `createLengthSampler` (load/workload.ts).
 */
export function largestMaxTokens(config: RunConfig): number {
  const mean = config.maxTokens;
  const top = config.maxTokensDistribution === "constant"
    ? Math.round(mean)
    : config.maxTokensDistribution === "uniform"
    ? Math.floor(mean + mean * config.maxTokensRange)
    : Infinity;
  return Math.min(top + config.maxTokensJitter, config.maxTokensCap ?? Infinity);
}

/**
 * Checks the prompt and the largest `max_tokens` against the context the server reported (in
 * embeddings and rerank mode, each text alone: nothing is generated).
 * Throws a `UsageError` with the numbers when the server would refuse the requests; returns
 * warnings for replies a server cuts at its context (llama.cpp), for the training length, and
 * for a distribution without a cap whose larger draws would not fit.
 */
export function checkContext(
  config: RunConfig,
  options: { limits: readonly ContextLimit[]; promptTokens: number },
): string[] {
  const warnings: string[] = [];
  const prompt = options.promptTokens;
  const promptFlag = config.datasets !== undefined
    ? "--max-context (which drops longer rows)"
    : config.promptText !== undefined
    ? "--prompt-text"
    : config.tokensPerDocument !== undefined && config.mode === "rerank"
    ? "--tokens-per-document"
    : "-p";
  const largest = largestMaxTokens(config);
  const typical = Math.round(config.maxTokens);
  for (const limit of options.limits) {
    const server = limit.kind !== "trained"
      ? `the server's ${limit.bounds === "prompt" ? "prompt limit" : "context"}`
      : "the model's training context";
    const from = `${limit.tokens} (from ${limit.source})`;
    // Each embeddings input and rerank document is its own sequence, with nothing generated.
    if (limit.bounds === "prompt" || config.mode !== "generate") {
      if (prompt <= limit.tokens) continue;
      const message = `prompt ${prompt} tokens exceed ${server} of ${from}: lower ${promptFlag}`;
      if (limit.kind !== "trained") throw new UsageError(capitalized(message));
      warnings.push(capitalized(message));
      continue;
    }
    const asked = Number.isFinite(largest) ? largest : typical;
    if (prompt + asked > limit.tokens) {
      const most = asked === typical ? "" : " (the largest -o draws)";
      const message = `prompt ${prompt} + max_tokens ${asked}${most} = ${prompt + asked} tokens ` +
        `exceed ${server} of ${from}: lower ${promptFlag}/-o`;
      // llama.cpp refuses only a prompt that fills its slot; a longer reply it cuts there.
      if (limit.kind === "limit" || (limit.kind === "cuts" && prompt >= limit.tokens)) {
        throw new UsageError(capitalized(message));
      }
      warnings.push(
        limit.kind === "cuts"
          ? `${capitalized(message)}; the server cuts such replies at its context (reported as ` +
            `truncated), so they end short of max_tokens`
          : `${capitalized(message)}; the server may refuse such requests`,
      );
    } else if (!Number.isFinite(largest)) {
      const room = limit.tokens - prompt;
      warnings.push(
        `-o ${config.maxTokensDistribution} has no cap, and draws above ${room} tokens do not ` +
          `fit ${server} of ${from} beside the ${prompt}-token prompt: set --max-tokens-cap ${room}`,
      );
    }
  }
  return warnings;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The most users the run has at once: `-u`, or the largest stage's with `--stages`. */
function peakUsers(config: RunConfig): number {
  return Math.max(config.users, ...(config.stages ?? []).map((stage) => stage.users ?? 0));
}
