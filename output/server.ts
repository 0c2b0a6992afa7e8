/**
 * The embedded results server (`--serve`): a Hono app on `Deno.serve` that shows a run while it
 * goes and after it ends.
 *
 * | route | what |
 * | --- | --- |
 * | `GET /` | the live dashboard (files in `output/dashboard/`) |
 * | `GET /api/results` | the `--json` results plus `state` and `live`, with an ETag |
 * | `GET /api/timeseries` | per-second points, bounded in memory, with an ETag |
 * | `GET /metrics` | Prometheus text format |
 * | `GET /healthz` | `{"status":"ok","state":...}` |
 * | `POST /api/stop` | stops the run gracefully (bearer token) |
 * | `POST /api/load` | `{"users": N}` and/or `{"qps": X}` (bearer token) |
 *
 * The coordinator feeds it through `update(view)` about once a second and hands it the run's
 * control; `finish(results)` swaps in the final results, identical to what `--json` writes.
 * Every JSON answer has the API key and the serve token scrubbed out.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { timingSafeEqual } from "node:crypto";
import type { LiveView, RunControl, RunState } from "../run/types.ts";
import { UsageError } from "../common/errors.ts";
import { fileLimitProblem, openFileLimit } from "../run/limits.ts";
import {
  type DashboardAssets,
  dashboardResults,
  dashboardTimeseries,
  type LiveFacts,
  liveFacts,
  readDashboardAssets,
} from "./html_report.ts";
import { PROMETHEUS_CONTENT_TYPE, RunMetrics } from "./prometheus.ts";
import { buildResults } from "./results.ts";
import { secretsOf } from "../common/secrets.ts";
import type { Results } from "./results.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { feedSeries, TimeSeries } from "./timeseries.ts";
import type { RunConfig } from "../options/types.ts";
import type { Output } from "./types.ts";

/** Largest `users` that `POST /api/load` accepts. */
export const MAX_USERS = 100_000;

/** Options of {@link createResultsApp}. */
export interface ResultsAppOptions {
  /** Where the points go; default a new `TimeSeries`. */
  readonly series?: TimeSeries;
  /** The dashboard's files; default read from `output/dashboard/` on first use. */
  readonly assets?: DashboardAssets;
  /** The open-file limit `POST /api/load` checks users against; default {@link openFileLimit}. */
  readonly openFileLimit?: () => Promise<number | undefined>;
}

/** The app and the hooks that feed it. */
export interface ResultsApp {
  /** The Hono app; `app.fetch` serves it, `app.request` tests it. */
  readonly app: Hono;
  /** The run's points, as `/api/timeseries` serves them. */
  readonly series: TimeSeries;
  /** Where the run is, as the routes report it. */
  readonly state: RunState;
  /** Takes one live view (about once a second and at each change of state). */
  update(view: LiveView): void;
  /** Takes the run's control; the control routes refuse with 409 until it comes. */
  setControl(control: RunControl): void;
  /** Serves the final results (the `--json` ones) with state `done` from now on. */
  finish(results: Results): void;
}

/**
 * Builds the results app for a run. Nothing listens: serve `app.fetch`, or call `app.request`
 * in tests.
 */
