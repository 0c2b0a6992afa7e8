/**
 * `llmload merge`: the results of a distributed run's shards (`--shard I/N`) as one process
 * would have produced them. Counts and sums are added, the HDR histograms merged bucket by
 * bucket (so percentiles are those of one histogram of every request), and rates computed over
 * the union of the shards' windows. Merging merged files gives the same as merging the shards at
 * once. Pure: files are read and written by `cli/merge.ts`.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { displayScale, METRIC_NAMES, type MetricName } from "../stats/metrics.ts";
import type { MetricDelta } from "../stats/histogram.ts";
import type { StatsDelta } from "../stats/types.ts";
import type { ClientSummary } from "../run/client_monitor.ts";
import type { RunConfig } from "../options/types.ts";
import {
  buildResults,
  type CutOff,
  type MetricResult,
  type Results,
  RESULTS_SCHEMA_VERSION,
  type ShardsInfo,
} from "./results.ts";

/** One results file to merge, with the name messages call it by. */
export interface NamedResults {
  /** The file's path, for messages. */
  readonly name: string;
  /** Its parsed content. */
  readonly results: Results;
}

/** Settings of {@linkcode mergeResults}. */
export interface MergeOptions {
  /** Merge even when the shards' configurations differ (a warning says how). */
  readonly force?: boolean;
}

/**
 * Config fields that may differ between the shards of one run: which shard a process is, and
 * where it writes its own outputs (each shard its own `--json` path, say).
 */
const PER_SHARD_FIELDS: readonly string[] = [
  "shard",
  "jsonFile",
  "htmlFile",
  "summaryFile",
  "serve",
  "serveLingerMs",
  "showResponse",
];

/** How warnings this module adds begin, so a merge of merged files can make them afresh. */
const MERGE_PREFIX = "Merge: ";

/**
 * Merges the results of shards of one run. Throws a `UsageError` naming the files for results
 * of another tool, schema or llmload version, of another run (shard count or `--start-at`), of a
 * run without `--shard`, for a shard given twice, and for configurations that differ unless
 * `force`. A missing shard is a warning in the merged results.
 *
 * @example
 * ```ts
 * const merged = mergeResults([{ name: "a.json", results: a }, { name: "b.json", results: b }]);
 * merged.requests.total === a.requests.total + b.requests.total; // true
 * ```
 */
export function mergeResults(files: readonly NamedResults[], options: MergeOptions = {}): Results {
  if (files.length === 0) throw new UsageError("Cannot merge: no results files given");
  files.forEach(checkOrigin);
  const sorted = [...files].sort((a, b) => shardsOf(a).indices[0] - shardsOf(b).indices[0]);
  const shards = mergedShards(sorted);
  const warnings = configWarnings(sorted, options.force ?? false);
  const missing = missingShards(shards);
  if (missing.length > 0) {
    warnings.push(
      `${MERGE_PREFIX}shard${missing.length === 1 ? "" : "s"} ${missing.join(", ")} of ` +
        `${shards.count} ${missing.length === 1 ? "is" : "are"} missing: these results hold ` +
        `${shards.indices.length} of the ${shards.count} shards' load`,
    );
  }
  const aggregate = new Aggregate();
  for (const { results } of sorted) aggregate.merge(statsOf(results));
  const first = sorted[0].results;
  const startedAt = Math.min(...sorted.map(({ results }) => Date.parse(results.startedAt)));
  const endedAt = Math.max(...sorted.map(({ results }) => Date.parse(results.endedAt)));
  const client = mergedClient(sorted.map(({ results }) => results.client));
  const cutOff = mergedCutOff(sorted.map(({ results }) => results.cutOff));
  return buildResults(aggregate, {
    provider: first.provider,
    model: first.model,
    config: mergedConfig(first.config),
    startedAt,
    endedAt,
    durationMs: endedAt - startedAt,
    partial: sorted.some(({ results }) => results.partial),
    ...(client === undefined ? {} : { client }),
    ...(cutOff === undefined ? {} : { cutOff }),
    ...(first.workload === undefined ? {} : { workload: first.workload }),
    shards,
    warnings: [...warnings, ...byShard(sorted.flatMap(carriedWarnings))],
  });
}

