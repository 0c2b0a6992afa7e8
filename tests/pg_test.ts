import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { StartError } from "../common/errors.ts";
import { PushQueue } from "../output/postgres/queue.ts";
import { completionRecords, runAgainst, withMock, withTempDir } from "./_harness.ts";
import { freePort, startPostgres, type TestPostgres } from "./_postgres.ts";
import { aggregateOf, pause, requestRecord, startServedRun, waitFor } from "./_server_harness.ts";
import { needing, toolPath } from "./_tools.ts";

const DEPLOY = new URL("../deploy/", import.meta.url);
const DASHBOARDS = new URL("grafana/dashboards/", DEPLOY);

/** A panel's query as the dashboard JSON holds it. */
interface PanelQuery {
  readonly panel: string;
  readonly refId: string;
  readonly text: string;
}

async function dashboard(name: string) {
  return JSON.parse(await Deno.readTextFile(new URL(name, DASHBOARDS)));
}

/** Every panel's queries (`rawSql` or `expr`), plus the annotations' and variables' for SQL. */
async function panelQueries(name: string, field: "rawSql" | "expr"): Promise<PanelQuery[]> {
  const json = await dashboard(name);
  const queries: PanelQuery[] = [];
  for (const panel of json.panels) {
    for (const target of panel.targets) {
      queries.push({ panel: panel.title, refId: target.refId, text: target[field] });
    }
  }
  for (const annotation of json.annotations?.list ?? []) {
    if (annotation.target?.rawSql) {
      queries.push({
        panel: `annotation ${annotation.name}`,
        refId: "-",
        text: annotation.target.rawSql,
      });
    }
  }
  for (const variable of json.templating.list) {
    if (field === "rawSql") {
      queries.push({ panel: `variable ${variable.name}`, refId: "-", text: variable.query });
    }
  }
  return queries;
}

/**
 * Grafana's PostgreSQL macros as Grafana expands them, for one-second buckets over `range`, and
 * the dashboard's `$testplan`.
 */
function expandSql(text: string, range: { from: Date; to: Date }, testplan: string): string {
  const expanded = text
    .replace(
      /\$__timeGroupAlias\(("?\w+"?), \$__interval\)/g,
      'to_timestamp(floor(extract(epoch from $1))) AS "time"',
    )
    .replace(
      /\$__timeFilter\(("?\w+"?)\)/g,
      `$1 BETWEEN '${range.from.toISOString()}' AND '${range.to.toISOString()}'`,
    )
    .replaceAll("$__interval_ms", "1000")
    .replaceAll("$testplan", testplan);
  assert.ok(!expanded.includes("$"), `a macro is left in: ${expanded}`);
  return expanded;
}

function withPostgres(body: (pg: TestPostgres) => Promise<void>): () => Promise<void> {
  return async () => {
    const pg = await startPostgres();
    try {
      await body(pg);
    } finally {
      await pg.stop();
    }
  };
}

