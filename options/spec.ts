/**
 * What a command-line option is (names, help, default), shared by the run's table
 * (`options/table.ts`) and the mock's (`mock/options.ts`), and the help groups of the run options.
 *
 * @module
 */

/** Help group titles, in the order of the seed README's sections. */
export const OPTION_GROUPS = [
  "Target",
  "Rate of requests",
  "Workload",
  "Generation options",
  "Writing results",
  "Goals",
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
  /** Whether the value may be left out (`--flag` alone, shown `[value]`): the parser gets `true`. */
  readonly optionalValue?: boolean;
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

/** The defaults of an option table, by option name. */
export function defaultsOf(specs: readonly OptionSpec[]): Record<string, string> {
  const defaults: Record<string, string> = {};
  for (const spec of specs) if (spec.default !== undefined) defaults[spec.name] = spec.default;
  return defaults;
}