/**
 * The measurements of a results file as the encoded delta an `Aggregate` merges: the histograms
 * as written, count, min and max as written, the sum from the exact mean (a float product).
 */
function statsOf(results: Results): StatsDelta {
  const delta: StatsDelta = {
    metrics: metricDeltas(results.metrics, results.histograms),
    ok: results.requests.ok,
    failures: results.failures,
    tokens: results.tokens,
    capped: results.capped,
  };
  if (results.turns === undefined) return delta;
  const turns: Record<string, StatsDelta> = {};
  for (const turn of results.turns) {
    turns[String(turn.turn)] = {
      metrics: metricDeltas(turn.metrics, turn.histograms),
      ok: turn.requests.ok,
      // A turn's failures are kept by count only; the kind is the top level's business.
      failures: turn.requests.failed > 0
        ? { http_other: { count: turn.requests.failed, statuses: {}, messages: [] } }
        : {},
      tokens: { ...results.tokens, output: turn.tokens.output, prompt: turn.tokens.prompt },
      capped: 0,
    };
  }
  return { ...delta, turns };
}

function metricDeltas(
  metrics: Partial<Record<MetricName, MetricResult>>,
  histograms: Partial<Record<MetricName, string>>,
): Partial<Record<MetricName, MetricDelta>> {
  const deltas: Partial<Record<MetricName, MetricDelta>> = {};
  for (const name of METRIC_NAMES) {
    const metric = metrics[name];
    const histogram = histograms[name];
    if (metric === undefined || histogram === undefined) continue;
    const scale = displayScale(name);
    deltas[name] = {
      histogram,
      count: metric.count,
      sum: metric.mean * metric.count * scale,
      min: metric.min * scale,
      max: metric.max * scale,
    };
  }
  return deltas;
}

/** Refuses a file of another tool, layout or version, or of a run without `--shard`. */
function checkOrigin(file: NamedResults, _index: number, files: readonly NamedResults[]): void {
  const { name, results } = file;
  const tool = results?.tool;
  if (tool?.name !== "llmload") {
    throw new UsageError(
      `Cannot merge ${name}: it was not written by llmload (tool ${tool?.name ?? "missing"}); ` +
        `merge the --json files of llmload runs`,
    );
  }
  if (results.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new UsageError(
      `Cannot merge ${name}: results schema ${results.schemaVersion}, this llmload reads ` +
        `schema ${RESULTS_SCHEMA_VERSION}; merge it with the llmload version that wrote it`,
    );
  }
  const reference = files[0].results.tool.version;
  if (tool.version !== reference) {
    throw new UsageError(
      `Cannot merge ${name} (llmload ${tool.version}) with ${files[0].name} (llmload ` +
        `${reference}): different versions measure differently; run every shard with one version`,
    );
  }
  if (results.shards === undefined) {
    throw new UsageError(
      `Cannot merge ${name}: it is not a shard's results (no shards section); merge the --json ` +
        `files of one run started with --shard I/N --start-at TIME`,
    );
  }
}

function shardsOf(file: NamedResults): ShardsInfo {
  return file.results.shards!;
}

/** The shards the files hold together; refuses files of different runs and a shard twice. */
function mergedShards(files: readonly NamedResults[]): ShardsInfo {
  const first = shardsOf(files[0]);
  const owner = new Map<number, string>();
  for (const file of files) {
    const shards = shardsOf(file);
    if (shards.count !== first.count || shards.startAt !== first.startAt) {
      throw new UsageError(
        `Cannot merge ${file.name} with ${files[0].name}: they are of different runs ` +
          `(${shards.count} shards from ${shards.startAt} against ${first.count} shards from ` +
          `${first.startAt}); merge the shards of one --shard I/N --start-at run`,
      );
    }
    for (const index of shards.indices) {
      const before = owner.get(index);
      if (before !== undefined) {
        throw new UsageError(
          `Cannot merge: shard ${index} is in both ${before} and ${file.name}, and would count ` +
            `its requests twice; give each shard once`,
        );
      }
      owner.set(index, file.name);
    }
  }
  return {
    count: first.count,
    indices: [...owner.keys()].sort((a, b) => a - b),
    startAt: first.startAt,
  };
}

