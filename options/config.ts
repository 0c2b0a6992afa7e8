/**
 * How settings from every source become a validated, frozen {@link RunConfig}. Sources, highest
 * first: command-line flag, `LLMLOAD_*` environment variable, config file (`key = value` lines),
 * then the default. The fields of the option table (`options/table.ts`) are filled by walking it;
 * the few that need more than one option's value are built here, and so are the checks of
 * options that are valid alone but not together. Pure apart from reading a `--prompt-text @file`
 * through an injected reader.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { MAX_DURATION_MS, MAX_DURATION_TEXT } from "./duration.ts";
import { fileErrorReason, readUtf8File } from "./files.ts";
import { datasetChoice } from "./dataset_parsers.ts";
import { apiKeyValue, boolean, header, hostUrl, Rejected, text, wholeNumber } from "./parsers.ts";
import { threshold } from "./goal_parsers.ts";
import { needsSlo } from "../stats/thresholds.ts";
import { tag } from "./history_parsers.ts";
import { shardFromEnv, type ShardSpec } from "./shard_parsers.ts";
import { describeSetting, describeValue, place, validated } from "./settings.ts";
import type { FlagValues, RawSetting, SettingLayer } from "./settings.ts";
import { parseConfigFile, settingsFromEnv, settingsFromFlags } from "./sources.ts";
import { defaultsOf } from "./spec.ts";
import { RUN_OPTIONS } from "./table.ts";
import type { RunConfig, TableFields } from "./types.ts";

/** Sources {@link resolveRunConfig} reads besides the flags. */
export interface ResolveOptions {
  /** Environment variables (`LLMLOAD_*`, `OPENAI_API_KEY`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Text of the config file, if there is one. */
  readonly configText?: string;
  /** Name of the config file, for messages. Default `llmload.conf`. */
  readonly configPath?: string;
  /** Reads a `--prompt-text @file`. Default `readUtf8File` (`options/files.ts`). */
  readonly readTextFile?: (path: string) => string;
  /** Defaults to use instead of the table's, by option name (see `DEMO_DEFAULTS` in `options/table.ts`). */
  readonly defaults?: Readonly<Record<string, string>>;
  /** CPU cores, which bound `--workers`. Default `navigator.hardwareConcurrency`. */
  readonly cores?: number;
  /** Receives each warning about a setting that is used, but not as written. Default: dropped. */
  readonly warn?: (message: string) => void;
}

/** `--workers` may be at most this many times the CPU cores. */
export const WORKERS_PER_CORE = 4;

/**
 * Turns command-line flags, environment and config file into a validated, frozen
 * {@link RunConfig}. For each option the highest source that has it wins: flag, then
 * `LLMLOAD_*`, then the config file, then the default; a repeatable option takes all its items
 * from that one source. The API key falls back to `OPENAI_API_KEY` only when no llmload source
 * names one, so a key meant for another provider is not replaced by a global OpenAI key.
 * Every value gets the same validation wherever it came from; a bad one throws a
 * {@link UsageError} naming the option, the value, the source and what is accepted.
 *
 * @example
 * ```ts
 * const config = resolveRunConfig({ users: "8" }, { env: { LLMLOAD_MAX_TOKENS: "128" } });
 * config.users; // 8
 * config.maxTokens; // 128
 * ```
 */
