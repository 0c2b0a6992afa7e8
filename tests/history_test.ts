/// <reference lib="dom" />
/**
 * The run history end to end: real runs against the mock stored in a real SQLite file, then every
 * history command through the real command line (a `deno run` of main.ts); bad history files
 * (not SQLite, a newer schema, a place that cannot be written); secrets never stored; and the
 * `report` page drawn offline in headless Chromium (Debian's `chromium`).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { needing, openOffline } from "./_tools.ts";
import { defaultHistoryPath } from "../history/location.ts";
import { idPrefix, shortIds } from "../history/ids.ts";
import { sinceTime } from "../cli/history_command_line.ts";
import { SCHEMA_VERSION } from "../history/store.ts";
import { parseCommandLine } from "../cli/command_line.ts";
import type { RunConfig } from "../options/types.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];
const API_KEY = "sk-history-test-key-7d3e";
const FAST_MOCK = { ttftMs: 5, itlMs: 2 } as const;
/** A short run: 6 requests of 8 tokens by 2 users. */
const SHORT_RUN = ["-u", "2", "-o", "8", "--max-requests", "6", "-t", "10s", "--warmup", "0"];

/** Runs main.ts with `args` and `env` on top of this process's environment. */
async function llmload(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, MAIN, ...args],
    env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "", LLMLOAD_HISTORY: "", ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The id the run was stored under, from its log line. */
function storedId(log: readonly string[]): string {
  const line = log.find((entry) => entry.startsWith("Run stored in the history as "));
  assert.ok(line, `no history line in ${JSON.stringify(log)}`);
  return /as ([0-9a-f]{7})/.exec(line)![1];
}

