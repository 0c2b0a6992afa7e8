/**
 * Every llmload option in one table, and how a value from any source becomes a validated, frozen
 * {@link RunConfig}. Sources, highest first: command-line flag, `LLMLOAD_*` environment variable,
 * config file (`key = value` lines), then the default. Pure apart from reading a `--prompt-text
 * @file` through an injected reader.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { DURATION_FORMS, MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from "./duration.ts";
import { PROVIDER_NAMES } from "../providers/mod.ts";
import { maskUrl } from "../common/secrets.ts";
import type { ArrivalDistribution, LengthDistribution, RunConfig } from "./types.ts";
import type { TransportKind } from "../transport/types.ts";

/** Help group titles, in the order of the seed README's sections. */
export const OPTION_GROUPS = [
  "Target",
  "Rate of requests",
  "Workload",
  "Generation options",
  "Writing results",
  "Runtime",
] as const;

/** One of {@link OPTION_GROUPS}. */
export type OptionGroup = typeof OPTION_GROUPS[number];

/** One command-line option: its names, help line and default. */
export interface OptionSpec {
  /** Long name without dashes, e.g. `max-tokens`; also the config-file key. */
  readonly name: string;
  /** One-letter short flag, without the dash. */
  readonly short?: string;
  /** Placeholder of the value, e.g. `n`; absent for an on/off switch. */
  readonly value?: string;
  /** Whether the option may be given several times (each adds one item). */
  readonly repeatable?: boolean;
  /** Help of the switch's `--no-` form; absent when it has none. */
  readonly negatedHelp?: string;
  /** Help group; absent for commands without groups. */
  readonly group?: OptionGroup;
  /** What it does and which values it accepts. */
  readonly help: string;
  /** The default, in the same text form a user would type (validated like user input). */
  readonly default?: string;
  /** What happens without the option, for help, when there is no default value. */
  readonly unset?: string;
}