export function resolveRunConfig(flags: FlagValues, options: ResolveOptions = {}): RunConfig {
  const env = options.env ?? {};
  const layers: SettingLayer[] = [
    settingsFromFlags(flags),
    settingsFromEnv(env),
    options.configText === undefined
      ? new Map()
      : parseConfigFile(options.configText, { path: options.configPath }),
  ];
  const defaults = { ...defaultsOf(RUN_OPTIONS), ...options.defaults };
  const readTextFile = options.readTextFile ?? readUtf8File;
  const warn = options.warn ?? (() => {});

  function setting(name: string): readonly RawSetting[] | undefined {
    for (const layer of layers) {
      const found = layer.get(name);
      if (found !== undefined) return found;
    }
    const fallback = defaults[name];
    if (fallback === undefined) return undefined;
    return [{ value: fallback, label: `--${name}`, where: "default" }];
  }

  const qps = setting("qps")?.[0];
  const burst = setting("burst")?.[0];
  if (qps !== undefined && burst !== undefined) {
    throw new UsageError(
      `Cannot use ${describeSetting(burst)} together with ${describeSetting(qps)}: ` +
        `--burst paces fixed users and --qps sets a fixed rate, choose one`,
    );
  }

  const headers = headersOf(setting("header") ?? []);
  const tagItems = setting("tag");
  const tags = tagItems === undefined ? undefined : Object.freeze(
    Object.fromEntries(tagItems.map((item) => validated(item, tag))),
  );
  const keySetting = setting("api-key")?.[0];
  let apiKey = keySetting === undefined ? undefined : validated(keySetting, apiKeyValue);
  const authorization = Object.keys(headers).find((name) => name.toLowerCase() === "authorization");
  if (authorization !== undefined && keySetting !== undefined) {
    // The key would silently replace the header (it is sent as Authorization too).
    throw new UsageError(
      `Cannot use ${describeSetting(keySetting)} together with an Authorization header from ` +
        `${describeSetting(setting("header")![0])}: both set Authorization, give only one`,
    );
  }
  if (apiKey === undefined && env.OPENAI_API_KEY && authorization === undefined) {
    const fallback = { value: env.OPENAI_API_KEY, label: "OPENAI_API_KEY", where: "environment" };
    apiKey = validated(fallback, apiKeyValue);
  }

  const promptSetting = setting("prompt-text")?.[0];
  const promptText = promptSetting === undefined
    ? undefined
    : readPrompt(promptSetting, readTextFile);

  const datasetItems = setting("dataset");
  const datasets = datasetItems === undefined
    ? undefined
    : Object.freeze(datasetItems.map((item) => validated(item, datasetChoice)));

  const caSetting = setting("ca-cert")?.[0];
  const caCerts = caSetting === undefined ? undefined : [readCaCerts(caSetting, readTextFile)];

  const hostSetting = setting("host")![0];
  let host = validated(hostSetting, hostUrl);
  if (/\/v1$/i.test(host)) {
    // The usual OpenAI base URL ends in /v1, but llmload appends /v1/... itself.
    const trimmed = host.slice(0, -"/v1".length);
    warn(
      `${describeSetting(hostSetting)} ends in /v1, which llmload adds itself (as in ` +
        `/v1/completions): using ${trimmed}`,
    );
    host = trimmed;
  }

  const thresholdItems = setting("threshold");
  const thresholds = thresholdItems === undefined
    ? undefined
    : Object.freeze(thresholdItems.map((item) => validated(item, threshold)));

  const fields = stagedFields(tableFields(setting), setting);
  const { spawnRate } = fields;
  // With --stages, the shards must hold the largest stage's users, not only the first one's.
  const users = Math.max(fields.users, ...(fields.stages ?? []).map((stage) => stage.users ?? 0));
  const cores = Math.max(1, Math.floor(options.cores ?? navigator.hardwareConcurrency));
  const workerSetting = setting("workers")![0];
  let workers = validated(workerSetting, wholeNumber(0));
  if (workers > WORKERS_PER_CORE * cores) {
    throw new UsageError(
      `Invalid ${describeValue(workerSetting)}: expected at most ${WORKERS_PER_CORE * cores} ` +
        `(${WORKERS_PER_CORE} per CPU core, ${cores} cores here), or 0 to pick from the cores`,
    );
  }
  if (workers > users) {
    // A shard runs whole users (or its share of the in-flight cap); one without any only costs.
    warn(
      `${describeSetting(workerSetting)} ${workers} is more than the ${users} users of -u: ` +
        `using ${users} workers`,
    );
    workers = users;
  }
  const lastSpawnMs = ((users - 1) * 1000) / spawnRate;
  if (lastSpawnMs > MAX_DURATION_MS) {
    throw new UsageError(
      `Invalid ${describeValue(setting("spawn-rate")![0])}: the last of ${users} users would ` +
        `start after ${Math.round(lastSpawnMs / 86_400_000)} days, expected ${MAX_DURATION_TEXT}`,
    );
  }

  const shard = shardOf(setting, env) ?? fields.shard;
  const config: RunConfig = {
    host,
    apiKey,
    headers: Object.freeze(headers),
    tags,
    promptText,
    datasets,
    caCerts,
    workers,
    thresholds,
    ...fields,
    ...documentLength(fields),
    // --api chat and --api responses send chat messages, as --chat does.
    chat: fields.chat || (fields.api !== undefined && fields.api !== "completions"),
    shard,
  };
  checkTogether(config, setting, warn);
  // Unset options are left out rather than present as `undefined`, so the config prints,
  // compares and posts to Workers without noise.
  for (const key of Object.keys(config) as (keyof RunConfig)[]) {
    if (config[key] === undefined) delete (config as Partial<RunConfig>)[key];
  }
  return Object.freeze(config);
}

