/**
 * Value parsers of the distributed-run options: `--shard I/N` (this process's place among N
 * independent llmload processes), `--start-at TIME` (the instant every shard begins), and the
 * orchestrators' environment that `--shard-from-env` reads (a Kubernetes Indexed Job, Slurm).
 * Pure; throws `Rejected` with the accepted forms, as `options/parsers.ts`.
 *
 * @module
 */
import { Rejected } from "./parsers.ts";

/** One process's place in a run split over `count` processes. */
export interface ShardSpec {
  /** This process's index, from 0 (as `JOB_COMPLETION_INDEX` and `SLURM_PROCID` count). */
  readonly index: number;
  /** Number of processes that together run the load. */
  readonly count: number;
}

const SHARD = /^\s*(\d+)\s*\/\s*(\d+)\s*$/;
// RFC 3339: a date, a time with optional fraction, and an offset (Z or ±hh:mm).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses `I/N`, `0 <= I < N`.
 *
 * @example
 * ```ts
 * shardSpec("1/4"); // { index: 1, count: 4 }
 * ```
 */
export function shardSpec(value: string | boolean): ShardSpec {
  const match = typeof value === "string" ? SHARD.exec(value) : null;
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || !(count >= 1) || !(index < count) || !Number.isSafeInteger(count)) {
    throw new Rejected("I/N with N >= 1 processes and 0 <= I < N, such as 0/4 for the first of 4");
  }
  return { index, count };
}

/**
 * Parses an instant: RFC 3339 with an offset (`2026-12-02T18:00:00Z`) or epoch milliseconds;
 * returns epoch milliseconds.
 *
 * @example
 * ```ts
 * startInstant("2026-12-02T18:00:00.250Z"); // 1796234400250
 * ```
 */
export function startInstant(value: string | boolean): number {
  const text = typeof value === "string" ? value.trim() : "";
  const ms = /^\d+$/.test(text) ? Number(text) : RFC3339.test(text) ? Date.parse(text) : NaN;
  if (!Number.isSafeInteger(ms) || Number.isNaN(new Date(ms).getTime())) {
    throw new Rejected(
      "an RFC 3339 time with its offset, such as 2026-12-02T18:00:00Z, or epoch milliseconds",
    );
  }
  return ms;
}

/** The variable pairs an orchestrator sets, index first, in the order they are looked for. */
const ORCHESTRATORS = [
  // A Kubernetes Indexed Job sets the index; the count is the Job's, which it does not export.
  ["JOB_COMPLETION_INDEX", "LLMLOAD_SHARDS"],
  ["SLURM_PROCID", "SLURM_NTASKS"],
] as const;

/**
 * The shard an orchestrator's environment names (`--shard-from-env`): a Kubernetes Indexed
 * Job's `JOB_COMPLETION_INDEX` with `LLMLOAD_SHARDS`, else Slurm's `SLURM_PROCID` with
 * `SLURM_NTASKS`. Throws `Rejected` when neither pair is set, or a value is not a shard.
 *
 * @example
 * ```ts
 * shardFromEnv({ SLURM_PROCID: "2", SLURM_NTASKS: "4" }); // { index: 2, count: 4 }
 * ```
 */
export function shardFromEnv(env: Readonly<Record<string, string | undefined>>): ShardSpec {
  for (const [indexName, countName] of ORCHESTRATORS) {
    const index = env[indexName];
    if (index === undefined || index === "") continue;
    const count = env[countName];
    if (count === undefined || count === "") {
      throw new Rejected(`${countName} beside ${indexName}=${index}: the number of shards`);
    }
    try {
      return shardSpec(`${index}/${count}`);
    } catch {
      throw new Rejected(
        `${indexName} from 0 to ${countName} - 1, got ${indexName}=${index} ${countName}=${count}`,
      );
    }
  }
  throw new Rejected(
    "JOB_COMPLETION_INDEX with LLMLOAD_SHARDS (a Kubernetes Indexed Job) or SLURM_PROCID " +
      "with SLURM_NTASKS (srun) in the environment",
  );
}