/** The options of a load test (`llmload` and `llmload demo`), grouped as the help shows them. */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  {
    name: "host",
    short: "H",
    value: "url",
    group: "Target",
    help: "base URL of the server, before /v1/... (a trailing /v1 is dropped): an http:// or " +
      "https:// URL",
    default: "http://localhost:80",
  },
  {
    name: "model",
    short: "m",
    value: "name",
    group: "Target",
    help: "model to send requests to",
    unset: "the first model /v1/models lists",
  },
  {
    name: "provider",
    value: "name",
    group: "Target",
    help: "API dialect, such as openai, fireworks, vllm, tgi or triton-infer",
    unset: "guessed from the URL and /v1/models",
  },
  {
    name: "preflight",
    group: "Target",
    help: "before the run, probe what the server honours (streaming, usage, ignore_eos, " +
      "logprobs, chat) and report it",
    default: "false",
  },
  {
    name: "api-key",
    short: "k",
    value: "key",
    group: "Target",
    help: "sent as Authorization: Bearer <key>",
    unset: "$OPENAI_API_KEY if set, else none",
  },
  {
    name: "header",
    value: "name:value",
    repeatable: true,
    group: "Target",
    help: "extra request header; repeat for more, or one per line in LLMLOAD_HEADER",
    unset: "none",
  },
  {
    name: "users",
    short: "u",
    value: "n",
    group: "Rate of requests",
    help: "concurrent users, or the cap on requests in flight with --qps: a whole number >= 1",
    default: "1",
  },
  {
    name: "spawn-rate",
    short: "r",
    value: "n",
    group: "Rate of requests",
    help: "users started per second: a number > 0",
    default: "1",
  },
  {
    name: "burst",
    value: "seconds",
    group: "Rate of requests",
    help: "all users send together once every this many seconds: a number > 0; not with --qps",
    unset: "none",
  },
  {
    name: "qps",
    value: "n",
    group: "Rate of requests",
    help: "fixed rate of requests per second instead of closed-loop users: a number > 0, e.g. 0.5",
    unset: "none",
  },
  {
    name: "qps-distribution",
    value: "name",
    group: "Rate of requests",
    help: "spacing of requests with --qps: constant, uniform or exponential (Poisson)",
    default: "constant",
  },
  {
    name: "prompt-tokens",
    short: "p",
    value: "n",
    group: "Workload",
    help: "length of the generated prompt in tokens: a whole number >= 1",
    default: "512",
  },
  {
    name: "prompt-text",
    value: "text|@file",
    group: "Workload",
    help: "use this prompt instead of a generated one; @file reads it from a file",
    unset: "none",
  },
  {
    name: "prompt-randomize",
    group: "Workload",
    help: "pad the prompt with random single-token words so prefix caching cannot flatter the " +
      "server (same token count)",
    default: "false",
  },
  {
    name: "max-tokens",
    short: "o",
    value: "n",
    group: "Workload",
    help: "tokens to generate, the mean when the distribution is not constant: a whole number >= 1",
    default: "64",
  },
  {
    name: "max-tokens-distribution",
    value: "name",
    group: "Workload",
    help: "how each request's max tokens is drawn: constant, uniform, normal or exponential",
    default: "constant",
  },
  {
    name: "max-tokens-range",
    value: "alpha",
    group: "Workload",
    help: "width of the distribution relative to --max-tokens: a number >= 0",
    default: "0.3",
  },
  {
    name: "max-tokens-cap",
    value: "n",
    group: "Workload",
    help: "upper bound of the drawn max tokens (the lower bound is 1): a whole number >= 1",
    unset: "none",
  },
  {
    name: "tokenizer",
    value: "name|path",
    group: "Workload",
    help: "tokenizer for prompts and client-side counts: a tiktoken encoding (o200k_base, " +
      "cl100k_base), a Hugging Face tokenizer.json file or folder, or server (the server's own " +
      "tokenize endpoint: vllm, sglang, tgi, llamacpp)",
    default: "o200k_base",
  },
  {
    name: "chat",
    group: "Generation options",
    help: "call the chat API instead of raw completions",
    default: "false",
  },
  {
    name: "stream",
    negatedHelp: "wait for the whole response instead of streaming it",
    group: "Generation options",
    help: "stream the response, which gives time to first token and inter-token latency",
    default: "true",
  },
  {
    name: "logprobs",
    value: "n",
    group: "Generation options",
    help: "logprobs API parameter, which some providers need to count streamed tokens: " +
      "a whole number >= 0",
    unset: "not sent",
  },
  {
    name: "max-tokens-jitter",
    value: "n",
    group: "Generation options",
    help: "move each request's max tokens by a random whole number in [-n, n]: a whole number >= 0",
    default: "0",
  },
  {
    name: "temperature",
    value: "t",
    group: "Generation options",
    help: "sampling temperature: a number >= 0",
    default: "1.0",
  },
  {
    name: "n",
    short: "n",
    value: "n",
    group: "Generation options",
    help: "completions generated per request (n API parameter): a whole number >= 1",
    default: "1",
  },
  {
    name: "summary-file",
    value: "file",
    group: "Writing results",
    help: "append one CSV summary row to this file, writing the header first if it is new",
    unset: "none",
  },
  {
    name: "json",
    value: "file",
    group: "Writing results",
    help: "write the full results as JSON to this file",
    unset: "none",
  },
  {
    name: "html",
    value: "file",
    group: "Writing results",
    help: "write a self-contained HTML report (charts and tables, opens offline) to this file",
    unset: "none",
  },
  {
    name: "serve",
    value: "[host:]port",
    group: "Writing results",
    help: "serve live results (JSON, Prometheus /metrics, dashboard) on this address; " +
      "the host defaults to 127.0.0.1",
    unset: "not served",
  },
  {
    name: "serve-token",
    value: "token",
    group: "Writing results",
    help: "bearer token that POST /api/stop and /api/load require; without it they refuse",
    unset: "none: control routes refuse",
  },
  {
    name: "serve-linger",
    value: "duration",
    group: "Writing results",
    help: "keep serving the final results this long after the run, e.g. 30s",
    unset: "stop serving at the end",
  },
  {
    name: "run-time",
    short: "t",
    value: "duration",
    group: "Writing results",
    help: "how long to run, e.g. 30s, 5min or 1h30m",
    unset: "until Ctrl+C",
  },
  {
    name: "warmup",
    value: "duration",
    group: "Runtime",
    help: "reset the statistics after this long, e.g. 30s; 0 never resets",
    unset: "reset once the load is steady",
  },
  {
    name: "workers",
    value: "n",
    group: "Runtime",
    help: "worker threads that send requests, at most 4 per CPU core and no more than -u is " +
      "used; 0 picks from the CPU count: a whole number >= 0",
    default: "0",
  },
  {
    name: "transport",
    value: "name",
    group: "Runtime",
    help: "HTTP client: node (node:http, keep-alive) or fetch",
    default: "node",
  },
  {
    name: "timeout",
    value: "duration",
    group: "Runtime",
    help: "per-request timeout, e.g. 30s or 10min",
    default: "600s",
  },
  {
    name: "stop-grace",
    value: "duration",
    group: "Runtime",
    help: "how long requests in flight may finish after the run time or Ctrl+C, e.g. 10s",
    default: "10s",
  },
  {
    name: "max-fail-ratio",
    value: "ratio",
    group: "Runtime",
    help: "stop early once more than this fraction of requests failed (after 20 requests): " +
      "a number from 0 to 1",
    unset: "never",
  },
  {
    name: "max-requests",
    value: "n",
    group: "Runtime",
    help: "stop after this many requests completed or failed: a whole number >= 1",
    unset: "no limit",
  },
  {
    name: "keep-going",
    group: "Runtime",
    help: "send on even when the first 20 requests all fail the same way and none succeeds",
    default: "false",
  },
  {
    name: "show-response",
    group: "Runtime",
    help: "print each generated text, for debugging",
    default: "false",
  },
  {
    name: "seed",
    value: "n",
    group: "Runtime",
    help: "seed of the random source, for a reproducible workload: a whole number >= 0",
    unset: "random",
  },
  {
    name: "config",
    value: "file",
    group: "Runtime",
    help: "read settings from this file of key = value lines",
    unset: "./llmload.conf if it exists",
  },
];

