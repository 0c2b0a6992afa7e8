/**
 * The run history: one SQLite file (`node:sqlite`) of finished runs, each with its results
 * (histograms included), the figures of its summary block, its time series and its tags. The
 * schema is versioned in `PRAGMA user_version` and brought up to date by {@link MIGRATIONS} when
 * the file is opened for writing; a file that is not SQLite, or is from a newer llmload, is
 * refused and left as it is.
 *
 * @example
 * ```ts
 * const history = openHistory("runs.db", { write: true });
 * try {
 *   const id = history.add({ results, info, timeseries, tags: { gpu: "h100" } });
 *   console.log(history.find(id.slice(0, 7)).results.model);
 * } finally {
 *   history.close();
 * }
 * ```
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { UsageError } from "../common/errors.ts";
import { maskUrl } from "../common/secrets.ts";
import type { DashboardTimeseries } from "../output/html_report.ts";
import type { SummaryInfo } from "../output/report.ts";
import type { Results } from "../output/results.ts";
import { idPrefix, newRunId, shortIds } from "./ids.ts";

/**
 * The schema, one step per version: step `i` takes a file from version `i` to `i + 1`. A new
 * column or table is a new step at the end, so files written by older versions stay readable.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     stored_at TEXT NOT NULL,
     started_at TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     tool_version TEXT NOT NULL,
     provider TEXT NOT NULL,
     model TEXT NOT NULL,
     host TEXT NOT NULL,
     requests_ok INTEGER NOT NULL,
     requests_failed INTEGER NOT NULL,
     requests_per_sec REAL NOT NULL,
     output_tokens_per_sec REAL NOT NULL,
     ttft_p50_ms REAL,
     ttft_p99_ms REAL,
     client_verdict TEXT,
     results_json TEXT NOT NULL,
     summary_json TEXT NOT NULL,
     timeseries_json TEXT NOT NULL
   );
   CREATE INDEX runs_started_at ON runs (started_at);
   CREATE TABLE run_tags (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (run_id, key)
   );`,
];

/** The schema version this llmload writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The first bytes of every SQLite database file. */
const SQLITE_HEADER = "SQLite format 3\0";

/** A finished run as it goes into the history. */
export interface RunRecord {
  /** The results, as the results JSON holds them. */
  readonly results: Results;
  /** The figures of the summary block and the summary CSV. */
  readonly info: SummaryInfo;
  /** The run's points, as `--html` inlines them. */
  readonly timeseries: DashboardTimeseries;
  /** `--tag` labels. */
  readonly tags: Readonly<Record<string, string>>;
}

/** A stored run: its record, its full id and when it was stored. */
export interface StoredRun extends RunRecord {
  /** The full id (16 hex digits). */
  readonly id: string;
  /** When it was stored, ISO 8601. */
  readonly storedAt: string;
}

/** One line of `llmload runs`: the figures kept in columns, without the JSON. */
export interface RunSummary {
  /** The full id. */
  readonly id: string;
  /** The shortest unique prefix of the id (at least 7 digits). */
  readonly shortId: string;
  /** Start of the measured window, ISO 8601. */
  readonly startedAt: string;
  /** Length of the measured window, ms. */
  readonly durationMs: number;
  /** Provider dialect. */
  readonly provider: string;
  /** Model. */
  readonly model: string;
  /** Target base URL, a password masked. */
  readonly host: string;
  /** Successful requests. */
  readonly ok: number;
  /** Failed requests. */
  readonly failed: number;
  /** Successful requests per second. */
  readonly requestsPerSec: number;
  /** Generated tokens per second. */
  readonly outputTokensPerSec: number;
  /** TTFT median, ms; `null` without samples. */
  readonly ttftP50Ms: number | null;
  /** The client's verdict (`ok`, `cpu-bound`, `delayed`); `null` when not measured. */
  readonly clientVerdict: string | null;
  /** `--tag` labels. */
  readonly tags: Readonly<Record<string, string>>;
}

/** Which runs `llmload runs` lists; every given filter must hold. */
export interface RunFilter {
  /** Tags the run must carry with these values. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Model name, exactly. */
  readonly model?: string;
  /** Part of the host URL. */
  readonly host?: string;
  /** Only runs started at or after this time (epoch ms). */
  readonly since?: number;
}

