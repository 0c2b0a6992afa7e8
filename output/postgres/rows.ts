/**
 * The rows one live view becomes in the `--pg` tables (see `schema.ts`). Pure: the view, the
 * time of the view before it and the run's labels in, plain rows out.
 *
 * `request` gets one row per finished request, as locust-plugins writes it, so the dashboards'
 * `count(*)` and `percentile_cont(...) WITHIN GROUP (ORDER BY response_time)` read true counts
 * and latencies: the shards send histograms, not records, so a successful request's
 * `response_time` is its total latency to HDR's 3 significant digits, and its `time` is the end
 * of the second it finished in. A failed request has `success = 0`, its failure kind as
 * `exception` and no `response_time`.
 *
 * @module
 */
import type { LiveView } from "../../run/types.ts";
import { FAILURE_KINDS } from "../../stats/metrics.ts";

/** What every row of one run carries. */
export interface RunLabels {
  /** The run's id in every table: when load started (locust-plugins' `run_id`). */
  readonly runId: Date;
  /** The `testplan` column: the model the requests name. */
  readonly testplan: string;
  /** The `loadgen` column: this machine's host name. */
  readonly loadgen: string;
  /** The `pid` column: this process. */
  readonly pid: number;
  /** The `url` column: the target, its password masked. */
  readonly url: string;
}

/** A table rows are pushed to while the run goes. */
export type PushTable = "testrun" | "request" | "user_count" | "events" | "llmload_second";

/** One row of `request`, locust-plugins' columns. */
export interface RequestRow {
  time: Date;
  run_id: Date;
  exception: string | null;
  greenlet_id: number;
  loadgen: string;
  name: string;
  request_type: string;
  response_length: number | null;
  response_time: number | null;
  success: number;
  testplan: string;
  pid: number;
  context: null;
  url: string;
}

/** One row of `user_count`. */
export interface UserCountRow {
  testplan: string;
  user_count: number;
  time: Date;
  run_id: Date;
}

/** One row of `events`. */
export interface EventRow {
  time: Date;
  text: string;
}

/** One row of `llmload_second`: what one live view's interval measured. Times in ms. */
export interface SecondRow {
  time: Date;
  run_id: Date;
  testplan: string;
  duration_ms: number;
  requests: number;
  failures: number;
  failures_by_kind: Record<string, number>;
  output_tokens: number;
  prompt_tokens: number;
  requests_per_sec: number;
  output_tokens_per_sec: number;
  total_tokens_per_sec: number;
  users: number;
  target_qps: number | null;
  in_flight: number;
  ttft_p50: number | null;
  ttft_p90: number | null;
  ttft_p99: number | null;
  itl_p50: number | null;
  itl_p90: number | null;
  itl_p99: number | null;
  tpot_p50: number | null;
  tpot_p90: number | null;
  tpot_p99: number | null;
  latency_p50: number | null;
  latency_p90: number | null;
  latency_p99: number | null;
  client_cpu: number;
  client_loop_lag_ms: number;
  client_saturated: boolean;
}

/** One row of `testrun`, as inserted when the run starts. */
export interface TestrunRow {
  id: Date;
  testplan: string;
  num_clients: number;
  rps: number | null;
  env: string;
  username: string | null;
  arguments: string;
}

/** The rows of each table that one view adds. */
export interface ViewRows {
  /** One per request finished in the view's interval. */
  readonly request: RequestRow[];
  /** The users now. */
  readonly user_count: UserCountRow[];
  /** The interval's streaming metrics. */
  readonly llmload_second: SecondRow[];
}

/**
 * The rows `view` adds: its interval's requests, the users now, and its `llmload_second` row.
 * `previousNow` is the previous view's `now` (the start of load for the first view).
 */
export function rowsOfView(view: LiveView, previousNow: number, labels: RunLabels): ViewRows {
  const time = new Date(view.now);
  return {
    request: requestRows(view, time, labels),
    user_count: [{
      testplan: labels.testplan,
      user_count: view.load.users,
      time,
      run_id: labels.runId,
    }],
    llmload_second: [secondRow(view, previousNow, labels)],
  };
}

