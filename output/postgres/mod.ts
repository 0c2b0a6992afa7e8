/**
 * `--pg`: pushes a run live into PostgreSQL (TimescaleDB hypertables when the extension is
 * there), into locust-plugins' tables and llmload's `llmload_second` (see `schema.ts`). The
 * connection is tried and the tables made before load starts; an unreachable database stops the
 * run there (exit 1), or with `--pg-optional` is one warning. Once load runs, the views become
 * rows (`rows.ts`) that wait in a bounded queue (`queue.ts`) while one connection writes them,
 * so a database that is slow, down or restarting never holds up the load; what could not be
 * written is counted in the summary line and the results' `pg` section.
 *
 * @example
 * ```ts
 * const push = await openPostgresPush(config, { log: console.error });
 * // ...run with push.output among the outputs...
 * const tally = await push?.drain();
 * await push?.close({ exitCode: 0, results });
 * ```
 *
 * @module
 */
import type postgres from "postgres";
import { StartError } from "../../common/errors.ts";
import { maskSecrets, maskUrl, secretsOf } from "../../common/secrets.ts";
import type { RunConfig } from "../../options/types.ts";
import type { LiveView } from "../../run/types.ts";
import type { Results } from "../results.ts";
import type { Output } from "../types.ts";
import { PushQueue, type PushTally } from "./queue.ts";
import { type PushTable, rowsOfView, type RunLabels, testrunRow } from "./rows.ts";
import { CREATE_HYPERTABLES, CREATE_TABLES, HAS_TIMESCALE } from "./schema.ts";

/** How long the end of a run waits for the last rows to be written. */
const DRAIN_TIMEOUT_MS = 15_000;
/** How long the start waits for the database, and each write for a connection. */
const CONNECT_TIMEOUT_S = 5;
/** How long the final `testrun` update may take. */
const CLOSE_TIMEOUT_MS = 5_000;

/** A run's live push to PostgreSQL. */
export interface PostgresPush {
  /** The output that turns each live view into rows; never blocks. */
  readonly output: Output;
  /** Writes what still waits (for at most 15 s), logs the summary line, returns the tally. */
  drain(): Promise<PushTally>;
  /**
   * With `ending`, completes the `testrun` row (end time, exit code, requests, mean latency,
   * rate, fail ratio) and the `events`; a failure is one warning on the log. Then closes the
   * connection; later calls do nothing.
   */
  close(ending?: { readonly exitCode: number; readonly results: Results }): Promise<void>;
}

/**
 * Connects to `config.pg` and makes the tables. Returns `undefined` without `--pg`, or when the
 * database cannot be reached and `--pg-optional` is set (after one warning); without
 * `--pg-optional` that throws a `StartError`.
 */
export async function openPostgresPush(
  config: RunConfig,
  options: { readonly log: (line: string) => void },
): Promise<PostgresPush | undefined> {
  if (config.pg === undefined) return undefined;
  const secrets = secretsOf(config);
  const where = maskUrl(config.pg);
  const describe = (error: unknown) =>
    maskSecrets(error instanceof Error ? error.message : String(error), secrets, { cut: false });
  // Loaded only for --pg: the client and its node: modules cost every other run ~0.1 s to start.
  const { default: connect } = await import("postgres");
  const sql = connect(config.pg, {
    max: 1,
    connect_timeout: CONNECT_TIMEOUT_S,
    onnotice: () => {},
    connection: { application_name: "llmload" },
  });
  try {
    await createTables(sql);
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    const line = `Cannot reach PostgreSQL at ${where}: ${describe(error)}`;
    if (!config.pgOptional) throw new StartError(line);
    options.log(`Warning: ${line}; the run goes on without --pg (--pg-optional)`);
    return undefined;
  }
  return livePush(sql, { where, describe, log: options.log });
}

async function createTables(sql: postgres.Sql) {
  for (const statement of CREATE_TABLES) await sql.unsafe(statement);
  const [{ n }] = await sql.unsafe(HAS_TIMESCALE);
  if (n > 0) { for (const statement of CREATE_HYPERTABLES) await sql.unsafe(statement); }
}