/** Defaults `llmload demo` uses instead of the run defaults, by option name. */
export const DEMO_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  "run-time": "15s",
  users: "8",
  "spawn-rate": "8",
  stream: "true",
});

/** One value of one option as given, before validation, with where it came from. */
export interface RawSetting {
  /** The text given, or the state of a switch given as a flag. */
  readonly value: string | boolean;
  /** How the user named it: `--users`, `LLMLOAD_USERS` or the config-file key. */
  readonly label: string;
  /** Where it came from, for messages: `environment`, `llmload.conf line 3`; absent for flags. */
  readonly where?: string;
}

/**
 * Settings of one source by long option name. A repeatable option holds one entry per time it
 * was given; any other option holds exactly one.
 */
export type SettingLayer = ReadonlyMap<string, readonly RawSetting[]>;

/** Values given on the command line, by long option name (only the options actually given). */
export type FlagValues = Readonly<Record<string, string | boolean | readonly string[]>>;

/** Sources {@link resolveRunConfig} reads besides the flags. */
export interface ResolveOptions {
  /** Environment variables (`LLMLOAD_*`, `OPENAI_API_KEY`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Text of the config file, if there is one. */
  readonly configText?: string;
  /** Name of the config file, for messages. Default `llmload.conf`. */
  readonly configPath?: string;
  /** Reads a `--prompt-text @file`. Default `Deno.readTextFileSync`. */
  readonly readTextFile?: (path: string) => string;
  /** Defaults to use instead of the table's, by option name (see {@link DEMO_DEFAULTS}). */
  readonly defaults?: Readonly<Record<string, string>>;
  /** CPU cores, which bound `--workers`. Default `navigator.hardwareConcurrency`. */
  readonly cores?: number;
  /** Receives each warning about a setting that is used, but not as written. Default: dropped. */
  readonly warn?: (message: string) => void;
}

/** `--workers` may be at most this many times the CPU cores. */
export const WORKERS_PER_CORE = 4;

/**
 * `LLMLOAD_*` variables that are not options but are read by llmload's own scripts (install.sh,
 * the soak test), so they draw no "unknown variable" warning.
 */
const OTHER_LLMLOAD_VARIABLES = /^LLMLOAD_(?:INSTALL_[A-Z_]+|SOAK_MINUTES)$/;

const RUN_SPECS = new Map(RUN_OPTIONS.map((spec) => [spec.name, spec]));

/**
 * Name of the environment variable for an option: `LLMLOAD_` and the long name in upper snake
 * case.
 *
 * @example
 * ```ts
 * envVarName("max-tokens"); // "LLMLOAD_MAX_TOKENS"
 * ```
 */
