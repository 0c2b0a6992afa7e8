/**
 * The command line: `llmload [options]` runs a load test, `llmload probe` reports what the
 * target honours, `llmload demo` runs one against an in-process mock, `llmload mock` serves the
 * mock alone, `llmload merge` merges the results files of a `--shard` run's shards. {@link parseCommandLine} is pure: it never
 * prints, never exits and reads files only through the reader it is given; the caller prints help,
 * version or the `UsageError` message and picks the exit code. {@link readCommandLine} adds the
 * disk and process I/O around it.
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { UsageError } from "../common/errors.ts";
import { resolveRunConfig } from "../options/config.ts";
import { fileErrorReason, readUtf8File } from "../options/files.ts";
import { envVarName, unknownEnvWarnings } from "../options/sources.ts";
import { DEMO_DEFAULTS, RUN_OPTIONS } from "../options/table.ts";
import { MOCK_OPTIONS, resolveMockOptions } from "../mock/options.ts";
import type { FlagValues } from "../options/settings.ts";
import type { OptionSpec } from "../options/spec.ts";
import type { MockCommandOptions } from "../mock/options.ts";
import type { RunConfig } from "../options/types.ts";
import { addHistoryCommands, HISTORY_COMMANDS } from "./history_command_line.ts";
import type { HistoryCommand } from "./history_command_line.ts";
import { defaultHistoryPath } from "../history/location.ts";
import { MERGE_OPTIONS, type MergeCommand } from "./merge.ts";
import { SWEEP_OPTIONS, SWEEP_REPLACED_OPTIONS, type SweepCommand, sweepCommand } from "./sweep.ts";

/**
 * What the command line asks for. `warnings` are about settings that are used, but not as
 * written (an unknown `LLMLOAD_*` variable, a host ending in `/v1`...), for the caller to print.
 */
export type ParsedCommand =
  | { readonly kind: "run"; readonly config: RunConfig; readonly warnings: readonly string[] }
  | { readonly kind: "demo"; readonly config: RunConfig; readonly warnings: readonly string[] }
  | { readonly kind: "probe"; readonly config: RunConfig; readonly warnings: readonly string[] }
  | { readonly kind: "mock"; readonly mock: MockCommandOptions }
  | { readonly kind: "history"; readonly command: HistoryCommand }
  | { readonly kind: "merge"; readonly merge: MergeCommand }
  | {
    readonly kind: "sweep";
    readonly sweep: SweepCommand;
    readonly warnings: readonly string[];
  }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "version"; readonly text: string };

/** Inputs of {@link parseCommandLine} besides the arguments. */
export interface CommandLineOptions {
  /** Environment variables (`LLMLOAD_*`, `OPENAI_API_KEY`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Text of the default config file (`./llmload.conf`), if it exists; `--config` replaces it. */
  readonly configText?: string;
  /** Name of that file, for messages. Default `llmload.conf`. */
  readonly configPath?: string;
  /** Reads `--config` and `--prompt-text @file`. Default {@link readUtf8File}. */
  readonly readTextFile?: (path: string) => string;
  /** Version string printed by `--version`. */
  readonly version: string;
  /** Width the help text wraps at. Default 100. */
  readonly helpWidth?: number;
}

/** Default config file, read from the working directory when it exists. */
export const DEFAULT_CONFIG_PATH = "llmload.conf";

const DEFAULT_HELP_WIDTH = 100;

const HELP_FOOTER = `
Every option can also be set in the environment as LLMLOAD_<OPTION_NAME>, e.g.
LLMLOAD_MAX_TOKENS=128 or LLMLOAD_STREAM=false; the API key falls back to OPENAI_API_KEY.
A config file holds key = value lines such as "max-tokens = 128" (./llmload.conf, or --config).
A flag beats the environment, which beats the config file, which beats the default.`;

/** Commands besides `help`; `run` is also what no command means. */
const COMMANDS = ["run", "demo", "probe", "sweep", "mock", "merge", ...HISTORY_COMMANDS] as const;

const COMMAND_LIST = `one of run, demo, probe, sweep, mock, merge, ${
  HISTORY_COMMANDS.join(", ")
}, help`;