/**
 * The fields of the table's options that have a `key`, in table order: each one's value parsed
 * from the highest source that has it, absent when none has it and there is no default.
 */
function tableFields(setting: (name: string) => readonly RawSetting[] | undefined): TableFields {
  const fields: Record<string, unknown> = {};
  for (const spec of RUN_OPTIONS) {
    if (spec.key === undefined) continue;
    const found = setting(spec.name);
    if (found !== undefined) fields[spec.key] = validated(found[0], spec.parse);
  }
  // The table types each field by its parser; options/types.ts derives the same type from it.
  return fields as TableFields;
}

/** Settings that are valid alone but not together: errors, or warnings for what is ignored. */
function checkTogether(
  config: RunConfig,
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
): void {
  const { warmupMs, runTimeMs } = config;
  if (warmupMs !== undefined && warmupMs > 0 && runTimeMs !== undefined && warmupMs >= runTimeMs) {
    throw new UsageError(
      `Cannot use ${describeSetting(setting("warmup")![0])} ${formatMs(warmupMs)} with ` +
        `${describeSetting(setting("run-time")![0])} ${formatMs(runTimeMs)}: the statistics ` +
        `would reset when the run ends and nothing would be measured; make --warmup shorter ` +
        `than -t`,
    );
  }
  if (config.insecure && config.transport === "fetch") {
    throw new UsageError(
      `Cannot use --insecure with ${describeSetting(setting("transport")![0])} fetch: Deno's ` +
        `fetch always verifies certificates; use --transport node or http1 (which hands ` +
        `--insecure runs to node), or trust the server's CA with --ca-cert`,
    );
  }
  checkTrace(config, setting, warn);
  checkShard(config, warn);
  checkWorkload(config, setting, warn);
  checkSessions(config, setting, warn);
  checkGoals(config, setting, warn);
  checkMode(config, setting, warn);
  checkChatFeatures(config, setting, warn);
  if (config.serveLingerMs !== undefined && config.serve === undefined) {
    warn(
      `${describeSetting(setting("serve-linger")![0])} is ignored without --serve: there is no ` +
        `results server to keep up`,
    );
  }
}

/**
 * The shard `--shard-from-env` reads from the orchestrator's variables; `undefined` without the
 * switch. Refused together with `--shard`, which would say otherwise.
 */
