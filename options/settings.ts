/**
 * A setting as given, before validation, with where it came from; and how it becomes a value or
 * a {@link UsageError} that names the setting, its source and what is accepted.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { maskUrl } from "../common/secrets.ts";
import { Rejected, RejectedSecret } from "./parsers.ts";
import type { Parser } from "./parsers.ts";

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

/** Parses one setting; a rejected value becomes a `UsageError` that names the setting and where it came from. */
export function validated<T>(setting: RawSetting, parse: Parser<T>): T {
  try {
    return parse(setting.value);
  } catch (error) {
    if (error instanceof RejectedSecret) {
      throw new UsageError(
        `Invalid ${setting.label}${error.part}${place(setting)}: ${error.message}`,
      );
    }
    if (!(error instanceof Rejected)) throw error;
    throw new UsageError(`Invalid ${describeValue(setting)}: expected ${error.message}`);
  }
}

/** The setting's name, its value (a URL's password masked) and its source, for messages. */
export function describeValue(setting: RawSetting): string {
  return `${setting.label} '${maskUrl(String(setting.value))}'${place(setting)}`;
}

/** The setting's name and its source, for messages: `--users`, `LLMLOAD_USERS (environment)`. */
export function describeSetting(setting: RawSetting): string {
  return `${setting.label}${place(setting)}`;
}

/** ` (where)`, or nothing for a flag. */
export function place(setting: RawSetting): string {
  return setting.where === undefined ? "" : ` (${setting.where})`;
}