function livePush(
  sql: postgres.Sql,
  context: {
    readonly where: string;
    readonly describe: (error: unknown) => string;
    readonly log: (line: string) => void;
  },
): PostgresPush {
  const queue = new PushQueue<PushTable>(async (batch) => {
    await sql`INSERT INTO ${sql(batch.table)} ${
      sql(batch.rows as Record<string, postgres.ParameterOrJSON<never>>[])
    } ON CONFLICT DO NOTHING`;
  }, { describe: context.describe });
  let labels: RunLabels | undefined;
  let previousNow = 0;
  let windowStart = 0;
  let closed = false;

  function observe(view: LiveView) {
    if (labels === undefined) {
      labels = labelsOf(view);
      previousNow = view.startedAt;
      windowStart = view.windowStart;
      const user = username();
      queue.push("testrun", [testrunRow(view, labels, user)]);
      queue.push("events", [{
        time: labels.runId,
        text: `${labels.testplan} started by ${user ?? "llmload"}`,
      }]);
    }
    if (view.windowStart !== windowStart) {
      windowStart = view.windowStart;
      queue.push("events", [{
        time: new Date(windowStart),
        text: `${labels.testplan} stats reset after warm-up`,
      }]);
    }
    const rows = rowsOfView(view, previousNow, labels);
    previousNow = view.now;
    queue.push("request", rows.request);
    queue.push("user_count", rows.user_count);
    queue.push("llmload_second", rows.llmload_second);
  }

  return {
    output: { name: "Postgres push", observe },
    async drain() {
      const tally = await queue.drain(DRAIN_TIMEOUT_MS);
      if (tally.lost === 0) {
        context.log(`Postgres: ${tally.written} rows written to ${context.where}`);
      } else {
        context.log(
          `Warning: Postgres: ${tally.lost} of ${tally.written + tally.lost} rows could not be ` +
            `written to ${context.where} (last error: ${tally.lastError ?? "none"})`,
        );
      }
      return tally;
    },
    async close(ending) {
      if (closed) return;
      closed = true;
      try {
        if (labels !== undefined && ending) {
          await withTimeout(finishTestrun(sql, labels, ending.exitCode, ending.results));
        }
      } catch (error) {
        context.log(
          `Warning: Cannot complete the testrun row in PostgreSQL at ${context.where}: ` +
            context.describe(error),
        );
      } finally {
        await sql.end({ timeout: 1 }).catch(() => {});
      }
    },
  };
}

async function finishTestrun(
  sql: postgres.Sql,
  labels: RunLabels,
  exitCode: number,
  results: Results,
) {
  const { requests } = results;
  const end = new Date();
  await sql`UPDATE testrun SET end_time = ${end}, exit_code = ${exitCode},
    requests = ${requests.total},
    resp_time_avg = ${results.metrics.total_latency?.mean ?? null},
    rps_avg = ${results.throughput.requestsPerSec},
    fail_ratio = ${requests.total > 0 ? requests.failed / requests.total : 0}
    WHERE id = ${labels.runId}`;
  await sql`INSERT INTO events ${
    sql({ time: end, text: `${labels.testplan} finished with exit code: ${exitCode}` })
  }`;
}

function labelsOf(view: LiveView): RunLabels {
  return {
    runId: new Date(view.startedAt),
    testplan: view.target.model,
    loadgen: hostname(),
    pid: Deno.pid,
    url: view.config.host.slice(0, 255),
  };
}

/**
 * This machine's name. The compiled binary has no `--allow-sys` for `Deno.hostname()`, so then
 * `$HOSTNAME` or `/etc/hostname`.
 */
function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    const named = Deno.env.get("HOSTNAME") ?? readHostnameFile();
    return named?.trim() || "unknown";
  }
}

function readHostnameFile(): string | undefined {
  try {
    return Deno.readTextFileSync("/etc/hostname");
  } catch {
    return undefined;
  }
}

function username(): string | null {
  const name = Deno.env.get("USER") ?? Deno.env.get("USERNAME");
  return name ? name.slice(0, 64) : null;
}

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${CLOSE_TIMEOUT_MS} ms`)),
      CLOSE_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeUp]).finally(() => clearTimeout(timer));
}