export function envVarName(optionName: string): string {
  return `LLMLOAD_${optionName.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * Reads the `LLMLOAD_*` variables of the run options. Empty variables count as unset, as shells
 * make it easy to export an empty value by accident. `LLMLOAD_HEADER` holds one header per line.
 * `OPENAI_API_KEY` is not read here (see {@link resolveRunConfig}).
 */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): SettingLayer {
  const layer = new Map<string, RawSetting[]>();
  for (const spec of RUN_OPTIONS) {
    const label = envVarName(spec.name);
    const text = env[label];
    if (text === undefined || text === "") continue;
    const items = spec.repeatable ? text.split(/\r?\n/).filter((line) => line.trim()) : [text];
    if (items.length === 0) continue;
    layer.set(spec.name, items.map((value) => ({ value, label, where: "environment" })));
  }
  return layer;
}

/**
 * Warnings for `LLMLOAD_*` variables that name no option (a typo such as `LLMLOAD_USER` would
 * otherwise be ignored without a word), each with the nearest option's variable.
 *
 * @example
 * ```ts
 * unknownEnvWarnings({ LLMLOAD_USER: "8" });
 * // ["Unknown environment variable LLMLOAD_USER (ignored): did you mean LLMLOAD_USERS?"]
 * ```
 */
export function unknownEnvWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = new Set(RUN_OPTIONS.map((spec) => envVarName(spec.name)));
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("LLMLOAD_") || known.has(name) || OTHER_LLMLOAD_VARIABLES.test(name)) {
      continue;
    }
    const near = nearest(name.slice("LLMLOAD_".length).toLowerCase().replaceAll("_", "-"));
    warnings.push(
      `Unknown environment variable ${name} (ignored)` +
        (near === undefined ? ": see llmload --help" : `: did you mean ${envVarName(near)}?`),
    );
  }
  return warnings;
}

/** The run option whose name is nearest to `name` (a typo of it), if one is near enough. */
function nearest(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const spec of RUN_OPTIONS) {
    const distance = editDistance(name, spec.name);
    if (best === undefined || distance < best.distance) best = { name: spec.name, distance };
  }
  // Commander's own "did you mean" allows about a third of the word to differ; so does this.
  return best !== undefined && best.distance <= Math.max(1, Math.floor(name.length / 3))
    ? best.name
    : undefined;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * Parses a config file of `key = value` lines, like Locust's `locust.conf`: `#` starts a comment
 * line, blank lines are skipped, keys are long option names with dashes or underscores, switches
 * take `true` or `false`, `header` may repeat. A value may be wrapped in matching quotes to keep
 * surrounding spaces. An unknown key, a repeated key or a malformed line throws a
 * {@link UsageError} naming the file and line.
 *
 * @example
 * ```ts
 * parseConfigFile("users = 8\nmax_tokens = 128\n", { path: "llmload.conf" });
 * ```
 */
export function parseConfigFile(text: string, options: { path?: string } = {}): SettingLayer {
  const path = options.path ?? "llmload.conf";
  const layer = new Map<string, RawSetting[]>();
  const firstLine = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `${path} line ${lineNo}`;
    const match = /^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*)$/.exec(line);
    // The line itself stays out of the message: it may hold an API key.
    if (match === null) throw new UsageError(`Cannot parse ${where}: expected key = value`);
    const [, key, rawValue] = match;
    const name = key.replaceAll("_", "-");
    const spec = RUN_SPECS.get(name);
    if (spec === undefined || name === "config") {
      const near = name === "config" ? undefined : nearest(name);
      throw new UsageError(
        `Unknown key '${key}' in ${where}: ` +
          (near === undefined
            ? "expected a long option name such as max-tokens (see llmload --help)"
            : `did you mean ${near}?`),
      );
    }
    const value = unquote(rawValue);
    if (value === "") {
      throw new UsageError(`Cannot parse ${where}: expected a value after '${key} ='`);
    }
    const earlier = firstLine.get(name);
    if (earlier !== undefined && !spec.repeatable) {
      throw new UsageError(`Duplicate key '${key}' in ${where}: already set on line ${earlier}`);
    }
    firstLine.set(name, earlier ?? lineNo);
    const entries = layer.get(name) ?? [];
    entries.push({ value, label: key, where });
    layer.set(name, entries);
  }
  return layer;
}

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

  function get<T>(name: string, parse: (value: string | boolean) => T): T | undefined {
    const found = setting(name);
    return found === undefined ? undefined : validated(found[0], parse);
  }

  function required<T>(name: string, parse: (value: string | boolean) => T): T {
    const value = get(name, parse);
    if (value === undefined) throw new Error(`Option --${name} has no default`);
    return value;
  }

  const qps = setting("qps")?.[0];
  const burst = setting("burst")?.[0];
  if (qps !== undefined && burst !== undefined) {
    throw new UsageError(
      `Cannot use ${describe(burst)} together with ${describe(qps)}: ` +
        `--burst paces fixed users and --qps sets a fixed rate, choose one`,
    );
  }

  const headers = headersOf(setting("header") ?? []);
  const keySetting = setting("api-key")?.[0];
  let apiKey = keySetting === undefined ? undefined : validated(keySetting, apiKeyValue);
  const authorization = Object.keys(headers).find((name) => name.toLowerCase() === "authorization");
  if (authorization !== undefined && keySetting !== undefined) {
    // The key would silently replace the header (it is sent as Authorization too).
    throw new UsageError(
      `Cannot use ${describe(keySetting)} together with an Authorization header from ` +
        `${describe(setting("header")![0])}: both set Authorization, give only one`,
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

  const hostSetting = setting("host")![0];
  let host = validated(hostSetting, hostUrl);
  if (/\/v1$/i.test(host)) {
    // The usual OpenAI base URL ends in /v1, but llmload appends /v1/... itself.
    const trimmed = host.slice(0, -"/v1".length);
    warn(
      `${describe(hostSetting)} ends in /v1, which llmload adds itself (as in /v1/completions): ` +
        `using ${trimmed}`,
    );
    host = trimmed;
  }
  const users = required("users", wholeNumber(1));
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
      `${describe(workerSetting)} ${workers} is more than the ${users} users of -u: using ` +
        `${users} workers`,
    );
    workers = users;
  }
  const spawnRate = required("spawn-rate", positiveNumber);
  const lastSpawnMs = ((users - 1) * 1000) / spawnRate;
  if (lastSpawnMs > MAX_DURATION_MS) {
    throw new UsageError(
      `Invalid ${describeValue(setting("spawn-rate")![0])}: the last of ${users} users would ` +
        `start after ${Math.round(lastSpawnMs / 86_400_000)} days, expected ${MAX_DURATION_TEXT}`,
    );
  }

  const config: RunConfig = {
    host,
    model: get("model", text),
    provider: get("provider", provider),
    apiKey,
    headers: Object.freeze(headers),
    users,
    spawnRate,
    runTimeMs: get("run-time", duration({ allowZero: false })),
    qps: get("qps", qpsValue),
    qpsDistribution: required(
      "qps-distribution",
      oneOf<ArrivalDistribution>(["constant", "uniform", "exponential"]),
    ),
    burstSeconds: get("burst", burstSeconds),
    promptTokens: required("prompt-tokens", wholeNumber(1)),
    promptText,
    maxTokens: required("max-tokens", wholeNumber(1)),
    maxTokensDistribution: required(
      "max-tokens-distribution",
      oneOf<LengthDistribution>(["constant", "uniform", "normal", "exponential"]),
    ),
    maxTokensRange: required("max-tokens-range", numberAtLeastZero),
    maxTokensCap: get("max-tokens-cap", wholeNumber(1)),
    maxTokensJitter: required("max-tokens-jitter", wholeNumber(0)),
    chat: required("chat", boolean),
    stream: required("stream", boolean),
    logprobs: get("logprobs", wholeNumber(0)),
    temperature: required("temperature", numberAtLeastZero),
    tokenizer: required("tokenizer", text),
    summaryFile: get("summary-file", text),
    jsonFile: get("json", text),
    warmupMs: get("warmup", duration({ allowZero: true })),
    workers,
    transport: required("transport", oneOf<TransportKind>(["node", "fetch"])),
    timeoutMs: required("timeout", duration({ allowZero: false })),
    seed: get("seed", wholeNumber(0)),
    promptRandomize: required("prompt-randomize", boolean),
    n: required("n", wholeNumber(1)),
    showResponse: required("show-response", boolean),
    preflight: required("preflight", boolean),
    serve: get("serve", serveAddress),
    serveToken: get("serve-token", text),
    serveLingerMs: get("serve-linger", duration({ allowZero: true })),
    htmlFile: get("html", text),
    maxFailRatio: get("max-fail-ratio", ratio),
    maxRequests: get("max-requests", wholeNumber(1)),
    keepGoing: required("keep-going", boolean),
    stopGraceMs: required("stop-grace", duration({ allowZero: true })),
  };
  checkTogether(config, setting, warn);
  // Unset options are left out rather than present as `undefined`, so the config prints,
  // compares and posts to Workers without noise.
  for (const key of Object.keys(config) as (keyof RunConfig)[]) {
    if (config[key] === undefined) delete (config as Partial<RunConfig>)[key];
  }
  return Object.freeze(config);
}