function shardOf(
  setting: (name: string) => readonly RawSetting[] | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ShardSpec | undefined {
  const fromEnv = setting("shard-from-env")![0];
  if (!validated(fromEnv, boolean)) return undefined;
  const given = setting("shard")?.[0];
  if (given !== undefined) {
    throw new UsageError(
      `Cannot use ${describeSetting(given)} together with ${describeSetting(fromEnv)}: ` +
        `both say which shard this process is, give only one`,
    );
  }
  try {
    return shardFromEnv(env);
  } catch (error) {
    if (!(error instanceof Rejected)) throw error;
    throw new UsageError(`Cannot use ${describeSetting(fromEnv)}: expected ${error.message}`);
  }
}

/** Shards of one run must share their start; the steady-state warm-up differs per process. */
function checkShard(config: RunConfig, warn: (message: string) => void): void {
  if (config.shard === undefined) return;
  const { index, count } = config.shard;
  if (config.startAt === undefined) {
    throw new UsageError(
      `Cannot use --shard ${index}/${count} without --start-at: the shards of one run must ` +
        `begin on the same instant; pass the same --start-at to each, such as ` +
        `2026-12-02T18:00:00Z or epoch milliseconds`,
    );
  }
  if (config.warmupMs === undefined) {
    warn(
      `--shard ${index}/${count} without --warmup: each process resets its statistics when its ` +
        `own load is steady, so the shards' windows differ; pass --warmup 30s (or 0) to reset ` +
        `all of them at the same instant`,
    );
  }
}

/** Options a `--trace` replaces: each request's lengths and prompt come from the trace. */
const TRACE_REPLACES = [
  "prompt-tokens",
  "prompt-tokens-distribution",
  "prefix-tokens",
  "prompt-text",
  "prompt-randomize",
  "max-tokens",
  "max-tokens-distribution",
  "max-tokens-range",
  "max-tokens-cap",
  "max-tokens-jitter",
];

/** What `--trace` cannot go with, and what it makes pointless. */
function checkTrace(
  config: RunConfig,
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
): void {
  const given = (name: string) => givenSetting(setting, name);
  if (config.traceFile === undefined) {
    warnIgnored(
      setting,
      warn,
      ["trace-speed", "trace-window"],
      "without --trace: there is no trace",
    );
    return;
  }
  const trace = describeSetting(setting("trace")![0]);
  for (const name of ["qps", "burst"]) {
    const found = given(name);
    if (found === undefined) continue;
    throw new UsageError(
      `Cannot use ${describeSetting(found)} together with ${trace}: the trace sets when each ` +
        `request is sent, choose one (-u caps requests in flight with --trace)`,
    );
  }
  const dataset = given("dataset");
  if (dataset !== undefined) {
    throw new UsageError(
      `Cannot use ${describeSetting(dataset)} together with ${trace}: both give the prompts, ` +
        `choose one`,
    );
  }
  warnIgnored(
    setting,
    warn,
    TRACE_REPLACES,
    `with ${trace}: the trace sets each request's prompt and output lengths`,
  );
}

/** The setting of `name` when a source gave it, not its default. */
function givenSetting(
  setting: (name: string) => readonly RawSetting[] | undefined,
  name: string,
): RawSetting | undefined {
  const found = setting(name)?.[0];
  return found !== undefined && found.where !== "default" ? found : undefined;
}

/** Warns `<setting> is ignored <why>` for each of `names` that a source gave. */
function warnIgnored(
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
  names: readonly string[],
  why: string,
): void {
  for (const name of names) {
    const found = givenSetting(setting, name);
    if (found) warn(`${describeSetting(found)} is ignored ${why}`);
  }
}

/** The prompt options: one source of prompts, and the options that only shape another. */
function checkWorkload(
  config: RunConfig,
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
): void {
  const dataset = setting("dataset")?.[0];
  const promptText = setting("prompt-text")?.[0];
  const distributed = config.promptTokensDistribution !== "constant";
  const lengths = setting("prompt-tokens-distribution")![0];
  if (dataset !== undefined && promptText !== undefined) {
    throw new UsageError(
      `Cannot use ${describeSetting(dataset)} together with ${describeSetting(promptText)}: ` +
        `both give the prompts, choose one`,
    );
  }
  const fixed = dataset ?? promptText;
  const prefix = setting("prefix-tokens")?.[0];
  if (prefix !== undefined && fixed !== undefined) {
    throw new UsageError(
      `Cannot use ${describeSetting(prefix)} with ${describeSetting(fixed)}: shared prefixes ` +
        `start generated prompts only; leave out --prefix-tokens or ${fixed.label}`,
    );
  }
  if (config.prefixTokens !== undefined && config.prefixTokens >= config.promptTokens) {
    throw new UsageError(
      `Cannot use ${describeSetting(prefix!)} with ${
        describeSetting(setting("prompt-tokens")![0])
      }: ` +
        `the prefix is part of the prompt, expected --prefix-tokens below -p`,
    );
  }
  if (prefix !== undefined && config.tokenizer === "server") {
    throw new UsageError(
      `Cannot use ${describeSetting(prefix)} with --tokenizer server: pass --tokenizer with the ` +
        `model's tokenizer.json`,
    );
  }
  if (prefix === undefined) {
    warnIgnored(setting, warn, ["prefix-groups"], "without --prefix-tokens");
  }
  if (fixed !== undefined && distributed) {
    throw new UsageError(
      `Cannot use ${describeSetting(lengths)} with ${describeSetting(fixed)}: only generated ` +
        `prompts have drawn lengths; leave out --prompt-tokens-distribution or ${fixed.label}`,
    );
  }
  if (distributed && config.tokenizer === "server") {
    throw new UsageError(
      `Cannot use ${describeSetting(lengths)} with --tokenizer server: each of its prompts ` +
        `would take round trips to the server's tokenizer; pass --tokenizer with the model's ` +
        `tokenizer.json`,
    );
  }
  if (dataset === undefined) {
    warnIgnored(
      setting,
      warn,
      ["dataset-field", "dataset-shuffle", "dataset-limit", "dataset-max-tokens", "max-context"],
      "without --dataset",
    );
  } else if (config.promptRandomize) {
    warn(
      `${describeSetting(setting("prompt-randomize")![0])} is ignored with --dataset: ` +
        `dataset prompts are sent as written`,
    );
  }
}

function formatMs(ms: number): string {
  return `${ms / 1000}s`;
}

function readPrompt(setting: RawSetting, readTextFile: (path: string) => string): string {
  const value = validated(setting, text);
  if (!value.startsWith("@")) return value;
  const path = value.slice(1);
  if (path === "") {
    throw new UsageError(`Invalid ${describeValue(setting)}: expected text or @file`);
  }
  const prompt = readSettingFile(setting, path, readTextFile);
  if (prompt.trim() === "") {
    throw new UsageError(
      `Invalid ${setting.label} file '${path}'${place(setting)}: it is empty, expected a ` +
        `non-empty prompt`,
    );
  }
  return prompt;
}

/** The PEM text of a `--ca-cert` file: read whole, and refused without a certificate in it. */
function readCaCerts(setting: RawSetting, readTextFile: (path: string) => string): string {
  const path = validated(setting, text);
  const pem = readSettingFile(setting, path, readTextFile);
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UsageError(
      `Invalid ${setting.label} file '${path}'${place(setting)}: no certificate in it, expected ` +
        `PEM text with -----BEGIN CERTIFICATE----- blocks`,
    );
  }
  return pem;
}