Deno.test("stored runs are listed, shown, compared, exported and removed through the CLI", async () => {
  await withMock(FAST_MOCK, async (mock) => {
    await withTempDir(async (dir) => {
      const db = `${dir}/runs.db`;
      const history = ["--history", db];
      const first = await runAgainst(mock, [
        ...SHORT_RUN,
        ...history,
        "--tag",
        "gpu=a100",
        "--tag",
        "env=ci",
        "-k",
        API_KEY,
      ]);
      const second = await runAgainst(mock, [
        ...SHORT_RUN,
        "-u",
        "3",
        ...history,
        "--tag",
        "gpu=h100",
      ]);
      const [a, b] = [storedId(first.log), storedId(second.log)];

      const listed = await llmload(["runs", ...history]);
      assert.equal(listed.code, 0, listed.stderr);
      const lines = listed.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^id\s+started \(UTC\)\s+model/);
      assert.ok(lines[1].startsWith(b), "newest first");
      assert.ok(lines[2].startsWith(a));
      assert.match(lines[2], /env=ci,gpu=a100/);

      const h100 = JSON.parse(
        (await llmload(["runs", ...history, "--tag", "gpu=h100", "--json"])).stdout,
      );
      assert.deepEqual(h100.map((run: { shortId: string }) => run.shortId), [b]);
      assert.equal(h100[0].ok, second.results.requests.ok);
      assert.deepEqual(h100[0].tags, { gpu: "h100" });
      const since = JSON.parse(
        (await llmload(["runs", ...history, "--since", "1h", "--json"])).stdout,
      );
      assert.equal(since.length, 2);
      const none = await llmload(["runs", ...history, "--model", "other-model"]);
      assert.equal(none.stdout, "");
      assert.match(none.stderr, /No stored runs match/);

      const shown = JSON.parse((await llmload(["show", a, ...history, "--json"])).stdout);
      assert.deepEqual(shown, first.results, "the stored results are the run's results");
      const text = await llmload(["show", a.slice(0, 5), ...history]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /tags env=ci, gpu=a100/);
      assert.match(text.stdout, /^ttft\s+ms\s+6/m);
      assert.match(text.stdout, /Num Requests\s+: 6/);

      const compared = await llmload(["compare", a, b, ...history]);
      assert.equal(compared.code, 0, compared.stderr);
      assert.match(compared.stdout, /^baseline: [0-9a-f]{7} mock-model/m);
      assert.match(compared.stdout, /^ttft p50 \(ms\)\s/m);
      const json = JSON.parse((await llmload(["compare", a, b, ...history, "--json"])).stdout);
      const p99 = json.rows.find((row: { name: string }) => row.name === "total_latency p99");
      const [base, other] = [first.results, second.results].map((r) =>
        r.metrics.total_latency!.p99
      );
      assert.deepEqual(p99.values, [base, other]);
      assert.equal(p99.deltas[1].absolute, other - base);
      assert.equal(p99.best, base === other ? null : base < other ? 0 : 1);

      const exported = await llmload([
        "export",
        b,
        ...history,
        "--json",
        `${dir}/b.json`,
        "--csv",
        `${dir}/b.csv`,
        "--html",
        `${dir}/b.html`,
      ]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/b.json`)), second.results);
      const csv = (await Deno.readTextFile(`${dir}/b.csv`)).trimEnd().split("\n");
      assert.equal(csv.length, 2);
      assert.match(csv[0], /^Provider,Model,/);
      assert.match(await Deno.readTextFile(`${dir}/b.html`), /llmload report: mock-model/);

      const removed = await llmload(["rm", a, ...history]);
      assert.equal(removed.code, 0, removed.stderr);
      const after = JSON.parse((await llmload(["runs", ...history, "--json"])).stdout);
      assert.deepEqual(after.map((run: { shortId: string }) => run.shortId), [b]);
      const unknown = await llmload(["show", a, ...history]);
      assert.equal(unknown.code, 2);
      assert.equal(
        unknown.stderr,
        `llmload: Unknown run id '${a}': no run in '${db}' has it; llmload runs lists the stored runs\n`,
      );

      const bytes = new TextDecoder("latin1").decode(await Deno.readFile(db));
      assert.ok(!bytes.includes(API_KEY), "the API key is in the history file");
      assert.ok(!bytes.includes(btoa(API_KEY)), "the API key is in the history file as base64");
    });
  });
});

Deno.test("compare warns about a run with failed requests and marks the better side", async () => {
  await withTempDir(async (dir) => {
    const history = ["--history", `${dir}/runs.db`];
    const good = await withMock(FAST_MOCK, (mock) => runAgainst(mock, [...SHORT_RUN, ...history]));
    const bad = await withMock(
      { ...FAST_MOCK, faults: [{ kind: "http_500", rate: 0.5 }], seed: 3 },
      (mock) =>
        runAgainst(mock, [...SHORT_RUN, "--max-requests", "12", "--keep-going", ...history]),
    );
    assert.ok(bad.results.requests.failed > 0);
    const [a, b] = [storedId(good.log), storedId(bad.log)];
    const compared = await llmload(["compare", a, b, ...history]);
    assert.equal(compared.code, 0, compared.stderr);
    assert.match(
      compared.stdout,
      new RegExp(
        `^Warning: run ${b}: ${bad.results.requests.failed} of ${bad.results.requests.total} ` +
          `requests failed \\(http_5xx \\d+\\)`,
        "m",
      ),
    );
    assert.match(compared.stdout, /^requests failed\s+0 \*\s+\d+/m);
  });
});

Deno.test("a history file that is not SQLite or has a newer schema is refused and left as it is", async () => {
  await withMock(FAST_MOCK, async (mock) => {
    await withTempDir(async (dir) => {
      const garbage = `${dir}/notes.txt`;
      await Deno.writeTextFile(garbage, "these are my notes, not a database\n".repeat(20));
      const before = await Deno.readFile(garbage);
      const run = await runAgainst(mock, [...SHORT_RUN, "--history", garbage]);
      assert.equal(run.exitCode, 0, "the run still works");
      const warnings = run.log.filter((line) => line.startsWith("Warning: run not stored"));
      assert.deepEqual(warnings, [
        `Warning: run not stored in the history: Cannot use run history '${garbage}': it is not ` +
        `an SQLite database, and llmload leaves it as it is; choose another file with --history`,
      ]);
      assert.deepEqual(await Deno.readFile(garbage), before, "the file was changed");
      const listed = await llmload(["runs", "--history", garbage]);
      assert.equal(listed.code, 2);
      assert.match(
        listed.stderr,
        /^llmload: Cannot use run history '.*': it is not an SQLite database/,
      );

      const newer = `${dir}/newer.db`;
      const db = new DatabaseSync(newer);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
      db.close();
      const newerBefore = await Deno.readFile(newer);
      const stored = await runAgainst(mock, [...SHORT_RUN, "--history", newer]);
      assert.equal(stored.exitCode, 0);
      assert.ok(
        stored.log.some((line) =>
          line.includes(`has schema ${SCHEMA_VERSION + 5}, from a newer llmload`)
        ),
        stored.log.join("\n"),
      );
      assert.deepEqual(await Deno.readFile(newer), newerBefore);
      const shown = await llmload(["show", "abc1234", "--history", newer]);
      assert.equal(shown.code, 2);
      assert.match(shown.stderr, /from a newer llmload \(this one reads up to \d+\)/);
    });
  });
});

Deno.test("a history place that cannot be written costs the run one warning", async () => {
  await withMock(FAST_MOCK, async (mock) => {
    await withTempDir(async (dir) => {
      // A folder under a regular file cannot be made, for root too.
      await Deno.writeTextFile(`${dir}/file`, "");
      const places = [`${dir}/file/sub/runs.db`];
      if (Deno.uid() !== 0) {
        // Root ignores permission bits, so the read-only folder is tried as any other user.
        await Deno.mkdir(`${dir}/readonly`, { mode: 0o555 });
        places.push(`${dir}/readonly/runs.db`);
      }
      for (const place of places) {
        const run = await runAgainst(mock, [...SHORT_RUN, "--history", place]);
        assert.equal(run.exitCode, 0);
        assert.equal(run.results.requests.ok, 6);
        const warnings = run.log.filter((line) => /^(Warning|Error)/.test(line));
        const history = warnings.filter((line) => /history/.test(line));
        assert.equal(history.length, 1, warnings.join("\n"));
        assert.match(
          history[0],
          new RegExp(`^Warning: run not stored in the history: Cannot open run history '${place}'`),
        );
      }
      if (Deno.uid() !== 0) await Deno.chmod(`${dir}/readonly`, 0o755);
    });
  });
});

Deno.test("a run stores itself in the data directory unless --no-history or LLMLOAD_HISTORY=off", async () => {
  await withMock(FAST_MOCK, async (mock) => {
    await withTempDir(async (dir) => {
      const env = { XDG_DATA_HOME: dir };
      const args = ["-H", mock.url, "-m", "mock-model", ...SHORT_RUN];
      const stored = await llmload(args, env);
      assert.equal(stored.code, 0, stored.stderr);
      assert.match(stored.stderr, /^Run stored in the history as [0-9a-f]{7}/m);
      const listed = JSON.parse((await llmload(["runs", "--json"], env)).stdout);
      assert.equal(listed.length, 1);

      assert.doesNotMatch((await llmload([...args, "--no-history"], env)).stderr, /Run stored/);
      const off = await llmload(args, { ...env, LLMLOAD_HISTORY: "off" });
      assert.doesNotMatch(off.stderr, /Run stored/);
      assert.equal(JSON.parse((await llmload(["runs", "--json"], env)).stdout).length, 1);
      const refused = await llmload(["runs"], { ...env, LLMLOAD_HISTORY: "off" });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /LLMLOAD_HISTORY turns it off; give --history FILE/);
    });
  });
});

Deno.test("the default history file follows each platform's data directory", () => {
  assert.equal(
    defaultHistoryPath({ HOME: "/home/ada" }, "linux"),
    "/home/ada/.local/share/llmload/runs.db",
  );
  assert.equal(
    defaultHistoryPath({ HOME: "/home/ada", XDG_DATA_HOME: "/data" }, "linux"),
    "/data/llmload/runs.db",
  );
  assert.equal(
    defaultHistoryPath({ HOME: "/Users/ada" }, "darwin"),
    "/Users/ada/Library/Application Support/llmload/runs.db",
  );
  assert.equal(
    defaultHistoryPath({ APPDATA: "C:\\Users\\ada\\AppData\\Roaming" }, "windows"),
    "C:\\Users\\ada\\AppData\\Roaming\\llmload\\runs.db",
  );
  assert.equal(defaultHistoryPath({}, "linux"), undefined);
});

Deno.test("short ids are the shortest unique prefixes of at least 7 digits", () => {
  const short = shortIds(["3f9c2a10aaaaaaaa", "3f9c2a1bbbbbbbbb", "0123456789abcdef"]);
  assert.equal(short.get("3f9c2a10aaaaaaaa"), "3f9c2a10");
  assert.equal(short.get("3f9c2a1bbbbbbbbb"), "3f9c2a1b");
  assert.equal(short.get("0123456789abcdef"), "0123456");
  assert.equal(idPrefix(" 3F9C "), "3f9c");
  assert.equal(idPrefix("3f9g"), undefined);
});

Deno.test("--since takes a date or a span back from now", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  assert.equal(sinceTime("2h", now), Date.parse("2026-12-02T10:00:00Z"));
  assert.equal(sinceTime("7d", now), Date.parse("2026-11-25T12:00:00Z"));
  assert.equal(sinceTime("2026-12-01", now), Date.parse("2026-12-01T00:00:00Z"));
  assert.throws(() => sinceTime("yesterday", now), /Invalid --since 'yesterday': expected a date/);
});

Deno.test(needing(["chromium"], {
  name: "llmload report draws the runs' distributions and time series offline in Chromium",
  fn: async () => {
    await withMock(FAST_MOCK, async (mock) => {
      await withTempDir(async (dir) => {
        const history = ["--history", `${dir}/runs.db`];
        const ids: string[] = [];
        for (const users of ["2", "4"]) {
          const run = await runAgainst(mock, [
            ...SHORT_RUN,
            "-u",
            users,
            ...history,
            "-k",
            API_KEY,
          ]);
          ids.push(storedId(run.log));
        }
        const page = `${dir}/report.html`;
        const written = await llmload(["report", ...ids, ...history, "--html", page]);
        assert.equal(written.code, 0, written.stderr);
        assert.ok(!(await Deno.readTextFile(page)).includes(API_KEY));
        const { browser, tab, fetched } = await openOffline(page, { width: 1280, height: 1400 });
        try {
          await tab.waitForFunction(
            () => document.querySelectorAll("figure.chart[data-drawn=true]").length >= 8,
            undefined,
            { timeout: 10_000 },
          );
          const charts = await tab.evaluate(() =>
            [...document.querySelectorAll("figure.chart")].map((figure) => ({
              id: figure.id,
              series: Number((figure as HTMLElement).dataset.series),
              canvas: figure.querySelector("canvas") !== null,
            }))
          );
          const names = charts.map((chart) => chart.id);
          for (
            const id of ["chart-ttft", "chart-itl", "chart-total_latency", "chart-requestsPerSec"]
          ) {
            assert.ok(names.includes(id), `${id} missing from ${names.join(", ")}`);
          }
          assert.ok(charts.every((chart) => chart.series === 2 && chart.canvas));
          const legend = await tab.locator("#chart-ttft .u-legend").innerText();
          for (const id of ids) assert.ok(legend.includes(id), `${id} not in the legend`);
          assert.deepEqual(fetched, [], "the page fetched something");
        } finally {
          await browser.close();
        }
      });
    });
  },
}));

Deno.test("two runs that end together both land in the same history file", async () => {
  await withMock(FAST_MOCK, async (mock) => {
    await withTempDir(async (dir) => {
      const history = ["--history", `${dir}/runs.db`];
      const args = ["-H", mock.url, "-m", "mock-model", ...SHORT_RUN, ...history];
      const runs = await Promise.all([
        llmload([...args, "--tag", "side=a"]),
        llmload([...args, "--tag", "side=b"]),
      ]);
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      const listed = JSON.parse((await llmload(["runs", ...history, "--json"])).stdout);
      assert.deepEqual(
        listed.map((run: { tags: { side: string } }) => run.tags.side).toSorted(),
        ["a", "b"],
      );
    });
  });
});

Deno.test("--tag takes key=value from every source; a bad one is a usage error", () => {
  const flags = parseCommandLine(["--tag", "gpu=h100", "--tag", "gpu=a100", "--tag", "team="], {
    env: {},
    version: "test",
  });
  assert.equal(flags.kind, "run");
  assert.deepEqual((flags as { config: RunConfig }).config.tags, { gpu: "a100", team: "" });
  const env = parseCommandLine([], { env: { LLMLOAD_TAG: "a=1\nb=2" }, version: "test" });
  assert.deepEqual((env as { config: RunConfig }).config.tags, { a: "1", b: "2" });
  assert.throws(
    () => parseCommandLine(["--tag", "no-equals"], { env: {}, version: "test" }),
    {
      name: "UsageError",
      message: "Invalid --tag 'no-equals': expected key=value with a key of letters, digits " +
        "and _.-, such as gpu=h100",
    },
  );
  assert.throws(
    () =>
      parseCommandLine(["runs", "--since", "soon", "--history", "x.db"], {
        env: {},
        version: "test",
      }),
    { name: "UsageError", message: /^Invalid --since 'soon'/ },
  );
});

Deno.test("a history file of schema 1 stays readable and takes new runs", async () => {
  const fixture = new URL("./testdata/history/runs_v1.db", import.meta.url);
  await withMock(FAST_MOCK, async (mock) => {
    await withTempDir(async (dir) => {
      const db = `${dir}/runs.db`;
      await Deno.copyFile(fixture, db);
      const history = ["--history", db];
      const old = JSON.parse((await llmload(["show", "2afa5f3", ...history, "--json"])).stdout);
      assert.equal(old.requests.ok, 2);
      assert.equal(old.model, "mock-model");
      assert.ok(old.histograms.ttft, "the stored histograms are there");
      const run = await runAgainst(mock, [...SHORT_RUN, ...history]);
      const listed = JSON.parse((await llmload(["runs", ...history, "--json"])).stdout);
      assert.deepEqual(
        listed.map((entry: { shortId: string }) => entry.shortId),
        [storedId(run.log), "2afa5f3"],
      );
      assert.deepEqual(listed[1].tags, { fixture: "v1" });
    });
  });
});