/** The flags of a command as a setting layer, each labelled with its flag. */
export function settingsFromFlags(flags: FlagValues): SettingLayer {
  const layer = new Map<string, RawSetting[]>();
  for (const [name, given] of Object.entries(flags)) {
    const label = `--${name}`;
    const items = Array.isArray(given) ? given as readonly string[] : [given as string | boolean];
    layer.set(name, items.map((value) => ({ value, label })));
  }
  return layer;
}

/** The defaults of an option table, by option name. */
export function defaultsOf(specs: readonly OptionSpec[]): Record<string, string> {
  const defaults: Record<string, string> = {};
  for (const spec of specs) if (spec.default !== undefined) defaults[spec.name] = spec.default;
  return defaults;
}

function unquote(value: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted === null ? value : quoted[2];
}

/** Thrown by a value parser with what it accepts; turned into a UsageError by `validated`. */
/** A value a parser refuses; the message says what would be accepted. */
export class Rejected extends Error {}

/**
 * Thrown by the parser of a value that may be a secret (a key, a header): its message is the
 * whole reason, and the value is never quoted. `part` names what was wrong (` name`).
 */
class RejectedSecret extends Error {
  constructor(readonly part: string, message: string) {
    super(message);
  }
}

/** Parses one setting; a rejected value becomes a `UsageError` that names the setting and where it came from. */
export function validated<T>(setting: RawSetting, parse: (value: string | boolean) => T): T {
  try {
    return parse(setting.value);
  } catch (error) {
    if (error instanceof RejectedSecret) {
      const place = setting.where === undefined ? "" : ` (${setting.where})`;
      throw new UsageError(`Invalid ${setting.label}${error.part}${place}: ${error.message}`);
    }
    if (!(error instanceof Rejected)) throw error;
    throw new UsageError(`Invalid ${describeValue(setting)}: expected ${error.message}`);
  }
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
      `Cannot use ${describe(setting("warmup")![0])} ${formatMs(warmupMs)} with ` +
        `${describe(setting("run-time")![0])} ${formatMs(runTimeMs)}: the statistics would ` +
        `reset when the run ends and nothing would be measured; make --warmup shorter than -t`,
    );
  }
  if (config.serveLingerMs !== undefined && config.serve === undefined) {
    warn(
      `${describe(setting("serve-linger")![0])} is ignored without --serve: there is no ` +
        `results server to keep up`,
    );
  }
}