Deno.test(needing(["initdb", "pg_ctl"], {
  name: "--pg fills locust-plugins' tables and llmload_second, and every Postgres panel reads it",
  fn: withPostgres(async (pg) => {
    await withMock(
      { ttftMs: 5, itlMs: 2, faults: [{ kind: "http_503", rate: 0.2 }] },
      async (mock) => {
        const from = new Date();
        const run = await runAgainst(mock, [
          "-u",
          "4",
          "-t",
          "3s",
          "--warmup",
          "0",
          "--max-tokens",
          "8",
          "--keep-going",
          "--pg",
          pg.url("s3cret-pw"),
        ]);
        const to = new Date();
        const { results } = run;
        assert.ok(
          results.requests.ok > 0 && results.requests.failed > 0,
          JSON.stringify(results.requests),
        );
        assert.deepEqual(results.pg, { written: results.pg!.written, lost: 0, failedWrites: 0 });
        assert.ok(
          run.log.some((line) =>
            /^Postgres: \d+ rows written to postgresql:\/\/llmload:\*\*\*@/.test(line)
          ),
          run.log.join("\n"),
        );
        assert.ok(!JSON.stringify(results).includes("s3cret-pw"));
        assert.ok(!run.log.join("\n").includes("s3cret-pw"));

        const [requests] = await pg
          .sql`SELECT count(*)::int AS n, sum(1 - success)::int AS failed FROM request`;
        assert.deepEqual(requests, { n: results.requests.total, failed: results.requests.failed });
        const [testrun] = await pg.sql`SELECT * FROM testrun`;
        assert.equal(testrun.testplan, "mock-model");
        assert.equal(testrun.requests, results.requests.total);
        assert.equal(testrun.exit_code, run.exitCode);
        assert.ok(!String(testrun.arguments).includes("s3cret-pw"), testrun.arguments);
        const events = await pg.sql`SELECT text FROM events ORDER BY time`;
        assert.deepEqual(events.map((row) => row.text.replace(/ by .*/, " by")), [
          "mock-model started by",
          `mock-model finished with exit code: ${run.exitCode}`,
        ]);

        const rowsOf = new Map<string, Record<string, unknown>[]>();
        for (const query of await panelQueries("llmload-postgres.json", "rawSql")) {
          const rows = await pg.sql.unsafe(expandSql(query.text, { from, to }, "mock-model"));
          assert.ok(rows.length > 0, `${query.panel} ${query.refId} returned no rows`);
          rowsOf.set(`${query.panel} ${query.refId}`, rows);
        }
        const sum = (key: string, column: string) =>
          rowsOf.get(key)!.reduce((total, row) => total + Number(row[column]), 0);
        // One-second buckets: the per-second rates add up to the run's counts.
        assert.equal(Math.round(sum("Throughput A", "requests/s")), results.requests.ok);
        assert.equal(Math.round(sum("Throughput A", "failures/s")), results.requests.failed);
        assert.equal(Math.round(sum("Throughput B", "output tokens/s")), results.tokens.output);
        const failures = rowsOf.get("Failures by kind A")!;
        assert.deepEqual(
          [...new Set(failures.map((row) => row.metric))],
          Object.keys(results.failures),
        );
        assert.equal(Math.round(sum("Failures by kind A", "value")), results.requests.failed);
        const latency = results.metrics.total_latency!;
        for (const row of rowsOf.get("Response time (locust-plugins request table) A")!) {
          assert.ok(
            Number(row.p50) >= latency.min && Number(row.p99) <= latency.max,
            JSON.stringify(row),
          );
        }
        for (const row of rowsOf.get("Time to first token A")!) {
          assert.ok(
            Number(row.p50) <= Number(row.p99) && Number(row.p99) <= results.metrics.ttft!.max,
          );
        }
        assert.equal(rowsOf.get("Users and target QPS A")![0].users, 4);
        assert.equal(rowsOf.get("Test runs A")![0].requests, results.requests.total);
        assert.deepEqual(rowsOf.get("variable testplan -")!.map((row) => row.testplan), [
          "mock-model",
        ]);
      },
    );
  }),
}));

Deno.test(needing(["initdb", "pg_ctl"], {
  name: "a Postgres restart mid-run neither stops the load nor loses a row uncounted",
  fn: withPostgres(async (pg) => {
    await withMock({ ttftMs: 5, itlMs: 2 }, async (mock) => {
      const running = runAgainst(mock, [
        "-u",
        "4",
        "-t",
        "5s",
        "--warmup",
        "0",
        "--max-tokens",
        "8",
        "--pg",
        pg.url(),
      ]);
      running.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
      await waitFor("the first rows", async () => {
        // The table appears once llmload has connected.
        const rows = await pg.sql`SELECT count(*)::int AS n FROM llmload_second`.catch(() => []);
        return rows[0]?.n > 0 ? rows[0].n : undefined;
      });
      await pg.halt();
      // Down for two of the run's seconds: the views of those seconds wait in the queue.
      const before = mock.records().length;
      await pause(2_500);
      assert.ok(
        mock.records().length > before + 20,
        "the load went on while the database was down",
      );
      await pg.start();
      const run = await running;
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      const tally = run.results.pg!;
      assert.ok(tally.failedWrites > 0, `the outage went unseen: ${JSON.stringify(tally)}`);
      const [{ n }] = await pg.sql`SELECT count(*)::int AS n FROM request`;
      assert.equal(n + tally.lost, run.results.requests.total, JSON.stringify(tally));
      assert.equal(tally.lost, 0, "a two-second outage fits in the buffer and is retried");
      assert.ok(run.results.requests.total >= completionRecords(mock.records()).length - 4);
    });
  }),
}));