/** An open history file. */
export interface History {
  /** The file. */
  readonly path: string;
  /** Stores a run; returns its new full id. */
  add(record: RunRecord): string;
  /** The runs that pass `filter`, newest first. */
  list(filter?: RunFilter): RunSummary[];
  /** The run whose id starts with `prefix`; a `UsageError` when none or several do. */
  find(prefix: string): StoredRun;
  /** Removes the run whose id starts with `prefix` (as {@link History.find}); returns its id. */
  remove(prefix: string): string;
  /** Closes the file. */
  close(): void;
}

/**
 * Opens the history at `path`. For writing, the file and its folder are created when missing and
 * the schema is migrated; for reading, a missing file is an empty history and nothing is
 * created. Throws a `UsageError` for a file that is not SQLite or has a newer schema (left
 * untouched), and the error of the file system for a place that cannot be written.
 */
export function openHistory(path: string, options: { readonly write: boolean }): History {
  const exists = checkFile(path);
  if (!exists && !options.write) return emptyHistory(path);
  let db: DatabaseSync;
  try {
    if (!exists) Deno.mkdirSync(parentOf(path), { recursive: true });
    db = new DatabaseSync(path, { readOnly: !options.write, timeout: 5000 });
  } catch (error) {
    throw cannotOpen(path, error);
  }
  try {
    const version = Number(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    if (version > SCHEMA_VERSION) {
      throw new UsageError(
        `Cannot use run history '${path}': it has schema ${version}, from a newer llmload (this ` +
          `one reads up to ${SCHEMA_VERSION}); upgrade llmload or choose another file with --history`,
      );
    }
    if (version < SCHEMA_VERSION) {
      if (!options.write) {
        // Version 0 is a file SQLite made but llmload never wrote: no runs. An older schema
        // is read after the steps that bring it up to date.
        db.close();
        return version === 0 ? emptyHistory(path) : openHistory(path, { write: true });
      }
      migrate(db, version);
    }
    db.exec("PRAGMA foreign_keys = ON");
  } catch (error) {
    db.close();
    throw error;
  }
  return historyOf(db, path);
}

/** Whether `path` exists; throws a `UsageError` when it is not an SQLite file. */
function checkFile(path: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw cannotOpen(path, error);
  }
  try {
    const header = new Uint8Array(SQLITE_HEADER.length);
    const read = file.readSync(header) ?? 0;
    // An empty file is what SQLite itself makes of a new database before its first write.
    if (read === 0) return true;
    if (new TextDecoder().decode(header.subarray(0, read)) !== SQLITE_HEADER) {
      throw new UsageError(
        `Cannot use run history '${path}': it is not an SQLite database, and llmload leaves ` +
          `it as it is; choose another file with --history`,
      );
    }
    return true;
  } finally {
    file.close();
  }
}

function cannotOpen(path: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return new Error(`Cannot open run history '${path}': ${reason}`, { cause: error });
}

function parentOf(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut <= 0 ? (cut === 0 ? "/" : ".") : path.slice(0, cut);
}

function migrate(db: DatabaseSync, from: number): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    // Another process may have migrated it since the version was read.
    const now = Number(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    for (let version = Math.max(from, now); version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]);
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function emptyHistory(path: string): History {
  return {
    path,
    add() {
      throw new Error("Cannot store a run in a history opened for reading");
    },
    list: () => [],
    find: (prefix) => {
      throw unknownId(prefix, path);
    },
    remove: (prefix) => {
      throw unknownId(prefix, path);
    },
    close() {},
  };
}

interface RunRow {
  id: string;
  stored_at: string;
  started_at: string;
  duration_ms: number;
  provider: string;
  model: string;
  host: string;
  requests_ok: number;
  requests_failed: number;
  requests_per_sec: number;
  output_tokens_per_sec: number;
  ttft_p50_ms: number | null;
  client_verdict: string | null;
  results_json: string;
  summary_json: string;
  timeseries_json: string;
}