function formatMs(ms: number): string {
  return `${ms / 1000}s`;
}

function describeValue(setting: RawSetting): string {
  const place = setting.where === undefined ? "" : ` (${setting.where})`;
  return `${setting.label} '${maskUrl(String(setting.value))}'${place}`;
}

function describe(setting: RawSetting): string {
  return setting.where === undefined ? setting.label : `${setting.label} (${setting.where})`;
}

function readPrompt(setting: RawSetting, readTextFile: (path: string) => string): string {
  const value = validated(setting, text);
  if (!value.startsWith("@")) return value;
  const path = value.slice(1);
  if (path === "") {
    throw new UsageError(`Invalid ${describeValue(setting)}: expected text or @file`);
  }
  const place = setting.where === undefined ? "" : ` (${setting.where})`;
  let prompt: string;
  try {
    prompt = readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `Cannot read ${setting.label} file '${path}'${place}: ${fileErrorReason(error)}`,
    );
  }
  if (prompt.trim() === "") {
    throw new UsageError(
      `Invalid ${setting.label} file '${path}'${place}: it is empty, expected a non-empty prompt`,
    );
  }
  return prompt;
}

/** A file that is not valid UTF-8, with the offset of its first bad byte. */
export class InvalidUtf8Error extends Error {
  /** Always `"InvalidUtf8Error"`. */
  override name = "InvalidUtf8Error";
  /** Offset in bytes of the first byte that is not part of valid UTF-8. */
  readonly offset: number;

  /** An error for the bad byte at `offset`. */
  constructor(offset: number) {
    super(`not UTF-8 text: invalid byte at offset ${offset}`);
    this.offset = offset;
  }
}

/**
 * Reads a UTF-8 text file. Unlike `Deno.readTextFileSync`, which turns bad bytes into U+FFFD
 * and so would send a prompt the user never wrote, throws an {@link InvalidUtf8Error} naming
 * the offset of the first bad byte. A leading byte order mark is dropped.
 */
