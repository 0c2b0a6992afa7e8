/**
 * The tables `--pg` writes, as SQL. `testrun`, `request`, `user_count` and `events` have the
 * columns of locust-plugins' Timescale schema (`timescale_schema.sql`), so its Grafana dashboards
 * read llmload runs unchanged; `llmload_second` is llmload's own, one row per live view (about a
 * second) with the streaming metrics locust has no column for. Every statement may run again on a
 * database that already has the tables. Pure.
 *
 * @module
 */

/** `CREATE TABLE IF NOT EXISTS` and the indexes, in order; safe to run on every start. */
export const CREATE_TABLES: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS testrun (
    id timestamp with time zone NOT NULL PRIMARY KEY,
    testplan text NOT NULL,
    profile_name text,
    num_clients integer NOT NULL,
    rps double precision,
    description text,
    end_time timestamp with time zone,
    env character varying(10) NOT NULL,
    username character varying(64),
    gitrepo character varying(120),
    rps_avg numeric,
    resp_time_avg numeric,
    changeset_guid character varying(36),
    fail_ratio double precision,
    requests integer,
    arguments text,
    exit_code integer
  )`,
  `CREATE TABLE IF NOT EXISTS request (
    "time" timestamp with time zone NOT NULL,
    run_id timestamp with time zone NOT NULL,
    exception text,
    greenlet_id integer NOT NULL,
    loadgen text NOT NULL,
    name text NOT NULL,
    request_type text NOT NULL,
    response_length integer,
    response_time double precision,
    success smallint NOT NULL,
    testplan character varying(255) NOT NULL,
    pid integer,
    context jsonb,
    url character varying(255)
  )`,
  `CREATE TABLE IF NOT EXISTS user_count (
    testplan character varying(255) NOT NULL,
    user_count integer NOT NULL,
    "time" timestamp with time zone NOT NULL,
    run_id timestamp with time zone
  )`,
  `CREATE TABLE IF NOT EXISTS events (
    "time" timestamp with time zone NOT NULL,
    text text NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS llmload_second (
    "time" timestamp with time zone NOT NULL,
    run_id timestamp with time zone NOT NULL,
    testplan character varying(255) NOT NULL,
    duration_ms double precision NOT NULL,
    requests integer NOT NULL,
    failures integer NOT NULL,
    failures_by_kind jsonb NOT NULL,
    output_tokens bigint NOT NULL,
    prompt_tokens bigint NOT NULL,
    requests_per_sec double precision NOT NULL,
    output_tokens_per_sec double precision NOT NULL,
    total_tokens_per_sec double precision NOT NULL,
    users integer NOT NULL,
    target_qps double precision,
    in_flight integer NOT NULL,
    ttft_p50 double precision,
    ttft_p90 double precision,
    ttft_p99 double precision,
    itl_p50 double precision,
    itl_p90 double precision,
    itl_p99 double precision,
    tpot_p50 double precision,
    tpot_p90 double precision,
    tpot_p99 double precision,
    latency_p50 double precision,
    latency_p90 double precision,
    latency_p99 double precision,
    client_cpu double precision NOT NULL,
    client_loop_lag_ms double precision NOT NULL,
    client_saturated boolean NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS request_time_idx ON request USING btree ("time" DESC)`,
  `CREATE INDEX IF NOT EXISTS run_id_idx ON request USING btree (run_id)`,
  `CREATE INDEX IF NOT EXISTS testrun_id_idx ON testrun USING btree (id DESC)`,
  `CREATE INDEX IF NOT EXISTS user_count_time_idx ON user_count USING btree ("time" DESC)`,
  `CREATE INDEX IF NOT EXISTS llmload_second_run_time_idx ON llmload_second (run_id, "time")`,
];

/** Whether the server can load TimescaleDB; then the time tables become hypertables. */
export const HAS_TIMESCALE =
  `SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`;

/**
 * Turns the time tables into hypertables; run only when {@link HAS_TIMESCALE} finds the
 * extension. locust-plugins makes `request` one; `llmload_second` grows the same way.
 */
export const CREATE_HYPERTABLES: readonly string[] = [
  `CREATE EXTENSION IF NOT EXISTS timescaledb`,
  `SELECT create_hypertable('request', 'time', if_not_exists => TRUE, migrate_data => TRUE)`,
  `SELECT create_hypertable('llmload_second', 'time', if_not_exists => TRUE, migrate_data => TRUE)`,
];