/** The options of `llmload sweep`: the run's, with the ones each point sets replaced. */
const SWEEP_COMMAND_OPTIONS: readonly OptionSpec[] = [
  ...RUN_OPTIONS.filter((spec) => !SWEEP_REPLACED_OPTIONS.includes(spec.name)),
  ...SWEEP_OPTIONS,
];

const HELP_CODES = new Set(["commander.helpDisplayed", "commander.help"]);

/**
 * Parses `llmload`'s arguments (without the program name) into what to do. Options not given as
 * flags come from `LLMLOAD_*` variables, then the config file (`--config`, else `configText`),
 * then the defaults. Bad input throws a one-line {@link UsageError}; help and version come back
 * as text for the caller to print.
 *
 * @example
 * ```ts
 * const parsed = parseCommandLine(["-u", "8", "-t", "1min"], { env: {}, version: "0.1.0" });
 * if (parsed.kind === "run") console.log(parsed.config.users); // 8
 * ```
 */
export function parseCommandLine(
  argv: readonly string[],
  options: CommandLineOptions,
): ParsedCommand {
  if (argv[0] === "help") return parseCommandLine(helpArguments(argv), options);
  refuseOptionsAsValues(argv);
  let written = "";
  let chosen:
    | {
      kind: "run" | "demo" | "probe" | "sweep" | "mock" | "merge" | "history";
      flags: FlagValues;
      named: boolean;
    }
    | undefined;
  let mergeFiles: string[] = [];

  const program = new Command("llmload")
    .description("Load test an LLM inference endpoint: latency, token throughput and failures.")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        written += text;
      },
      writeErr: () => {},
      outputError: () => {},
      getOutHelpWidth: () => options.helpWidth ?? DEFAULT_HELP_WIDTH,
      getErrHelpWidth: () => options.helpWidth ?? DEFAULT_HELP_WIDTH,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    // Without this the root would take run options given after `demo` or `mock` for itself.
    .enablePositionalOptions();

  const runNames = addOptions(program, RUN_OPTIONS, {});
  addRuntimeSwitches(program, options.version);
  program
    .helpCommand("help [command]", "print help for a command")
    .addHelpText("after", HELP_FOOTER)
    .action(() => {
      chosen = { kind: "run", flags: flagsOf(program, runNames), named: false };
    });

  const run = program.command("run")
    .description("run a load test against --host, as llmload without a command does");
  const explicitRunNames = addOptions(run, RUN_OPTIONS, {});
  addRuntimeSwitches(run);
  run
    .addHelpText("after", HELP_FOOTER)
    .action(() => {
      chosen = { kind: "run", flags: flagsOf(run, explicitRunNames), named: true };
    });

  const demo = program.command("demo")
    .description("run a short load test against a built-in mock server (--host is ignored)");
  const demoNames = addOptions(demo, RUN_OPTIONS, DEMO_DEFAULTS);
  addRuntimeSwitches(demo);
  demo
    .addHelpText("after", HELP_FOOTER)
    .action(() => {
      chosen = { kind: "demo", flags: flagsOf(demo, demoNames), named: true };
    });

  const probe = program.command("probe")
    .description(
      "send one request per mode and report what the server honours: streaming, usage in " +
        "streams, ignore_eos/min_tokens, logprobs, chat",
    );
  const probeNames = addOptions(probe, RUN_OPTIONS, {});
  addRuntimeSwitches(probe);
  probe
    .addHelpText("after", HELP_FOOTER)
    .action(() => {
      chosen = { kind: "probe", flags: flagsOf(probe, probeNames), named: true };
    });

  const sweep = program.command("sweep")
    .description(
      "run the load test at each point of a list of loads (--users 1,2,4,8 or --qps 1:64:x2), " +
        "one row per point, and find the knee",
    );
  const sweepNames = addOptions(sweep, SWEEP_COMMAND_OPTIONS, {});
  addRuntimeSwitches(sweep);
  sweep
    .addHelpText("after", HELP_FOOTER)
    .action(() => {
      chosen = { kind: "sweep", flags: flagsOf(sweep, sweepNames), named: true };
    });

  const mock = program.command("mock")
    .description(
      "serve a mock endpoint of every dialect (OpenAI, TGI, Triton, llama.cpp, Ollama) with " +
        "fixed delays, for testing",
    );
  const mockNames = addOptions(mock, MOCK_OPTIONS, {});
  mock.action(() => {
    chosen = { kind: "mock", flags: flagsOf(mock, mockNames), named: true };
  });

  let history: HistoryCommand | undefined;
  addHistoryCommands(program, {
    env: options.env,
    choose(command) {
      history = command;
      chosen = { kind: "history", flags: {}, named: true };
    },
  });

  const merge = program.command("merge")
    .description(
      "merge the results files of a --shard run's shards into the results one process would " +
        "have written",
    )
    .argument("<file...>", "results files (--json) of the shards, or of earlier merges");
  const mergeNames = addOptions(merge, MERGE_OPTIONS, {});
  merge.action((files: string[]) => {
    mergeFiles = files;
    chosen = { kind: "merge", flags: flagsOf(merge, mergeNames), named: true };
  });

  try {
    program.parse([...argv], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (HELP_CODES.has(error.code)) return { kind: "help", text: written.trimEnd() };
    if (error.code === "commander.version") return { kind: "version", text: options.version };
    throw new UsageError(usageMessage(error, argv));
  }
  // Commander runs exactly one action when parse() returns; this guards against a future change.
  if (chosen === undefined) throw new Error("Command line parsed without choosing a command");

  if (chosen.named) {
    // Options before the command name belong to the root and would be dropped silently.
    const misplaced = Object.keys(flagsOf(program, runNames));
    if (misplaced.length > 0) {
      throw new UsageError(
        `Cannot use --${misplaced[0]} before '${chosen.kind}': put options after the command, ` +
          `e.g. llmload ${chosen.kind} --${misplaced[0]} ...`,
      );
    }
  }
  if (chosen.kind === "mock") return { kind: "mock", mock: resolveMockOptions(chosen.flags) };
  if (chosen.kind === "history") return { kind: "history", command: history! };
  if (chosen.kind === "merge") {
    return { kind: "merge", merge: mergeCommand(mergeFiles, chosen.flags) };
  }
  const warnings = unknownEnvWarnings(options.env);
  const kind = chosen.kind;
  const resolve = (flags: FlagValues) =>
    resolveRunConfig(withoutConfig(flags), {
      ...configSource(flags, options),
      env: options.env,
      readTextFile: options.readTextFile,
      defaults: kind === "demo" ? DEMO_DEFAULTS : undefined,
      warn: (message) => {
        if (!warnings.includes(message)) warnings.push(message);
      },
    });
  if (kind === "sweep") {
    const sweep = sweepCommand(chosen.flags, resolve);
    return { kind, sweep, warnings: Object.freeze(warnings) };
  }
  const config = resolve(chosen.flags);
  return {
    kind,
    config: kind === "run" ? withDefaultHistory(config, options.env) : config,
    warnings: Object.freeze(warnings),
  };
}