export function readUtf8File(path: string): string {
  const bytes = Deno.readFileSync(path);
  const offset = invalidUtf8Offset(bytes);
  if (offset !== undefined) throw new InvalidUtf8Error(offset);
  return new TextDecoder().decode(bytes);
}

/** Offset of the first byte of `bytes` that is not valid UTF-8 (Unicode table 3-7), if any. */
export function invalidUtf8Offset(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    // Length of the sequence and the range of its second byte; the others are 80..BF.
    let length = 0;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const byte = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return i + k;
    }
    i += length;
  }
  return undefined;
}

/** A short reason why reading a file failed, for a `UsageError` message. */
export function fileErrorReason(error: unknown): string {
  if (error instanceof InvalidUtf8Error) return error.message;
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  return error instanceof Error ? error.message : String(error);
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

// Value parsers. Each takes the raw value and returns the typed one, or throws `Rejected` with
// the accepted forms.

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a non-empty text value. */
export function text(value: string | boolean): string {
  if (typeof value !== "string" || value.trim() === "") throw new Rejected("a non-empty value");
  return value;
}

/** Parses a provider dialect name. */
export function provider(value: string | boolean): string {
  const name = typeof value === "string" ? value.trim() : "";
  if (!PROVIDER_NAMES.includes(name)) throw new Rejected(listOf(PROVIDER_NAMES));
  return name;
}

/** Parses a switch. */
export function boolean(value: string | boolean): boolean {
  if (typeof value === "boolean") return value;
  const lower = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(lower)) return true;
  if (["false", "0", "no", "off"].includes(lower)) return false;
  throw new Rejected("true or false");
}

function decimal(value: string | boolean): number | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/** A parser of whole numbers of at least `min`. */
export function wholeNumber(min: number): (value: string | boolean) => number {
  return function parseWholeNumber(value) {
    const number = typeof value === "string" && /^\s*\d+\s*$/.test(value)
      ? Number(value)
      : undefined;
    if (number === undefined || number < min || !Number.isSafeInteger(number)) {
      throw new Rejected(`a whole number of at least ${min}`);
    }
    return number;
  };
}

function positiveNumber(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || number <= 0 || !Number.isFinite(number)) {
    throw new Rejected("a number greater than 0, such as 0.5 or 8");
  }
  return number;
}

function numberAtLeastZero(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || !Number.isFinite(number)) {
    throw new Rejected("a number of at least 0");
  }
  return number;
}

function oneOf<T extends string>(choices: readonly T[]): (value: string | boolean) => T {
  return function parseChoice(value) {
    const choice = typeof value === "string" ? value.trim() : "";
    if (!(choices as readonly string[]).includes(choice)) throw new Rejected(listOf(choices));
    return choice as T;
  };
}

/** A parser of durations such as `30s` or `5min`, in milliseconds. */
export function duration(options: { allowZero: boolean }): (value: string | boolean) => number {
  return function parseDurationValue(value) {
    let ms: number;
    try {
      ms = parseDuration(typeof value === "string" ? value : "");
    } catch {
      throw new Rejected(DURATION_FORMS);
    }
    if (ms === 0 && !options.allowZero) {
      throw new Rejected("a duration above 0, such as 30s, 5min or 1h30m");
    }
    if (ms > MAX_DURATION_MS) throw new Rejected(`a duration of ${MAX_DURATION_TEXT}`);
    return ms;
  };
}

function burstSeconds(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || number <= 0 || !Number.isFinite(number)) {
    throw new Rejected("a number of seconds greater than 0, such as 2 or 0.5");
  }
  if (number * 1000 > MAX_DURATION_MS) {
    throw new Rejected(`a number of seconds ${MAX_DURATION_TEXT}`);
  }
  return number;
}

function qpsValue(value: string | boolean): number {
  const number = positiveNumber(value);
  // The gap between two sends is a timer too.
  if (1000 / number > MAX_DURATION_MS) {
    throw new Rejected("a rate of at least one request per 24 days, such as 0.0000005");
  }
  return number;
}

function hostUrl(value: string | boolean): string {
  const trimmed = typeof value === "string" ? value.trim() : "";
  const expected = "an http:// or https:// URL such as http://localhost:8000";
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Rejected(expected);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new Rejected(expected);
  }
  if (url.search !== "" || url.hash !== "") throw new Rejected(`${expected}, without ? or #`);
  // Keep the text as typed (new URL would drop an explicit :80); only the trailing slash goes,
  // because request paths are appended as `${host}/v1/...`.
  return trimmed.replace(/\/+$/, "");
}