/** The text of the file `path` that `setting` names; a `UsageError` when it cannot be read. */
function readSettingFile(
  setting: RawSetting,
  path: string,
  readTextFile: (path: string) => string,
): string {
  try {
    return readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `Cannot read ${setting.label} file '${path}'${place(setting)}: ${fileErrorReason(error)}`,
    );
  }
}

function headersOf(items: readonly RawSetting[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of items) {
    const [name, value] = validated(item, header);
    // Header names are case-insensitive: a later `x-a` replaces an earlier `X-A`.
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    }
    headers[name] = value;
  }
  return headers;
}

/**
 * `--api`, `--images`, `--reasoning-effort` and `--cancel-rate`: images and reasoning effort
 * need a chat API, `--api completions` clashes with `--chat`, cancelling needs a stream.
 */
function checkChatFeatures(
  config: RunConfig,
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
): void {
  const api = givenSetting(setting, "api");
  const chat = givenSetting(setting, "chat");
  if (config.api === "completions" && chat !== undefined && config.chat) {
    throw new UsageError(
      `Cannot use ${describeSetting(api!)} completions together with ${describeSetting(chat)}: ` +
        `--chat calls the chat API; give --api chat, or leave out --chat`,
    );
  }
  if (config.api === "responses") {
    const why: Readonly<Record<string, string>> = {
      n: "the Responses API generates one reply per request",
      logprobs: "llmload reads no logprobs from the Responses API",
    };
    for (const name of ["n", "logprobs"]) {
      const found = givenSetting(setting, name);
      if (found === undefined || (name === "n" && config.n === 1)) continue;
      throw new UsageError(
        `Cannot use ${describeSetting(found)} with ${describeSetting(api!)} responses: ` +
          `${why[name]}; leave it out, or use --api chat`,
      );
    }
  }
  const needsChat = ["images", "reasoning-effort"].map((name) => givenSetting(setting, name));
  for (const found of needsChat) {
    if (found === undefined || config.chat) continue;
    throw new UsageError(
      `Cannot use ${describeSetting(found)} with the completions API: it goes in chat ` +
        `messages or the Responses API; add --chat, or --api chat or --api responses`,
    );
  }
  if (config.images === undefined) {
    warnIgnored(setting, warn, ["images-per-request", "images-position"], "without --images");
  }
  const cancel = givenSetting(setting, "cancel-rate");
  if (cancel !== undefined && (config.cancelRate ?? 0) > 0 && !config.stream) {
    throw new UsageError(
      `Cannot use ${describeSetting(cancel)} with --no-stream: a request is cancelled after ` +
        `its first streamed token; leave out --no-stream`,
    );
  }
}