function requestRows(view: LiveView, time: Date, labels: RunLabels): RequestRow[] {
  const rows: RequestRow[] = [];
  const base = {
    time,
    run_id: labels.runId,
    greenlet_id: 0,
    loadgen: labels.loadgen,
    name: view.target.provider,
    request_type: "POST",
    response_length: null,
    testplan: labels.testplan,
    pid: labels.pid,
    context: null,
    url: labels.url,
  } as const;
  const { ok } = view.interval.counts();
  let timed = 0;
  for (const { value, count } of view.interval.values("total_latency")) {
    for (let i = 0; i < count && timed < ok; i++, timed++) {
      rows.push({ ...base, exception: null, response_time: value, success: 1 });
    }
  }
  // A success always has a total latency; the guard keeps the row count equal to `ok` anyway.
  for (; timed < ok; timed++) {
    rows.push({ ...base, exception: null, response_time: null, success: 1 });
  }
  const failures = view.interval.failures();
  for (const kind of FAILURE_KINDS) {
    for (let i = 0; i < (failures[kind]?.count ?? 0); i++) {
      rows.push({ ...base, exception: kind, response_time: null, success: 0 });
    }
  }
  return rows;
}

function secondRow(view: LiveView, previousNow: number, labels: RunLabels): SecondRow {
  const { interval } = view;
  const counts = interval.counts();
  const durationMs = Math.max(0, view.now - previousNow);
  const perSecond = (amount: number) => durationMs > 0 ? amount / (durationMs / 1000) : 0;
  const failures = interval.failures();
  const failuresByKind: Record<string, number> = {};
  for (const kind of FAILURE_KINDS) {
    if (failures[kind]) failuresByKind[kind] = failures[kind].count;
  }
  // One summary per metric: each one reads the histogram for all its percentiles.
  const [ttft, itl, tpot, latency] = (["ttft", "itl", "tpot", "total_latency"] as const)
    .map((name) => interval.metric(name));
  return {
    time: new Date(view.now),
    run_id: labels.runId,
    testplan: labels.testplan,
    duration_ms: durationMs,
    requests: counts.ok,
    failures: counts.failed,
    failures_by_kind: failuresByKind,
    output_tokens: counts.outputTokens,
    prompt_tokens: counts.promptTokens,
    requests_per_sec: perSecond(counts.ok),
    output_tokens_per_sec: perSecond(counts.outputTokens),
    total_tokens_per_sec: perSecond(counts.outputTokens + counts.promptTokens),
    users: view.load.users,
    target_qps: view.load.qps ?? null,
    in_flight: view.inFlight,
    ttft_p50: ttft?.p50 ?? null,
    ttft_p90: ttft?.p90 ?? null,
    ttft_p99: ttft?.p99 ?? null,
    itl_p50: itl?.p50 ?? null,
    itl_p90: itl?.p90 ?? null,
    itl_p99: itl?.p99 ?? null,
    tpot_p50: tpot?.p50 ?? null,
    tpot_p90: tpot?.p90 ?? null,
    tpot_p99: tpot?.p99 ?? null,
    latency_p50: latency?.p50 ?? null,
    latency_p90: latency?.p90 ?? null,
    latency_p99: latency?.p99 ?? null,
    client_cpu: view.client.cpu,
    client_loop_lag_ms: view.client.loopLagMs,
    client_saturated: view.client.saturated,
  };
}

/** The `testrun` row of a run, from its first view; `username` is the `USER` it runs as. */
export function testrunRow(
  view: LiveView,
  labels: RunLabels,
  username: string | null,
): TestrunRow {
  return {
    id: labels.runId,
    testplan: labels.testplan,
    num_clients: view.load.users,
    rps: view.load.qps ?? null,
    env: "llmload",
    username,
    arguments: JSON.stringify(view.config),
  };
}