function historyOf(db: DatabaseSync, path: string): History {
  function tagsOf(id: string): Record<string, string> {
    const rows = db.prepare("SELECT key, value FROM run_tags WHERE run_id = ? ORDER BY key")
      .all(id) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((row) => [row.key, row.value]));
  }

  function matching(prefix: string): string {
    const lower = idPrefix(prefix);
    if (lower === undefined) {
      throw new UsageError(
        `Invalid run id '${prefix}': expected the hex id llmload runs lists, such as 3f9c2a1`,
      );
    }
    const rows = db.prepare("SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 3")
      .all(lower.length, lower) as { id: string }[];
    if (rows.length === 0) throw unknownId(prefix, path);
    if (rows.length > 1) {
      throw new UsageError(
        `Ambiguous run id '${prefix}': ${rows.length > 2 ? "several runs" : "two runs"} start ` +
          `with it (${rows.slice(0, 2).map((row) => row.id).join(", ")}...); give more digits`,
      );
    }
    return rows[0].id;
  }

  return {
    path,
    add(record) {
      const { results } = record;
      const id = newRunId();
      const insert = db.prepare(
        `INSERT INTO runs (id, stored_at, started_at, duration_ms, tool_version, provider, model,
           host, requests_ok, requests_failed, requests_per_sec, output_tokens_per_sec,
           ttft_p50_ms, ttft_p99_ms, client_verdict, results_json, summary_json, timeseries_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const tag = db.prepare("INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)");
      db.exec("BEGIN IMMEDIATE");
      try {
        insert.run(
          id,
          new Date().toISOString(),
          results.startedAt,
          results.durationMs,
          results.tool.version,
          results.provider,
          results.model,
          maskUrl(results.config.host),
          results.requests.ok,
          results.requests.failed,
          results.throughput.requestsPerSec,
          results.throughput.outputTokensPerSec,
          results.metrics.ttft?.p50 ?? null,
          results.metrics.ttft?.p99 ?? null,
          results.client?.verdict ?? null,
          JSON.stringify(results),
          JSON.stringify(record.info),
          JSON.stringify(record.timeseries),
        );
        for (const [key, value] of Object.entries(record.tags)) tag.run(id, key, value);
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
      return id;
    },
    list(filter = {}) {
      const where: string[] = [];
      const values: (string | number)[] = [];
      if (filter.model !== undefined) {
        where.push("model = ?");
        values.push(filter.model);
      }
      if (filter.host !== undefined) {
        where.push("instr(host, ?) > 0");
        values.push(filter.host);
      }
      if (filter.since !== undefined) {
        where.push("started_at >= ?");
        values.push(new Date(filter.since).toISOString());
      }
      for (const [key, value] of Object.entries(filter.tags ?? {})) {
        where.push("EXISTS (SELECT 1 FROM run_tags WHERE run_id = id AND key = ? AND value = ?)");
        values.push(key, value);
      }
      const rows = db.prepare(
        `SELECT id, started_at, duration_ms, provider, model, host, requests_ok, requests_failed,
           requests_per_sec, output_tokens_per_sec, ttft_p50_ms, client_verdict FROM runs
         ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY started_at DESC, id`,
      ).all(...values) as unknown as RunRow[];
      const allIds = (db.prepare("SELECT id FROM runs").all() as { id: string }[]).map((row) =>
        row.id
      );
      const short = shortIds(allIds);
      return rows.map((row) => ({
        id: row.id,
        shortId: short.get(row.id) ?? row.id,
        startedAt: row.started_at,
        durationMs: row.duration_ms,
        provider: row.provider,
        model: row.model,
        host: row.host,
        ok: row.requests_ok,
        failed: row.requests_failed,
        requestsPerSec: row.requests_per_sec,
        outputTokensPerSec: row.output_tokens_per_sec,
        ttftP50Ms: row.ttft_p50_ms,
        clientVerdict: row.client_verdict,
        tags: tagsOf(row.id),
      }));
    },
    find(prefix) {
      const id = matching(prefix);
      const row = db.prepare(
        "SELECT id, stored_at, results_json, summary_json, timeseries_json FROM runs WHERE id = ?",
      ).get(id) as unknown as RunRow;
      return {
        id,
        storedAt: row.stored_at,
        results: JSON.parse(row.results_json),
        info: JSON.parse(row.summary_json),
        timeseries: JSON.parse(row.timeseries_json),
        tags: tagsOf(id),
      };
    },
    remove(prefix) {
      const id = matching(prefix);
      db.prepare("DELETE FROM runs WHERE id = ?").run(id);
      return id;
    },
    close() {
      db.close();
    },
  };
}

function unknownId(prefix: string, path: string): UsageError {
  return new UsageError(
    `Unknown run id '${prefix}': no run in '${path}' has it; llmload runs lists the stored runs`,
  );
}