/** Multi-turn sessions (`--turns`, `--dataset-sessions`): chat only, and paced by their users. */
function checkSessions(
  config: RunConfig,
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
): void {
  const asked = givenSetting(setting, "turns") ??
    (config.datasetSessions ? givenSetting(setting, "dataset-sessions") : undefined);
  if (asked === undefined) {
    warnIgnored(setting, warn, ["think-time"], "without --turns or --dataset-sessions");
    return;
  }
  const sessions = describeSetting(asked);
  if (config.datasetSessions && config.datasets === undefined) {
    throw new UsageError(
      `Cannot use ${sessions} without --dataset: there are no conversations to play; give a ` +
        `--dataset, or --turns N for generated turns`,
    );
  }
  if (!config.chat) {
    throw new UsageError(
      `Cannot use ${sessions} without --chat: a session sends its history (each user turn ` +
        `and the answer it got) as chat messages, which only the chat API takes; add --chat`,
    );
  }
  for (const name of ["trace", "burst"]) {
    const found = givenSetting(setting, name);
    if (found === undefined) continue;
    throw new UsageError(
      `Cannot use ${describeSetting(found)} together with ${sessions}: a session's turns ` +
        `follow its answers and --think-time; use -u for closed-loop users or --qps for ` +
        `session starts per second`,
    );
  }
}

/**
 * The fields with `--stages` applied: the first stage's users (or QPS target) to start with, and
 * the stages' total as the run time. A `UsageError` when another option sets the same.
 */
function stagedFields(
  fields: TableFields,
  setting: (name: string) => readonly RawSetting[] | undefined,
): TableFields {
  const { stages } = fields;
  if (stages === undefined) return fields;
  const staged = describeSetting(setting("stages")![0]);
  const byQps = stages[0].qps !== undefined;
  const clashing = byQps
    ? ["run-time", "qps", "burst", "trace"]
    : ["run-time", "users", "qps", "trace"];
  for (const name of clashing) {
    const found = givenSetting(setting, name);
    if (found === undefined) continue;
    throw new UsageError(
      `Cannot use ${describeSetting(found)} together with ${staged}: the stages set the ` +
        `${byQps ? "QPS target" : "users"} and the run time, drop one`,
    );
  }
  const runTimeMs = stages.reduce((sum, stage) => sum + stage.durationMs, 0);
  return byQps
    ? { ...fields, qps: stages[0].qps, runTimeMs }
    : { ...fields, users: stages[0].users!, runTimeMs };
}