Deno.test("an unreachable --pg stops the run before load with one line; --pg-optional warns", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const url = `postgresql://llmload:s3cret-pw@127.0.0.1:${freePort()}/postgres`;
    const error = await runAgainst(mock, ["-u", "1", "-t", "1s", "--pg", url]).then(
      () => undefined,
      (error) => error,
    );
    assert.ok(error instanceof StartError, String(error));
    assert.match(
      error.message,
      /^Cannot reach PostgreSQL at postgresql:\/\/llmload:\*\*\*@127\.0\.0\.1:\d+\/postgres: /,
    );
    assert.ok(!error.message.includes("s3cret-pw") && !error.message.includes("\n"));
    assert.equal(completionRecords(mock.records()).length, 0);

    const run = await runAgainst(mock, ["-u", "1", "-t", "1s", "--pg", url, "--pg-optional"]);
    assert.equal(run.exitCode, 0);
    const warnings = run.log.filter((line) => line.includes("PostgreSQL"));
    assert.equal(warnings.length, 1, run.log.join("\n"));
    assert.match(
      warnings[0],
      /^Warning: Cannot reach PostgreSQL at .*; the run goes on without --pg/,
    );
    assert.equal(run.results.pg, undefined);
    assert.ok(run.results.requests.ok > 0);
  });
});

Deno.test("the request rows' latencies: every sample once, ascending, at the percentiles' values", () => {
  const records = Array.from(
    { length: 999 },
    (_, i) => requestRecord(10 + (i % 37), { itlMs: 1 + (i % 7), tokens: 20 }),
  );
  const aggregate = aggregateOf(records);
  const values = aggregate.values("total_latency");
  const summary = aggregate.metric("total_latency")!;
  assert.equal(values.reduce((sum, { count }) => sum + count, 0), 999);
  for (let i = 1; i < values.length; i++) assert.ok(values[i - 1].value < values[i].value);
  // Each value is the top of its HDR bucket (3 significant digits), clamped to the extremes.
  assert.ok(values[0].value >= summary.min && values[0].value <= summary.min * 1.001);
  assert.equal(values.at(-1)!.value, summary.max);
  // The 500th of 999 sorted samples is the median HDR reports.
  const expanded = values.flatMap(({ value, count }) => Array(count).fill(value));
  assert.equal(expanded[499], summary.p50);
  assert.deepEqual(aggregateOf([]).values("total_latency"), []);
});

Deno.test("the push queue writes in order, retries a failed write, and counts what it drops", async () => {
  const written: string[] = [];
  let failures = 2;
  const queue = new PushQueue<string>(async (batch) => {
    await Promise.resolve();
    if (failures-- > 0) throw new Error("connection refused");
    written.push(...batch.rows.map((row) => `${batch.table}:${(row as { n: number }).n}`));
  }, { maxRows: 4, batchRows: 2, firstPauseMs: 1, maxPauseMs: 2 });
  queue.push("a", [{ n: 1 }, { n: 2 }, { n: 3 }]);
  queue.push("b", [{ n: 4 }, { n: 5 }, { n: 6 }]);
  // 6 rows for a buffer of 4: the oldest waiting rows (a:3, b:4) go, never the batch in flight.
  assert.equal(queue.buffered, 4);
  const tally = await queue.drain(5_000);
  assert.deepEqual(written, ["a:1", "a:2", "b:5", "b:6"]);
  assert.deepEqual(tally, {
    written: 4,
    lost: 2,
    failedWrites: 2,
    lastError: "Error: connection refused",
  });
  queue.push("a", [{ n: 7 }]);
  assert.equal((await queue.drain(0)).lost, 3, "rows pushed after the end count as lost");
});

Deno.test("the push queue gives up at the deadline and counts the rows still waiting", async () => {
  const queue = new PushQueue<string>(() => Promise.reject(new Error("down")), {
    firstPauseMs: 5,
    maxPauseMs: 10,
  });
  queue.push("a", [{ n: 1 }, { n: 2 }]);
  const tally = await queue.drain(50);
  assert.equal(tally.written, 0);
  assert.equal(tally.lost, 2);
  assert.ok(tally.failedWrites >= 1);
});

