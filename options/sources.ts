/**
 * Where settings come from, each turned into a {@link SettingLayer}: command-line flags,
 * `LLMLOAD_*` environment variables and the config file (`key = value` lines). Pure.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { RUN_OPTIONS } from "./table.ts";
import type { FlagValues, RawSetting, SettingLayer } from "./settings.ts";

/**
 * `LLMLOAD_*` variables that are not options but are read by llmload's own scripts (install.sh,
 * the soak test) or beside an orchestrator's (`LLMLOAD_SHARDS`, see `--shard-from-env`), so they
 * draw no "unknown variable" warning.
 */
const OTHER_LLMLOAD_VARIABLES = /^LLMLOAD_(?:INSTALL_[A-Z_]+|SOAK_MINUTES|SHARDS)$/;

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
 * `OPENAI_API_KEY` is not read here (see `resolveRunConfig` in `options/config.ts`).
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

function unquote(value: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted === null ? value : quoted[2];
}