/**
 * A run stores itself in the platform's data directory unless `--history` says otherwise
 * (`demo` and `probe` store nothing unless told).
 */
function withDefaultHistory(
  config: RunConfig,
  env: Readonly<Record<string, string | undefined>>,
): RunConfig {
  if (config.history !== undefined) return config;
  const path = defaultHistoryPath(env, Deno.build.os);
  return path === undefined ? config : Object.freeze({ ...config, history: path });
}

/** The merge's files and its flags, as given (commander already required one file). */
function mergeCommand(files: readonly string[], flags: FlagValues): MergeCommand {
  const path = (name: string) =>
    typeof flags[name] === "string" ? flags[name] as string : undefined;
  return {
    files,
    jsonFile: path("json"),
    htmlFile: path("html"),
    summaryFile: path("summary-file"),
    force: flags.force === true,
  };
}

/** `help` and `help <command>` as the `--help` they mean; any other command is a usage error. */
function helpArguments(argv: readonly string[]): string[] {
  const [, command, extra] = argv;
  if (command === undefined || command === "help") return ["--help"];
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(
      `Unknown command '${command}' after help: expected ${COMMAND_LIST} (see llmload --help)`,
    );
  }
  if (extra !== undefined) {
    throw new UsageError(`Unexpected argument '${extra}' after 'help ${command}'`);
  }
  return [command, "--help"];
}