/** What `--slo`, `--threshold` and `--abort-on-threshold` need of each other and of the run. */
function checkGoals(
  config: RunConfig,
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
): void {
  const sloSetting = givenSetting(setting, "slo");
  const streamed = config.slo?.filter((bound) => bound.metric !== "e2e") ?? [];
  if (sloSetting !== undefined && !config.stream && streamed.length > 0) {
    throw new UsageError(
      `Cannot use ${describeSetting(sloSetting)} with --no-stream: its ${streamed[0].metric} ` +
        `bound needs the streamed tokens' times; stream, or bound only e2e`,
    );
  }
  const unjudged = config.slo === undefined
    ? config.thresholds?.find((item) => needsSlo(item.figure))
    : undefined;
  if (unjudged !== undefined) {
    throw new UsageError(
      `Cannot use --threshold ${unjudged.text} without --slo: goodput and attainment count ` +
        `the requests that meet an SLO; add --slo such as ttft<=500ms,e2e<=20s`,
    );
  }
  if (config.thresholds === undefined) {
    warnIgnored(setting, warn, ["abort-on-threshold"], "without --threshold");
  }
}

/** Options of `--mode embeddings` and of `--mode rerank`, which the other modes ignore. */
const MODE_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  embeddings: ["embeddings-batch-size", "embeddings-dimensions"],
  rerank: ["rerank-query", "num-documents", "tokens-per-document", "rerank-top-n"],
};

/** Options of text generation, which embeddings and rerank requests do not send. */
const GENERATION_OPTIONS = [
  "chat",
  "stream",
  "logprobs",
  "n",
  "temperature",
  "max-tokens",
  "max-tokens-distribution",
  "max-tokens-range",
  "max-tokens-cap",
  "max-tokens-jitter",
  "dataset-max-tokens",
];

/** In rerank mode `--tokens-per-document` is the length of each generated text (`-p`'s field). */
function documentLength(fields: TableFields): { promptTokens?: number } {
  return fields.mode === "rerank" && fields.tokensPerDocument !== undefined
    ? { promptTokens: fields.tokensPerDocument }
    : {};
}

/**
 * `--mode`: the options of the other modes are ignored (a warning), and embeddings and rerank
 * requests are single requests of texts, so sessions and traces cannot drive them.
 */
function checkMode(
  config: RunConfig,
  setting: (name: string) => readonly RawSetting[] | undefined,
  warn: (message: string) => void,
): void {
  const mode = config.mode;
  for (const [owner, names] of Object.entries(MODE_OPTIONS)) {
    if (owner !== mode) warnIgnored(setting, warn, names, `without --mode ${owner}`);
  }
  if (mode === "generate") return;
  const modeSetting = describeSetting(setting("mode")![0]);
  for (const name of ["turns", "dataset-sessions", "trace"]) {
    const found = givenSetting(setting, name);
    if (found === undefined) continue;
    throw new UsageError(
      `Cannot use ${describeSetting(found)} with ${modeSetting} ${mode}: it sends single ` +
        `requests of generated or dataset texts; leave out ${found.label} or use --mode generate`,
    );
  }
  const documents = givenSetting(setting, "tokens-per-document");
  const prompt = givenSetting(setting, "prompt-tokens");
  if (documents !== undefined && prompt !== undefined) {
    throw new UsageError(
      `Cannot use ${describeSetting(documents)} together with ${describeSetting(prompt)}: both ` +
        `set the length of each rerank document, choose one`,
    );
  }
  warnIgnored(
    setting,
    warn,
    GENERATION_OPTIONS,
    `with ${modeSetting} ${mode}: it generates no text`,
  );
}