function header(value: string | boolean): [string, string] {
  // The raw text is never quoted back: the header may carry a credential.
  const expected = "expected name:value, such as 'X-Request-Source: llmload'";
  const raw = typeof value === "string" ? value : "";
  const colon = raw.indexOf(":");
  if (colon < 0) throw new RejectedSecret("", `no ':' found, ${expected}`);
  const name = raw.slice(0, colon).trim();
  if (name === "") throw new RejectedSecret("", `the name before ':' is empty, ${expected}`);
  if (!HEADER_NAME.test(name)) {
    const chars = [...name];
    const bad = chars.findIndex((char) => !HEADER_NAME.test(char));
    throw new RejectedSecret(
      " name",
      `character ${bad + 1} is ${characterKind(chars[bad].codePointAt(0)!)}; a header name ` +
        "holds only letters, digits and !#$%&'*+-.^_`|~",
    );
  }
  const fieldValue = raw.slice(colon + 1).trim();
  const problem = fieldProblem(fieldValue, { spaces: true });
  if (problem !== undefined) {
    throw new RejectedSecret(
      ` '${name}' value`,
      `${problem}; a header value holds only printable ASCII, spaces and tabs`,
    );
  }
  return [name, fieldValue];
}

function apiKeyValue(value: string | boolean): string {
  const key = text(value);
  const problem = fieldProblem(key, { spaces: false });
  if (problem !== undefined) {
    // It goes into `Authorization: Bearer <key>`, where such a character breaks the request.
    throw new RejectedSecret("", `${problem}; an API key holds only printable ASCII, no spaces`);
  }
  return key;
}

/**
 * Why `text` cannot go into an HTTP header (RFC 9110 field value, without obs-text), or
 * `undefined`: the position (from 1) and the kind of the first bad character, never the text.
 */
function fieldProblem(text: string, options: { spaces: boolean }): string | undefined {
  let position = 0;
  for (const char of text) {
    position++;
    const code = char.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e) continue;
    if (options.spaces && (code === 0x20 || code === 0x09)) continue;
    return `character ${position} is ${characterKind(code)}`;
  }
  return undefined;
}

function characterKind(code: number): string {
  if (code === 0x0a || code === 0x0d) return "a line break (CR or LF)";
  if (code === 0) return "a NUL";
  if (code === 0x20) return "a space";
  if (code === 0x09) return "a tab";
  if (code < 0x20 || code === 0x7f) return "a control character";
  if (code > 0x7f) return "not ASCII";
  return `'${String.fromCharCode(code)}'`;
}

/** Parses a TCP port (0 picks a free one). */
export function port(value: string | boolean): number {
  const number = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : -1;
  if (number < 0 || number > 65535) throw new Rejected("a whole number from 0 to 65535");
  return number;
}

function ratio(value: string | boolean): number {
  const number = decimal(value);
  if (number === undefined || number > 1) throw new Rejected("a number from 0 to 1, such as 0.05");
  return number;
}

function serveAddress(value: string | boolean): { hostname: string; port: number } {
  const raw = typeof value === "string" ? value.trim() : "";
  const match = raw.match(/^(?:(\[[0-9a-fA-F:]+\]|[^:\s]+):)?(\d+)$/);
  const number = match ? Number(match[2]) : -1;
  if (!match || number > 65535) {
    throw new Rejected("a port such as 9090, or host:port such as 0.0.0.0:9090");
  }
  return { hostname: match[1]?.replace(/^\[|\]$/g, "") ?? "127.0.0.1", port: number };
}

/** Parses a fraction from 0 to 1, given as `10%` or `0.1`. */
export function jitter(value: string | boolean): number {
  const raw = typeof value === "string" ? value.trim() : "";
  const percent = raw.endsWith("%");
  const number = decimal(percent ? raw.slice(0, -1) : raw);
  const fraction = number === undefined ? undefined : percent ? number / 100 : number;
  if (fraction === undefined || fraction > 1) {
    throw new Rejected("a percentage such as 10% or a fraction such as 0.1, from 0 to 1");
  }
  return fraction;
}

function listOf(choices: readonly string[]): string {
  if (choices.length === 1) return choices[0];
  return `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
}