/**
 * Refuses an option whose value, written as the next argument, is itself an option: with
 * `--api-key $KEY --model=m` and `$KEY` empty the key would be `--model=m`, and the run would
 * go to the wrong model without a word. A value that really starts with `-` is written
 * `--api-key=-x`. Negative numbers pass (validation refuses them where they are wrong).
 */
function refuseOptionsAsValues(argv: readonly string[]): void {
  let specs = RUN_OPTIONS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") return;
    if (!arg.startsWith("-")) {
      if (arg === "mock") specs = MOCK_OPTIONS;
      if (arg === "merge") specs = MERGE_OPTIONS;
      if (arg === "sweep") specs = SWEEP_COMMAND_OPTIONS;
      continue;
    }
    const spec = specs.find((candidate) =>
      arg === `--${candidate.name}` ||
      (candidate.short !== undefined && arg === `-${candidate.short}`)
    );
    if (spec?.value === undefined) continue;
    const next = argv[i + 1];
    // An option whose value may be left out takes the next argument only when it is no option.
    if (spec.optionalValue) continue;
    if (next !== undefined && looksLikeOption(next, specs)) {
      throw new UsageError(
        `${arg} got '${optionPart(next)}' as its value: was a shell variable empty? ` +
          `Use --${spec.name}=VALUE for a value that starts with -`,
      );
    }
    i++;
  }
}

/** The option name of `arg`, without a value given with it (which may be a secret). */
function optionPart(arg: string): string {
  const equals = arg.indexOf("=");
  if (equals >= 0) return `${arg.slice(0, equals + 1)}…`;
  if (!arg.startsWith("--") && arg.length > 2) return `${arg.slice(0, 2)}…`;
  return arg;
}

/** `--anything`, or `-x...` where `-x` is a short flag (`-1` is a number, not an option). */
function looksLikeOption(arg: string, specs: readonly OptionSpec[]): boolean {
  if (arg.startsWith("--")) return true;
  if (!/^-[A-Za-z]/.test(arg)) return false;
  const letter = arg[1];
  return letter === "h" || letter === "V" || specs.some((spec) => spec.short === letter);
}

/**
 * {@link parseCommandLine} with the process around it: the real environment, `./llmload.conf`
 * when it exists, files read from disk, help wrapped to the terminal width.
 *
 * @example
 * ```ts
 * const parsed = readCommandLine(Deno.args, { version: "0.1.0" });
 * ```
 */
export function readCommandLine(
  argv: readonly string[],
  options: { version: string; env?: Readonly<Record<string, string | undefined>> },
): ParsedCommand {
  return parseCommandLine(argv, {
    env: options.env ?? Deno.env.toObject(),
    configText: readOptionalFile(DEFAULT_CONFIG_PATH),
    configPath: DEFAULT_CONFIG_PATH,
    readTextFile: readUtf8File,
    version: options.version,
    helpWidth: Deno.stdout.isTerminal()
      ? Math.max(60, Math.min(DEFAULT_HELP_WIDTH, Deno.consoleSize().columns))
      : DEFAULT_HELP_WIDTH,
  });
}