Deno.test(needing(["prometheus", "promtool"], {
  name: "every Prometheus panel's query answers from a real Prometheus scraping --serve",
  fn: async () => {
    await withMock(
      { ttftMs: 5, itlMs: 2, faults: [{ kind: "http_503", rate: 0.2 }] },
      async (mock) => {
        await withTempDir(async (dir) => {
          const run = startServedRun(mock, [
            "--qps",
            "20",
            "-u",
            "4",
            "--max-tokens",
            "8",
            "--warmup",
            "0",
            "--keep-going",
            "--serve",
            "127.0.0.1:0",
          ]);
          const target = new URL(await run.url).host;
          await Deno.writeTextFile(
            `${dir}/prometheus.yml`,
            [
              "global: {scrape_interval: 1s, scrape_timeout: 1s}",
              "scrape_configs:",
              "  - job_name: llmload",
              `    static_configs: [{targets: ["${target}"]}]`,
            ].join("\n") + "\n",
          );
          const port = freePort();
          const prometheus = new Deno.Command(toolPath("prometheus")!, {
            args: [
              `--config.file=${dir}/prometheus.yml`,
              `--storage.tsdb.path=${dir}/data`,
              `--web.listen-address=127.0.0.1:${port}`,
            ],
            stdout: "null",
            stderr: "null",
          }).spawn();
          const instant = async (expr: string) => {
            const output = await new Deno.Command(toolPath("promtool")!, {
              args: ["query", "instant", "-o", "json", `http://127.0.0.1:${port}`, expr],
              stdout: "piped",
              stderr: "piped",
            }).output();
            if (!output.success) return undefined;
            const series = JSON.parse(new TextDecoder().decode(output.stdout));
            return Array.isArray(series) && series.length > 0 ? series : undefined;
          };
          try {
            const queries = await panelQueries("llmload-prometheus.json", "expr");
            const expanded = queries.map((query) => ({
              ...query,
              text: query.text.replaceAll("$__rate_interval", "1m").replaceAll("$job", "llmload"),
            }));
            for (const query of expanded) assert.ok(!query.text.includes("$"), query.text);
            // rate() needs two scrapes with requests between them; then every panel has a series.
            for (const query of expanded) {
              const series = await waitFor(
                `${query.panel} ${query.refId}: ${query.text}`,
                () => instant(query.text),
                15_000,
              );
              assert.equal(series[0].metric.job, "llmload", JSON.stringify(series[0]));
            }
          } finally {
            run.stop();
            prometheus.kill("SIGTERM");
            await prometheus.status;
            await run.finished;
          }
        });
      },
    );
  },
}));

Deno.test("deploy/: compose mounts what Grafana provisions, and every data source a panel names", async () => {
  const compose = parseYaml(await Deno.readTextFile(new URL("compose.yaml", DEPLOY)));
  assert.deepEqual(Object.keys(compose.services).sort(), ["grafana", "postgres", "prometheus"]);
  for (const service of Object.values(compose.services) as { ports: string[] }[]) {
    for (const port of service.ports) {
      assert.match(port, /^127\.0\.0\.1:/, "ports bind 127.0.0.1 only");
    }
  }
  for (const volume of compose.services.grafana.volumes as string[]) {
    const source = volume.split(":")[0];
    if (source.startsWith("./")) await Deno.stat(new URL(source, DEPLOY));
  }
  const sources = parseYaml(
    await Deno.readTextFile(new URL("grafana/provisioning/datasources/llmload.yaml", DEPLOY)),
  ).datasources as { uid: string; type: string }[];
  const provisioned = new Map(sources.map((source) => [source.uid, source.type]));
  for (const name of ["llmload-postgres.json", "llmload-prometheus.json"]) {
    const json = await dashboard(name);
    const named = [
      ...json.panels.flatMap((panel: { datasource: object; targets: { datasource: object }[] }) => [
        panel.datasource,
        ...panel.targets.map((target) => target.datasource),
      ]),
      ...json.templating.list.map((variable: { datasource: object }) => variable.datasource),
    ] as { uid: string; type: string }[];
    for (const source of named) {
      assert.equal(provisioned.get(source.uid), source.type, `${name}: ${source.uid}`);
    }
  }
});

Deno.test(needing(["promtool"], {
  name: "promtool accepts deploy/prometheus.yml",
  fn: async () => {
    const output = await new Deno.Command(toolPath("promtool")!, {
      args: ["check", "config", new URL("prometheus.yml", DEPLOY).pathname],
    }).output();
    assert.ok(
      output.success,
      new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr),
    );
  },
}));
