/**
 * Builds the {@linkcode PromptPool} of a run before the load: dataset rows counted under the
 * run's tokenizer (rows over `--max-context` dropped), or generated prompts of lengths drawn
 * like `-o`'s. Also the facts of the workload, for the line printed before the run and the
 * results' `workload` section. Pure apart from the tokenizer's work.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { ChatMessage } from "../providers/types.ts";
import type { DatasetFormat, DatasetRead } from "./dataset.ts";
import { buildPrefix, buildPrefixedPrompt, buildPrompt } from "./prompt.ts";
import type { PoolGroup, PromptPool, TokenSpread } from "./prompt_pool.ts";
import { tokenSpread } from "./prompt_pool.ts";
import type { Random } from "./random.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { createLengthSampler, type LengthSamplerOptions } from "./workload.ts";
import { readImageFiles } from "./images.ts";

/** What one `--dataset` file gave the run. */
export interface DatasetFacts {
  /** The file. */
  readonly path: string;
  /** Its format: `jsonl`, `sharegpt` or `csv`. */
  readonly format: DatasetFormat;
  /** Its share of the mix. */
  readonly weight: number;
  /** Rows read from it. */
  readonly read: number;
  /** Rows in the pool. */
  readonly kept: number;
  /** Rows dropped: empty prompt, over `--max-context`, unreadable (no human turn). */
  readonly dropped: {
    readonly empty: number;
    readonly overContext: number;
    readonly unreadable: number;
  };
}

/** The workload of a run, as the results' `workload` section holds it. */
export interface WorkloadFacts {
  /** Where prompts come from: `dataset`, `generated` or `text` (`--prompt-text`). */
  readonly source: "dataset" | "generated" | "text";
  /** Distinct prompts prepared. */
  readonly prompts: number;
  /** Prompt tokens across them, special tokens included. */
  readonly promptTokens: TokenSpread;
  /** The prompt length distribution of generated prompts, e.g. `normal(512, alpha=0.3)`. */
  readonly promptTokensDistribution?: string;
  /** Shared prefixes (`--prefix-tokens`, `--prefix-groups`): tokens each, and how many. */
  readonly prefix?: { readonly tokens: number; readonly groups: number };
  /** Each dataset file, for `dataset`. */
  readonly datasets?: readonly DatasetFacts[];
}

/** A pool and the facts about it. */
export interface PreparedWorkload {
  /** What shards draw from. */
  readonly pool: PromptPool;
  /** What it is, for the description line and the results. */
  readonly facts: WorkloadFacts;
}

/** One dataset file as read, with what the options said of it. */
export interface DatasetInput {
  /** The file. */
  readonly path: string;
  /** Its share of the mix. */
  readonly weight: number;
  /** Its format. */
  readonly format: DatasetFormat;
  /** The rows read. */
  readonly read: DatasetRead;
}

/**
 * The pool of dataset files: each row counted with `tokenizer.countPrompt` (a `messages` row by
 * its contents; the server's chat template adds a few tokens), rows whose prompt plus
 * `max_tokens` exceed `maxContext` dropped; `messages` rows need `chat` (sent as given; they are
 * refused rather than flattened, as a flattened history is not the request it records); the
 * image files a row names are read here, before the run, and need `chat` too.
 * `rowMaxTokens` false (`--dataset-max-tokens flag`)
 * leaves `max_tokens` to `-o`. Throws a `UsageError` when no row is left.
 */
export function datasetPool(
  inputs: readonly DatasetInput[],
  tokenizer: Tokenizer,
  options: { maxContext?: number; rowMaxTokens: boolean; maxTokens: number; chat: boolean },
): PreparedWorkload {
  const prompts: string[] = [];
  const promptTokens: number[] = [];
  const maxTokens: number[] = [];
  const messages: (readonly ChatMessage[] | null)[] = [];
  const images: (readonly string[] | null)[] = [];
  const groups: PoolGroup[] = [];
  const datasets: DatasetFacts[] = [];
  for (const input of inputs) {
    const start = prompts.length;
    let overContext = 0;
    for (const row of input.read.rows) {
      if (row.messages !== undefined && !options.chat) {
        throw new UsageError(
          `Cannot use --dataset '${input.path}' without --chat: its rows${
            row.id
              ? ` (such as ` +
                `'${row.id}')`
              : ""
          } are chat messages, which only the chat API takes; add --chat, ` +
            `or give rows with a "prompt"`,
        );
      }
      if (row.images !== undefined && !options.chat) {
        throw new UsageError(
          `Cannot use --dataset '${input.path}' without --chat: its rows name images, which ` +
            `go in chat messages; add --chat, or --api chat or --api responses`,
        );
      }
      const tokens = tokenizer.countPrompt(row.prompt);
      const asked = options.rowMaxTokens && row.maxTokens ? row.maxTokens : options.maxTokens;
      if (options.maxContext !== undefined && tokens + asked > options.maxContext) {
        overContext++;
        continue;
      }
      prompts.push(row.prompt);
      promptTokens.push(tokens);
      maxTokens.push(options.rowMaxTokens ? row.maxTokens ?? 0 : 0);
      messages.push(row.messages ?? null);
      images.push(row.images ? readImageFiles(row.images, { dataset: input.path }) : null);
    }
    const kept = prompts.length - start;
    datasets.push({
      path: input.path,
      format: input.format,
      weight: input.weight,
      read: input.read.read,
      kept,
      dropped: { ...input.read.dropped, overContext },
    });
    if (kept === 0) {
      throw new UsageError(
        `Cannot use --dataset '${input.path}': no rows left (${
          describeDropped(datasets.at(-1)!)
        })` +
          `, expected at least one row with a non-empty prompt` +
          (overContext > 0 ? ` within --max-context ${options.maxContext}` : ""),
      );
    }
    groups.push({ start, count: kept, weight: input.weight });
  }
  const pool: PromptPool = {
    prompts,
    promptTokens,
    maxTokens,
    ...(messages.some((entry) => entry !== null) ? { messages } : {}),
    ...(images.some((entry) => entry !== null) ? { images } : {}),
    groups,
    order: "cycle",
  };
  const facts: WorkloadFacts = {
    source: "dataset",
    prompts: prompts.length,
    promptTokens: tokenSpread(promptTokens),
    datasets,
  };
  return { pool, facts };
}