/** Adds one commander option per spec; returns the spec name of each attribute name. */
function addOptions(
  command: Command,
  specs: readonly OptionSpec[],
  defaults: Readonly<Record<string, string>>,
): Map<string, string> {
  const names = new Map<string, string>();
  for (const spec of specs) {
    const short = spec.short === undefined ? "" : `-${spec.short}, `;
    const placeholder = spec.value === undefined
      ? ""
      : spec.optionalValue
      ? ` [${spec.value}]`
      : ` <${spec.value}>`;
    const option = new Option(
      `${short}--${spec.name}${placeholder}`,
      `${spec.help} (default: ${shownDefault(spec, defaults[spec.name] ?? spec.default)})`,
    );
    // Defaults are not given to commander: unset options stay unset, so the environment and
    // the config file can fill them before the defaults do.
    if (spec.repeatable) option.argParser(collect);
    if (spec.group !== undefined) option.helpGroup(`${spec.group}:`);
    command.addOption(option);
    names.set(option.attributeName(), spec.name);
    if (spec.negatedHelp !== undefined) {
      const negated = new Option(`--no-${spec.name}`, spec.negatedHelp);
      if (spec.group !== undefined) negated.helpGroup(`${spec.group}:`);
      command.addOption(negated);
    }
  }
  return names;
}

function addRuntimeSwitches(command: Command, version?: string): void {
  command.optionsGroup("Runtime:");
  if (version !== undefined) command.version(version, "-V, --version", "print the version");
  command.helpOption("-h, --help", "print this help");
}

function shownDefault(spec: OptionSpec, value: string | undefined): string {
  if (value === undefined) return spec.unset ?? "none";
  if (spec.value === undefined) return value === "true" ? "on" : "off";
  return value;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The options the user actually gave on the command line, by spec name. */
function flagsOf(command: Command, names: ReadonlyMap<string, string>): FlagValues {
  const given = command.opts();
  const flags: Record<string, string | boolean | readonly string[]> = {};
  for (const [attribute, name] of names) {
    if (command.getOptionValueSource(attribute) === "cli") flags[name] = given[attribute];
  }
  return flags;
}

function withoutConfig(flags: FlagValues): FlagValues {
  const { config: _config, ...rest } = flags;
  return rest;
}

function configSource(
  flags: FlagValues,
  options: CommandLineOptions,
): { configText?: string; configPath?: string } {
  const fromFlag = typeof flags.config === "string" ? flags.config : undefined;
  const envName = envVarName("config");
  const fromEnv = options.env[envName] || undefined;
  const path = fromFlag ?? fromEnv;
  if (path === undefined) {
    return { configText: options.configText, configPath: options.configPath };
  }
  const label = fromFlag !== undefined ? "--config" : `${envName} (environment)`;
  const readTextFile = options.readTextFile ?? readUtf8File;
  try {
    return { configText: readTextFile(path), configPath: path };
  } catch (error) {
    throw new UsageError(`Cannot read ${label} file '${path}': ${fileErrorReason(error)}`);
  }
}

function readOptionalFile(path: string): string | undefined {
  try {
    return readUtf8File(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new UsageError(`Cannot read config file '${path}': ${fileErrorReason(error)}`);
  }
}

/** Commander says "error: unknown option '--usres'\n(Did you mean --users?)"; make it one line. */
function usageMessage(error: CommanderError, argv: readonly string[]): string {
  const excess = /got \d+: ([^,]+?)\.?(?:,|$)/.exec(error.message);
  if (error.code === "commander.excessArguments" && excess !== null) {
    const command = argv.slice(0, argv.indexOf(excess[1])).find((arg) =>
      (COMMANDS as readonly string[]).includes(arg)
    );
    return command === undefined
      ? `Unknown command '${excess[1]}': expected ${COMMAND_LIST} (options start with -; see ` +
        `llmload --help)`
      : `Unexpected argument '${excess[1]}' to ${command}: expected options ` +
        `(see llmload ${command} --help)`;
  }
  const missing = /option '(.+)' argument missing/.exec(error.message);
  if (error.code === "commander.optionMissingArgument" && missing !== null) {
    return `Missing value after ${missing[1]}`;
  }
  const [first, ...rest] = error.message.replace(/^error:\s*/, "").split("\n").filter((line) =>
    line
  );
  const hint = rest.map((line) => line.replace(/^\((.*)\)$/, "$1")).join(" ");
  const sentence = first.charAt(0).toUpperCase() + first.slice(1).replace(/\.$/, "");
  return hint === "" ? sentence : `${sentence}: ${hint.charAt(0).toLowerCase()}${hint.slice(1)}`;
}
