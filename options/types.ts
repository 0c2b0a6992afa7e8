/**
 * The validated run configuration and the choices it is made of. Its plain fields come from the
 * option table (`options/table.ts`): an option with a `key` is the field of that name, typed by
 * what its `parse` returns, required when the option has a default and optional otherwise. Built
 * by `options/config.ts`.
 *
 * @module
 */
import type { RunOptionTable } from "./table.ts";
import type { DatasetChoice } from "./dataset_parsers.ts";
import type { Threshold } from "../stats/thresholds.ts";

/** The table's options that are one field each. */
type KeyedSpec = Extract<RunOptionTable[number], { readonly key: string }>;

/** Fields of options with a default: always present. */
type DefaultedFields = {
  readonly [S in KeyedSpec as S extends { readonly default: string } ? S["key"] : never]:
    ReturnType<S["parse"]>;
};

/** Fields of options without a default: absent when the option is unset. */
type OptionalFields = {
  readonly [S in KeyedSpec as S extends { readonly default: string } ? never : S["key"]]?:
    ReturnType<S["parse"]>;
};

/** The fields of the table's options: one per option with a `key`. */
export type TableFields = DefaultedFields & OptionalFields;

/**
 * Validated, frozen configuration of one load test. Built by `options/config.ts`. Besides the
 * fields below, it has one field per option of the table with a `key` (`users`, `maxTokens`,
 * `runTimeMs`, ...; see `options/table.ts` for each one's help).
 */
export interface RunConfig extends DefaultedFields, OptionalFields {
  /** Target base URL without a trailing slash or `/v1`, e.g. `http://localhost:80`. */
  readonly host: string;
  /** Sent as `Authorization: Bearer …`; never printed or written. */
  readonly apiKey?: string;
  /** Extra request headers (`--header K:V`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Labels of the run in the history (`--tag key=value`); absent without tags. */
  readonly tags?: Readonly<Record<string, string>>;
  /** The prompt itself (an `@file` already read), instead of a generated one. */
  readonly promptText?: string;
  /** The `--dataset` files with their mix weights; absent for generated prompts. */
  readonly datasets?: readonly DatasetChoice[];
  /** PEM text of `--ca-cert`: CA certificates trusted besides the system's. */
  readonly caCerts?: readonly string[];
  /** Worker shards, at most the users; 0 picks automatically. */
  readonly workers: number;
  /** The `--threshold` expressions, in order; absent without any. */
  readonly thresholds?: readonly Threshold[];
}

/** How sends are spaced in fixed-QPS mode. */
export type ArrivalDistribution = RunConfig["qpsDistribution"];

/** How `max_tokens` is sampled for each request. */
export type LengthDistribution = RunConfig["maxTokensDistribution"];