export function createResultsApp(config: RunConfig, options: ResultsAppOptions = {}): ResultsApp {
  const series = options.series ?? new TimeSeries();
  const addView = feedSeries(series);
  const metrics = new RunMetrics();
  const secrets = secretsOf(config);
  const runId = crypto.randomUUID().slice(0, 8);
  let assets: Promise<DashboardAssets> | undefined = options.assets
    ? Promise.resolve(options.assets)
    : undefined;
  let state: RunState = "starting";
  let version = 0;
  let control: RunControl | undefined;
  let lastView: LiveView | undefined;
  let results: Results = buildResults(new Aggregate(), {
    provider: config.provider ?? "",
    model: config.model ?? "",
    config,
    startedAt: Date.now(),
    endedAt: Date.now(),
    durationMs: 0,
    partial: true,
  });
  let live: LiveFacts | undefined;
  // Serialised once per version, not per request: pollers are many, versions one a second.
  let cache: { version: number; results: string; timeseries: string } | undefined;

  function bodies() {
    if (cache?.version !== version) {
      cache = {
        version,
        results: JSON.stringify(dashboardResults(results, { state, live, secrets })),
        timeseries: JSON.stringify(
          dashboardTimeseries(series, { state, startedAt: lastView?.startedAt }),
        ),
      };
    }
    return cache;
  }

  function setState(next: RunState) {
    if (next === state) return;
    state = next;
    version++;
  }

  const app = new Hono();
  app.use("*", async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });

  function jsonWithEtag(c: Context, body: string) {
    const etag = `"${runId}-${version}"`;
    c.header("ETag", etag);
    c.header("Cache-Control", "no-cache");
    if (etagMatches(c.req.header("If-None-Match"), etag)) return c.body(null, 304);
    return c.body(body, 200, { "Content-Type": "application/json; charset=utf-8" });
  }

  app.get("/api/results", (c) => jsonWithEtag(c, bodies().results));
  app.get("/api/timeseries", (c) => jsonWithEtag(c, bodies().timeseries));
  app.get("/metrics", (c) => {
    c.header("Cache-Control", "no-cache");
    return c.body(metrics.format(state), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
  });
  app.get("/healthz", (c) => c.json({ status: "ok", state }));

  async function asset(c: Context, pick: (assets: DashboardAssets) => string, type: string) {
    assets ??= readDashboardAssets();
    c.header("Cache-Control", "no-cache");
    return c.body(pick(await assets), 200, { "Content-Type": type });
  }
  app.get("/", (c) => asset(c, (a) => a.html, "text/html; charset=utf-8"));
  app.get("/assets/app.js", (c) => asset(c, (a) => a.script, "text/javascript; charset=utf-8"));
  app.get("/assets/style.css", (c) => asset(c, (a) => a.style, "text/css; charset=utf-8"));
  app.get(
    "/assets/uplot.js",
    (c) => asset(c, (a) => a.chartScript, "text/javascript; charset=utf-8"),
  );
  app.get("/assets/uplot.css", (c) => asset(c, (a) => a.chartStyle, "text/css; charset=utf-8"));

  const authorised: MiddlewareHandler = async (c, next) => {
    if (!config.serveToken) {
      return c.json({
        error: "Control routes are disabled: start llmload with --serve-token to enable them",
      }, 403);
    }
    if (!bearerMatches(c.req.header("Authorization"), config.serveToken)) {
      c.header("WWW-Authenticate", 'Bearer realm="llmload"');
      return c.json({ error: "Missing or wrong bearer token" }, 401);
    }
    if (state === "done" || state === "stopping") {
      return c.json({ error: `The run is ${state === "done" ? "over" : "stopping"}` }, 409);
    }
    if (!control) return c.json({ error: "The run has not started yet" }, 409);
    await next();
  };

  app.post("/api/stop", authorised, (c) => {
    control!.stop();
    setState("stopping");
    return c.json({ state }, 202);
  });

  app.post("/api/load", authorised, async (c) => {
    const text = await c.req.text();
    const change = parseLoadChange(text, { qpsMode: config.qps !== undefined });
    if ("error" in change) return c.json({ error: change.error }, 400);
    if (change.users !== undefined) {
      // The same check as at the start: past the limit, connections fail mid-run instead.
      const problem = fileLimitProblem(
        change.users,
        await (options.openFileLimit ?? openFileLimit)(),
      );
      if (problem !== undefined) {
        return c.json({
          error: `Cannot set users to ${change.users}: ${problem}; raise it and restart llmload`,
        }, 400);
      }
    }
    control!.setLoad(change);
    const current = lastView?.load ?? { users: config.users, qps: config.qps };
    const load = {
      users: change.users ?? current.users,
      qps: current.qps === undefined ? null : change.qps ?? current.qps,
    };
    return c.json({ load }, 202);
  });

  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}` }, 404));

  return {
    app,
    series,
    get state() {
      return state;
    },
    update(view) {
      if (state === "done") return;
      addView(view);
      metrics.observe(view);
      lastView = view;
      // A stop asked for here shows at once; the view catches up on the next tick.
      state = state === "stopping" && view.state === "running" ? state : view.state;
      live = liveFacts(view);
      results = buildResults(view.aggregate, {
        provider: view.target.provider,
        model: view.target.model,
        config,
        startedAt: view.windowStart,
        endedAt: view.now,
        durationMs: Math.max(0, view.now - view.windowStart),
        partial: view.state !== "done",
        warnings: view.warnings,
        serverMetrics: view.serverMetrics,
      });
      version++;
    },
    setControl(next) {
      control = next;
    },
    finish(final) {
      results = final;
      if (live) live = { ...live, inFlight: 0 };
      state = "done";
      version++;
    },
  };
}

/** Whether an `If-None-Match` header names `etag` (weak comparison, lists and `*` allowed). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match) return false;
  const given = new TextEncoder().encode(match[1]);
  const expected = new TextEncoder().encode(token);
  // Compared in constant time so the token cannot be guessed byte by byte from timings.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Reads the body of `POST /api/load`: a JSON object with `users` (a whole number, 1 to
 * {@link MAX_USERS}) and/or `qps` (a number > 0, QPS mode only).
 */
export function parseLoadChange(
  text: string,
  options: { readonly qpsMode: boolean },
): { users?: number; qps?: number } | { error: string } {
  const example = 'expected JSON such as {"users": 8} or {"qps": 2.5}';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: `Cannot parse the request body: ${example}` };
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return { error: `Cannot read the request body: ${example}` };
  }
  const { users, qps, ...others } = body as Record<string, unknown>;
  const unknown = Object.keys(others);
  if (unknown.length > 0) {
    return { error: `Cannot change '${unknown[0]}': only users and qps can be changed` };
  }
  if (users === undefined && qps === undefined) {
    return { error: `Cannot change the load: ${example}` };
  }
  const change: { users?: number; qps?: number } = {};
  if (users !== undefined) {
    if (typeof users !== "number" || !Number.isInteger(users) || users < 1 || users > MAX_USERS) {
      return {
        error: `Cannot set users to ${JSON.stringify(users)}: expected a whole number from 1 to ` +
          MAX_USERS,
      };
    }
    change.users = users;
  }
  if (qps !== undefined) {
    if (!options.qpsMode) {
      return { error: "Cannot set qps: this run is not in QPS mode (start it with --qps)" };
    }
    if (typeof qps !== "number" || !Number.isFinite(qps) || qps <= 0) {
      return { error: `Cannot set qps to ${JSON.stringify(qps)}: expected a number above 0` };
    }
    change.qps = qps;
  }
  return change;
}

/** A running results server. */
export interface ResultsServer extends ResultsApp {
  /** Base URL, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** Stops listening; resolves when open requests are done. */
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 2000;

/**
 * Starts the results server on `config.serve`. A port that cannot be bound is a usage error.
 */
export async function startResultsServer(
  config: RunConfig,
  options: ResultsAppOptions = {},
): Promise<ResultsServer> {
  if (!config.serve) throw new Error("startResultsServer needs config.serve");
  const results = createResultsApp(config, {
    ...options,
    assets: options.assets ?? await readDashboardAssets(),
  });
  const { hostname, port } = config.serve;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen() {} }, results.app.fetch);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`Cannot serve on ${hostAndPort(hostname, port)}: ${reason}`);
  }
  const url = `http://${hostAndPort(hostname, server.addr.port)}`;
  return {
    app: results.app,
    series: results.series,
    get state() {
      return results.state;
    },
    update: results.update,
    setControl: results.setControl,
    finish: results.finish,
    url,
    async close() {
      const timeout = new Promise<false>((resolve) => {
        const id = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS);
        Deno.unrefTimer(id);
      });
      const closed = await Promise.race([server.shutdown().then(() => true), timeout]);
      // A browser that holds its connection open must not keep the process alive.
      if (!closed) server.unref();
    },
  };
}

function hostAndPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** Whether `hostname` only accepts connections from this machine. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

/** The results server as an output: every live view updates it, the final results finish it. */
export function serverOutput(server: Pick<ResultsApp, "update" | "finish">): Output {
  return {
    name: "results server",
    observe: (view) => server.update(view),
    finish: ({ results }) => server.finish(results),
  };
}