function missingShards(shards: ShardsInfo): number[] {
  const held = new Set(shards.indices);
  return Array.from({ length: shards.count }, (_, index) => index).filter((i) => !held.has(i));
}

/**
 * Differences between the files' configurations, beyond the per-shard fields: refused, or with
 * `force` one warning naming each field.
 */
function configWarnings(files: readonly NamedResults[], force: boolean): string[] {
  const reference = files[0];
  const differences: string[] = [];
  for (const file of files.slice(1)) {
    const keys = new Set([
      ...Object.keys(reference.results.config),
      ...Object.keys(file.results.config),
    ]);
    for (const key of [...keys].sort()) {
      if (PER_SHARD_FIELDS.includes(key)) continue;
      const ours = JSON.stringify(configField(reference.results, key));
      const theirs = JSON.stringify(configField(file.results, key));
      if (ours !== theirs) {
        differences.push(
          `${key} (${ours ?? "unset"} in ${reference.name}, ${theirs ?? "unset"} in ${file.name})`,
        );
      }
    }
  }
  if (differences.length === 0) return [];
  const what = `the shards' configurations differ: ${differences.join("; ")}`;
  if (!force) {
    throw new UsageError(
      `Cannot merge: ${what}; shards of one run share their settings, pass --force to merge ` +
        `anyway`,
    );
  }
  return [`${MERGE_PREFIX}merged with --force although ${what}`];
}

function configField(results: Results, key: string): unknown {
  return (results.config as Record<string, unknown>)[key];
}

/** The first file's config without the fields that are one shard's own. */
function mergedConfig(config: Results["config"]): RunConfig {
  const copy: Record<string, unknown> = { ...config };
  for (const key of PER_SHARD_FIELDS) delete copy[key];
  return copy as unknown as RunConfig;
}

/** A file's own warnings, each under its shard; the merge's own warnings are made afresh. */
function carriedWarnings(file: NamedResults): string[] {
  const { indices } = shardsOf(file);
  const own = file.results.warnings.filter((warning) => !warning.startsWith(MERGE_PREFIX));
  return indices.length === 1 ? own.map((warning) => `Shard ${indices[0]}: ${warning}`) : own;
}

/** Warnings in shard order whichever way the files were grouped, so that merges associate. */
function byShard(warnings: readonly string[]): string[] {
  const shardOf = (warning: string) => Number(/^Shard (\d+): /.exec(warning)?.[1] ?? -1);
  return warnings.toSorted((a, b) => shardOf(a) - shardOf(b));
}

/** The worst client verdict and peaks, the samples added; absent when no file has one. */
function mergedClient(clients: readonly (ClientSummary | undefined)[]): ClientSummary | undefined {
  const known = clients.filter((client) => client !== undefined);
  if (known.length === 0) return undefined;
  const worst = known.find((client) => client.verdict === "cpu-bound") ??
    known.find((client) => client.verdict === "delayed") ?? known[0];
  const sum = (pick: (client: ClientSummary) => number) =>
    known.reduce((total, client) => total + pick(client), 0);
  const peak = (pick: (client: ClientSummary) => number) => Math.max(...known.map(pick));
  return {
    verdict: worst.verdict,
    peakCpu: peak((client) => client.peakCpu),
    peakLoopLagMs: peak((client) => client.peakLoopLagMs),
    saturatedSamples: sum((client) => client.saturatedSamples),
    delayedSamples: sum((client) => client.delayedSamples),
    peakDelayMs: peak((client) => client.peakDelayMs),
    samples: sum((client) => client.samples),
  };
}

/** Requests cut off over all files, with the shortest and longest wait. */
function mergedCutOff(cutOffs: readonly (CutOff | undefined)[]): CutOff | undefined {
  const known = cutOffs.filter((cutOff) => cutOff !== undefined);
  if (known.length === 0) return undefined;
  return {
    requests: known.reduce((total, cutOff) => total + cutOff.requests, 0),
    minWaitMs: Math.min(...known.map((cutOff) => cutOff.minWaitMs)),
    maxWaitMs: Math.max(...known.map((cutOff) => cutOff.maxWaitMs)),
  };
}