/** Generated prompts in a pool: this many draws of the length distribution (or one a group). */
export const SYNTHETIC_POOL_SIZE = 256;

/** Shared prefixes of generated prompts: `groups` prefixes of `tokens` tokens each. */
export interface PrefixOptions {
  /** Tokens of each prefix (`--prefix-tokens`). */
  readonly tokens: number;
  /** How many distinct prefixes (`--prefix-groups`). */
  readonly groups: number;
}

/**
 * A pool of at least {@linkcode SYNTHETIC_POOL_SIZE} generated prompts whose lengths are drawn
 * from `lengths` (the `--prompt-tokens*` flags, as `-o`'s), each built with exactly its drawn
 * count (one build per distinct length). With `prefix`, prompt `i` starts with shared prefix
 * `i mod groups` (random words, one source per group) and its drawn length includes it. A length
 * too short for the special tokens (and the prefix) is raised to the shortest there is.
 */
export function syntheticPool(
  lengths: LengthSamplerOptions,
  tokenizer: Tokenizer,
  random: Random,
  prefix?: PrefixOptions,
): PreparedWorkload {
  const sampler = createLengthSampler(lengths, random);
  const shortest = tokenizer.specialTokens + 1 + (prefix?.tokens ?? 0);
  const texts = prefix === undefined
    ? []
    : Array.from({ length: prefix.groups }, () => buildPrefix(prefix.tokens, tokenizer, random));
  const size = Math.max(SYNTHETIC_POOL_SIZE, texts.length);
  const built = new Map<string, string>();
  const prompts: string[] = [];
  const promptTokens: number[] = [];
  const of: number[] = [];
  for (let index = 0; index < size; index++) {
    const tokens = Math.max(sampler.sample(), shortest);
    const group = texts.length === 0 ? -1 : index % texts.length;
    const key = `${group}:${tokens}`;
    let prompt = built.get(key);
    if (prompt === undefined) {
      prompt = group < 0 ? buildPrompt(tokens, tokenizer) : buildPrefixedPrompt(tokens, tokenizer, {
        prefix: texts[group],
        prefixTokens: prefix!.tokens,
      });
      built.set(key, prompt);
    }
    prompts.push(prompt);
    promptTokens.push(tokens);
    of.push(group);
  }
  const pool: PromptPool = {
    prompts,
    promptTokens,
    maxTokens: prompts.map(() => 0),
    ...(prefix === undefined ? {} : {
      prefix: {
        texts,
        of,
        suffixTokens: prompts.map((prompt, index) =>
          tokenizer.countPrompt(prompt.slice(texts[of[index]].length + 1))
        ),
      },
    }),
    groups: [{ start: 0, count: prompts.length, weight: 1 }],
    order: "random",
  };
  const facts: WorkloadFacts = {
    source: "generated",
    prompts: built.size,
    promptTokens: tokenSpread(promptTokens),
    promptTokensDistribution: sampler.describe(),
    ...(prefix === undefined ? {} : { prefix: { tokens: prefix.tokens, groups: prefix.groups } }),
  };
  return { pool, facts };
}

/**
 * The line printed before the run, e.g. `Dataset chats.jsonl: 980 rows, prompt tokens p50 212
 * p90 801 max 3950; dropped 20 (12 empty, 8 over --max-context)`.
 */
export function describeWorkload(facts: WorkloadFacts): string {
  const { p50, p90, max } = facts.promptTokens;
  const spread = `prompt tokens p50 ${p50} p90 ${p90} max ${max}`;
  if (facts.source !== "dataset") {
    const shape = facts.promptTokensDistribution ?? "";
    const prefix = facts.prefix === undefined
      ? ""
      : `, each after one of ${facts.prefix.groups} shared ${facts.prefix.tokens}-token prefixes`;
    return `Prompts: ${facts.prompts} generated ${shape}${prefix}, ${spread}`.replace("  ", " ");
  }
  const files = facts.datasets!.map((dataset) => {
    const weight = facts.datasets!.length > 1 ? ` (weight ${dataset.weight})` : "";
    const dropped = describeDropped(dataset);
    return `${dataset.path}${weight}: ${dataset.kept} of ${dataset.read} rows` +
      (dropped === "none" ? "" : `, dropped ${dropped}`);
  });
  return `Dataset ${files.join("; ")}; ${spread}`;
}

function describeDropped(dataset: DatasetFacts): string {
  const { empty, overContext, unreadable } = dataset.dropped;
  const parts = [
    empty > 0 ? `${empty} empty` : "",
    overContext > 0 ? `${overContext} over --max-context` : "",
    unreadable > 0 ? `${unreadable} unreadable (no human turn)` : "",
  ].filter((part) => part !== "");
  return parts.length === 0 ? "none" : parts.join(", ");
}
