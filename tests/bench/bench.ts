/**
 * `deno task bench`: measures llmload against `llmload mock` running in its own process, and
 * compares llmload's timings with the mock's own send timestamps. Prints one table of figures;
 * never fails on speed. On a machine with two or more cores the mock is pinned to one core and
 * the client to the other with `taskset`, where available.
 *
 * Usage: deno task bench [scenario ...]   (capacity fidelity breadth scale soak shard-stalls
 *        dataset-prepare cpu-per-event-dataset history pg-rows lockstep cpu-per-event burst128
 *        openloop qps-cpu memory)
 *
 * The last six run once per client transport ({@link TRANSPORTS}) and print their figures side
 * by side. They read the client's CPU time and resident memory from `/proc/<pid>` (Linux), and
 * the mock's CPU time the same way, so they also show what the mock spends per event it writes.
 *
 * @module
 */
import type { MockRecord } from "../../mock/server.ts";
import type { Results } from "../../output/results.ts";
import type { SummaryInfo } from "../../output/report.ts";
import { Recorder } from "../../stats/recorder.ts";
import { openHistory } from "../../history/store.ts";
import { rowsOfView } from "../../output/postgres/rows.ts";
import { runConfig } from "../_fixtures.ts";
import { aggregateOf, liveView, requestRecord } from "../_server_harness.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The client transports the transport scenarios compare, side by side. */
const TRANSPORTS = ["http1", "node", "fetch"] as const;
/** Streams of the `memory` scenario; the RSS target is stated at 10,000. */
const MEMORY_STREAMS = Number(Deno.env.get("LLMLOAD_BENCH_MEMORY_STREAMS") ?? "2000");
const CORES = navigator.hardwareConcurrency;
const HAS_TASKSET = await commandExists("taskset");

/** One benchmark row: what was measured against what target. */
interface Row {
  readonly scenario: string;
  readonly figure: string;
  readonly measured: string;
  readonly target: string;
  readonly met?: boolean;
}

interface Scenario {
  readonly name: string;
  readonly run: () => Promise<Row[]>;
}

type Transport = typeof TRANSPORTS[number];

/** One figure of a transport scenario, for one transport. */
interface Figure {
  readonly figure: string;
  readonly measured: string;
  readonly target: string;
  readonly met?: boolean;
}

/** A scenario run once per transport; its figures are printed side by side. */
interface TransportScenario {
  readonly name: string;
  readonly title: string;
  readonly run: (transport: Transport) => Promise<Figure[]>;
}

const TRANSPORT_SCENARIOS: readonly TransportScenario[] = [
  {
    name: "lockstep",
    title: "lockstep (400 streams on one grid, TTFT 50 ms, ITL 20 ms)",
    run: lockstep,
  },
  { name: "cpu-per-event", title: "cpu-per-event (200 streams, ITL 10 ms)", run: cpuPerEvent },
  { name: "burst128", title: "burst128 (64 streams, 128 tokens in one write)", run: burst128 },
  {
    name: "openloop",
    title: "openloop (1,000 req/s constant, 8-token replies, one client core)",
    run: openLoop,
  },
  { name: "qps-cpu", title: "qps-cpu (300 req/s, 8-token replies)", run: qpsCpu },
  {
    name: "memory",
    title: `memory (${MEMORY_STREAMS.toLocaleString("en")} streams at 10 tokens/s)`,
    run: memory,
  },
];

const SCENARIOS: readonly Scenario[] = [
  { name: "capacity", run: capacity },
  { name: "fidelity", run: fidelity },
  { name: "breadth", run: breadth },
  { name: "scale", run: scale },
  { name: "soak", run: soak },
  { name: "shard-stalls", run: shardStalls },
  { name: "dataset-prepare", run: datasetPrepare },
  { name: "cpu-per-event-dataset", run: cpuPerEventDataset },
  { name: "history", run: historyCost },
  { name: "pg-rows", run: pgRows },
];

async function commandExists(name: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("which", { args: [name], stdout: "null" }).output();
    return success;
  } catch {
    return false;
  }
}

function pinned(core: number | undefined, args: string[]): { cmd: string; args: string[] } {
  const deno = [Deno.execPath(), ...args];
  if (core === undefined || !HAS_TASKSET || CORES < 2) return { cmd: deno[0], args: deno.slice(1) };
  return { cmd: "taskset", args: ["-c", String(core), ...deno] };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A mock server in its own process. */
async function startMockProcess(
  options: { ttft: string; itl: string; core?: number; extra?: string[] },
) {
  const port = freePort();
  const spec = pinned(options.core, [
    "run",
    "-A",
    MAIN,
    "mock",
    "--port",
    String(port),
    "--ttft",
    options.ttft,
    "--itl",
    options.itl,
    ...options.extra ?? [],
  ]);
  const child = new Deno.Command(spec.cmd, { args: spec.args, stdout: "piped", stderr: "inherit" })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("llmload mock exited before listening");
    seen += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid,
    /** CPU time the mock process has used so far, in ms. */
    cpuMs: () => usageOf(child.pid).then((usage) => usage.cpuMs),
    async records(): Promise<MockRecord[]> {
      return await (await fetch(`${url}/mock/requests`)).json();
    },
    async clear() {
      await (await fetch(`${url}/mock/requests`, { method: "DELETE" })).body?.cancel();
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** CPU time and resident memory of a process at one moment. */
interface Usage {
  /** Absolute ms (`performance.timeOrigin + performance.now()`), the mock's clock. */
  readonly at: number;
  /** User + system CPU time so far, in ms. */
  readonly cpuMs: number;
  /** Resident memory (VmRSS), in KB. */
  readonly rssKb: number;
}

const CLOCK_TICKS_PER_SECOND = await clockTicks();

async function clockTicks(): Promise<number> {
  try {
    const output = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" })
      .output();
    return Number(new TextDecoder().decode(output.stdout).trim()) || 100;
  } catch {
    return 100;
  }
}

/** A process's CPU time (utime + stime of `/proc/<pid>/stat`) and VmRSS; NaN off Linux. */
async function usageOf(pid: number): Promise<Usage> {
  const at = performance.timeOrigin + performance.now();
  try {
    const [stat, status] = await Promise.all([
      Deno.readTextFile(`/proc/${pid}/stat`),
      Deno.readTextFile(`/proc/${pid}/status`),
    ]);
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? NaN);
    return { at, cpuMs: ticks * 1000 / CLOCK_TICKS_PER_SECOND, rssKb };
  } catch {
    return { at, cpuMs: NaN, rssKb: NaN };
  }
}

/**
 * Runs llmload against `url`; returns its results, its peak resident memory, and samples of its
 * CPU time and RSS every 100 ms.
 */
async function runClient(url: string, args: string[], core?: number) {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  const spec = pinned(core, [
    "run",
    "-A",
    MAIN,
    "-H",
    url,
    "-m",
    "mock-model",
    "--json",
    json,
    "--warmup",
    "0",
    // Benchmark runs stay out of the user's run history unless a scenario names a file.
    ...(args.includes("--history") ? [] : ["--no-history"]),
    ...args,
  ]);
  const child = new Deno.Command(spec.cmd, {
    args: spec.args,
    stdout: "null",
    stderr: "null",
  }).spawn();
  let peakRssKb = 0;
  const samples: Usage[] = [];
  const sampler = setInterval(async () => {
    const usage = await usageOf(child.pid);
    if (Number.isFinite(usage.cpuMs)) samples.push(usage);
  }, 100);
  const probe = setInterval(async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const hwm = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
      peakRssKb = Math.max(peakRssKb, hwm);
    } catch {
      // Not on Linux, or the process just ended.
    }
  }, 200);
  await child.status;
  clearInterval(probe);
  clearInterval(sampler);
  const results = JSON.parse(await Deno.readTextFile(json)) as Results;
  await Deno.remove(json);
  return { results, peakRssMb: peakRssKb / 1024, samples };
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))] ?? NaN;
}

function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** SSE events per completions response: one per token, the finish chunk, usage, [DONE]. */
function eventsPerResponse(tokens: number): number {
  return tokens + 3;
}

async function capacityRun(workers: number, pin: boolean) {
  const mock = await startMockProcess({ ttft: "0ms", itl: "0ms", core: pin ? 1 : undefined });
  try {
    const { results } = await runClient(mock.url, [
      "-u",
      "64",
      "-r",
      "1000",
      "-t",
      "10s",
      "-p",
      "16",
      "-o",
      "128",
      "--workers",
      String(workers),
    ], pin ? 0 : undefined);
    const events = results.requests.ok * eventsPerResponse(128);
    return { eventsPerSec: events / (results.durationMs / 1000), results };
  } finally {
    await mock.stop();
  }
}

/**
 * The run history's cost: capacity runs (64 users, 128 tokens in one write) alternately with and
 * without `--history`, so drift on a shared machine hits both alike; and the time one store of
 * those results takes, which happens once, after the load has stopped.
 */
async function historyCost(): Promise<Row[]> {
  const mock = await startMockProcess({ ttft: "0ms", itl: "0ms", core: 1 });
  const dir = await Deno.makeTempDir({ prefix: "llmload-bench-history-" });
  const db = `${dir}/runs.db`;
  const perSec: Record<"off" | "on", number[]> = { off: [], on: [] };
  let last: Results | undefined;
  try {
    for (const mode of ["off", "on", "off", "on"] as const) {
      const { results } = await runClient(mock.url, [
        ...["-u", "64", "-r", "1000", "-t", "5s", "-p", "16", "-o", "128", "--workers", "1"],
        ...(mode === "on" ? ["--history", db] : []),
      ], 0);
      perSec[mode].push(results.requests.ok * eventsPerResponse(128) / (results.durationMs / 1000));
      last = results;
    }
    // The store serialises the summary figures as they come; the runs' own are in their rows.
    const history = openHistory(db, { write: true });
    const timeseries = {
      schemaVersion: 1 as const,
      state: "done" as const,
      startedAt: null,
      olderSpanMs: 0,
      points: [],
    };
    const started = performance.now();
    const stores = 20;
    for (let i = 0; i < stores; i++) {
      history.add({
        results: last!,
        info: {} as SummaryInfo,
        timeseries,
        tags: { bench: "history" },
      });
    }
    const storeMs = (performance.now() - started) / stores;
    history.close();
    const [off, on] = [mean(perSec.off), mean(perSec.on)];
    return [
      {
        scenario: "history (capacity, 2 runs each way, alternating)",
        figure: "events/s with --history ÷ without",
        measured: `${fmt(on / off)}× (${Math.round(off).toLocaleString("en")} → ${
          Math.round(on).toLocaleString("en")
        })`,
        target: ">= 0.95× (run-to-run noise)",
        met: on / off >= 0.95,
      },
      {
        scenario: "",
        figure: "one store of the results, after the run",
        measured: `${fmt(storeMs)} ms`,
        target: "<= 50 ms",
        met: storeMs <= 50,
      },
    ];
  } finally {
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function capacity(): Promise<Row[]> {
  const { eventsPerSec, results } = await capacityRun(1, true);
  return [{
    scenario: "capacity (64 users, 128 tokens in one write, 1 worker)",
    figure: "SSE events parsed/s",
    measured: `${Math.round(eventsPerSec).toLocaleString("en")} (${results.requests.ok} req)`,
    target: ">= 1,000,000",
    met: eventsPerSec >= 1_000_000,
  }];
}

async function scale(): Promise<Row[]> {
  const one = await capacityRun(1, false);
  const two = await capacityRun(2, false);
  return [{
    scenario: "scale (capacity, mock + client share 2 cores)",
    figure: "events/s 2 workers ÷ 1 worker",
    measured: `${fmt(two.eventsPerSec / one.eventsPerSec)}× (${
      Math.round(one.eventsPerSec).toLocaleString("en")
    } → ${Math.round(two.eventsPerSec).toLocaleString("en")})`,
    target: ">= 1.8×",
    met: two.eventsPerSec / one.eventsPerSec >= 1.8,
  }];
}

async function fidelity(): Promise<Row[]> {
  const mock = await startMockProcess({ ttft: "50ms", itl: "20ms", core: 1 });
  try {
    const { results } = await runClient(mock.url, [
      "-u",
      "500",
      "-r",
      "500",
      "-t",
      "20s",
      "-p",
      "16",
      "-o",
      "64",
      "--workers",
      "1",
    ], 0);
    const served = (await mock.records()).filter((r) => r.doneAt && r.firstTokenAt);
    const mockTtft = served.map((r) => r.firstTokenAt! - r.receivedAt);
    const ttft = results.metrics.ttft!;
    const diffMean = ttft.mean - mean(mockTtft);
    const diffP99 = ttft.p99 - percentile(mockTtft, 99);
    const itlP99 = results.metrics.itl!.p99;
    return [
      {
        scenario: "fidelity (500 users, TTFT 50 ms, ITL 20 ms)",
        figure: "client TTFT − mock TTFT, mean",
        measured: `${fmt(diffMean)} ms`,
        target: "<= 0.5 ms",
        met: diffMean <= 0.5,
      },
      {
        scenario: "",
        figure: "client TTFT − mock TTFT, p99",
        measured: `${fmt(diffP99)} ms`,
        target: "<= 2 ms",
        met: diffP99 <= 2,
      },
      {
        scenario: "",
        figure: "ITL p99",
        measured: `${fmt(itlP99)} ms`,
        target: "<= 22 ms",
        met: itlP99 <= 22,
      },
    ];
  } finally {
    await mock.stop();
  }
}

async function breadth(): Promise<Row[]> {
  const mock = await startMockProcess({ ttft: "100ms", itl: "100ms", core: 1 });
  try {
    const { results, peakRssMb } = await runClient(mock.url, [
      "-u",
      "2000",
      "-r",
      "1000",
      "-t",
      "20s",
      "-p",
      "16",
      "-o",
      "50",
      "--workers",
      "1",
    ], 0);
    const mockMaxGap = Math.max(...(await mock.records()).map((r) => r.maxGapMs));
    const clientMaxItl = results.metrics.itl!.max;
    return [
      {
        scenario: "breadth (2,000 streams at 10 tokens/s)",
        figure: "client peak RSS",
        measured: `${fmt(peakRssMb, 0)} MB`,
        target: "<= 300 MB",
        met: peakRssMb <= 300,
      },
      {
        scenario: "",
        figure: "max ITL, client ÷ mock",
        measured: `${fmt(clientMaxItl / mockMaxGap)}× (${fmt(clientMaxItl, 1)} / ${
          fmt(mockMaxGap, 1)
        } ms)`,
        target: "<= 3×",
        met: clientMaxItl <= 3 * mockMaxGap,
      },
    ];
  } finally {
    await mock.stop();
  }
}

async function soak(): Promise<Row[]> {
  const minutes = Number(Deno.env.get("LLMLOAD_SOAK_MINUTES") ?? "10");
  const mock = await startMockProcess({ ttft: "20ms", itl: "10ms", core: 1 });
  try {
    const port = freePort();
    const runPromise = runClient(mock.url, [
      "-u",
      "100",
      "-r",
      "100",
      "-t",
      `${minutes}min`,
      "-p",
      "64",
      "-o",
      "32",
      "--workers",
      "1",
      "--serve",
      String(port),
    ], 0);
    const samples: number[] = [];
    const started = Date.now();
    while (Date.now() - started < minutes * 60_000 - 5000) {
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      samples.push(await rssOfListener(port));
      await mock.clear();
    }
    await runPromise;
    const firstMinute = samples[0];
    const last = samples.at(-1)!;
    return [{
      scenario: `soak (${minutes} min, 100 users)`,
      figure: "RSS at end ÷ RSS after minute one",
      measured: `${fmt(last / firstMinute)} (${fmt(firstMinute, 0)} → ${fmt(last, 0)} MB)`,
      target: "<= 1.10",
      met: last / firstMinute <= 1.1,
    }];
  } finally {
    await mock.stop();
  }
}

/**
 * What the shard thread stalls on at 200 streams × 100 tokens/s (ITL 10 ms, 100 tokens a
 * request): in-process, the longest `takeDelta()` plus the structured clone `postMessage`
 * makes of it, and the longest recording of one finished request, over 40 periods of 250 ms
 * (50 requests and 5,000 gaps each) after 8 that warm the JIT up; then, in a real run with
 * `--v8-flags=--trace-gc`, the garbage collections of the whole client (every isolate) per
 * 1,000 events the mock wrote.
 */
/** Reads and counts 100,000 JSONL prompts (~60 tokens each) into a pool: time and peak RSS. */
const PREPARE = new URL("./dataset_prepare.ts", import.meta.url).pathname;

/** The prompt of dataset row `i`: ~60 tokens under o200k_base. */
function datasetPrompt(i: number): string {
  return `Question ${i}: ` + "explain the load test result ".repeat(10);
}

/** Writes `rows` lines of `line(i)` to `path`, a batch at a time, so the file never sits in memory. */
async function writeRows(
  path: string,
  options: { rows: number; line: (i: number) => string; open?: string; close?: string },
): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const write = async (text: string) => {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
  };
  try {
    await write(options.open ?? "");
    const batch = 10_000;
    for (let from = 0; from < options.rows; from += batch) {
      const to = Math.min(options.rows, from + batch);
      const lines = Array.from({ length: to - from }, (_, k) => options.line(from + k));
      await write(lines.join("\n") + (to < options.rows || options.close ? "\n" : ""));
    }
    await write(options.close ?? "");
  } finally {
    file.close();
  }
}

/** One preparation in its own process (`dataset_prepare.ts`): its time and peak RSS. */
async function prepareIn(path: string, limit: number, shuffle: boolean) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PREPARE, path, String(limit), ...(shuffle ? ["shuffle"] : [])],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`dataset_prepare.ts failed on ${path}`);
  return JSON.parse(new TextDecoder().decode(output.stdout)) as {
    elapsedMs: number;
    read: number;
    prompts: number;
    beforeKb: number;
    peakKb: number;
  };
}

async function datasetPrepare(): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "llmload-bench-" });
  const jsonl = `${dir}/prompts.jsonl`;
  const shareGpt = `${dir}/sharegpt.json`;
  await writeRows(jsonl, {
    rows: 100_000,
    line: (i) => JSON.stringify({ id: i, prompt: datasetPrompt(i) }),
  });
  await writeRows(shareGpt, {
    rows: 1_000_000,
    line: (i) =>
      JSON.stringify({
        id: `c${i}`,
        conversations: [
          { from: "human", value: datasetPrompt(i) },
          { from: "gpt", value: "The answer, in a sentence or two." },
        ],
      }) + (i + 1 < 1_000_000 ? "," : ""),
    open: "[\n",
    close: "]\n",
  });
  const mb = (path: string) => `${Math.round(Deno.statSync(path).size / 1048576)} MB`;
  const cases = [
    { what: "100,000-row JSONL, all rows", path: jsonl, limit: 100_000, shuffle: false },
    {
      what: `1,000,000-row ShareGPT (${mb(shareGpt)}), --dataset-limit 100000`,
      path: shareGpt,
      limit: 100_000,
      shuffle: false,
    },
    {
      what: "the same, --dataset-shuffle (whole file through the reservoir)",
      path: shareGpt,
      limit: 100_000,
      shuffle: true,
    },
  ];
  const rows: Row[] = [];
  try {
    for (const { what, path, limit, shuffle } of cases) {
      const run = await prepareIn(path, limit, shuffle);
      const scenario = `dataset-prepare (${what})`;
      rows.push(
        {
          scenario,
          figure: "time to read, count and pool",
          measured: `${(run.elapsedMs / 1000).toFixed(2)} s (${
            run.prompts.toLocaleString("en")
          } prompts of ${run.read.toLocaleString("en")} rows read)`,
          target: "before the load",
        },
        {
          scenario,
          figure: "peak RSS (growth while preparing)",
          measured: `${Math.round(run.peakKb / 1024)} MB (+${
            Math.round((run.peakKb - run.beforeKb) / 1024)
          } MB)`,
          target: "the prompts kept, not the file",
        },
      );
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * `cpu-per-event`'s streams (200, ITL 10 ms, 100 tokens) for 2,000 requests, with prompts from a
 * 10,000-row dataset (~60 tokens each) beside the fixed prompt: prompts are prepared before the
 * load, so the client's CPU per event should not move.
 */
async function cpuPerEventDataset(): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "llmload-bench-" });
  const path = `${dir}/prompts.jsonl`;
  await writeRows(path, {
    rows: 10_000,
    line: (i) => JSON.stringify({ id: i, prompt: datasetPrompt(i) }),
  });
  // A count of requests, not a duration: both sides then spread their fixed costs (start-up
  // after the first request, the final report) over the same number of events.
  const load = ["-u", "200", "-r", "1000", "--max-requests", "2000", "-o", "100"];
  try {
    const perEvent = async (workload: string[]) => {
      const run = await measure({ ttft: "10ms", itl: "10ms" }, [...load, ...workload], "http1");
      return { us: run.clientCpuMs * 1000 / run.events, events: run.events };
    };
    // Taken in turns, twice each, keeping each side's lower figure: the least disturbed by
    // other work on the machine, which otherwise lands on whichever run it happens to meet.
    const fixedRuns = [];
    const datasetRuns = [];
    for (let round = 0; round < 2; round++) {
      fixedRuns.push(await perEvent(["-p", "60"]));
      datasetRuns.push(await perEvent(["--dataset", path]));
    }
    const lowest = (runs: { us: number; events: number }[]) =>
      runs.reduce((best, run) => run.us < best.us ? run : best);
    const [fixed, dataset] = [lowest(fixedRuns), lowest(datasetRuns)];
    const scenario = "cpu-per-event-dataset (200 streams, ITL 10 ms, --transport http1)";
    const ratio = dataset.us / fixed.us;
    return [
      {
        scenario,
        figure: "client CPU per event, fixed -p 60 prompt (lower of 2)",
        measured: `${fmt(fixed.us)} µs (${fixed.events.toLocaleString("en")} events)`,
        target: "report",
      },
      {
        scenario,
        figure: "client CPU per event, 10,000-row --dataset (lower of 2)",
        measured: `${fmt(dataset.us)} µs (${dataset.events.toLocaleString("en")} events)`,
        target: "report",
      },
      {
        scenario,
        figure: "dataset ÷ fixed",
        measured: `${fmt(ratio)}×`,
        target: "<= 1.10× (unchanged)",
        met: ratio <= 1.1,
      },
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function shardStalls(): Promise<Row[]> {
  const scenario = "shard-stalls (200 streams × 100 tokens/s)";
  const recorder = new Recorder();
  const takes: number[] = [];
  const records: number[] = [];
  let jitter = 0;
  const gap = () => 10 + ((jitter = (jitter * 1103515245 + 12345) % 2147483648) % 1000) / 500;
  // The first 8 periods warm the JIT up and are not counted.
  for (let period = -8; period < 40; period++) {
    for (let request = 0; request < 50; request++) {
      const itl = Array.from({ length: 99 }, gap);
      const ttft = 20 + gap();
      const start = performance.now();
      recorder.recordRequest({
        start: performance.timeOrigin + start,
        ttft,
        ttfvt: ttft,
        totalLatency: ttft + itl.reduce((sum, value) => sum + value, 0),
        itl,
        outputTokens: 100,
        tokenSource: "usage",
        promptTokens: 16,
        chars: 400,
        maxTokens: 100,
      });
      if (period >= 0) records.push(performance.now() - start);
    }
    const start = performance.now();
    structuredClone(recorder.takeDelta());
    if (period >= 0) takes.push(performance.now() - start);
  }

  const mock = await startMockProcess({ ttft: "10ms", itl: "10ms", core: 1 });
  let gcs = { minor: 0, major: 0, longestMs: NaN };
  let events = 0;
  try {
    const spec = pinned(0, [
      "run",
      "--v8-flags=--trace-gc",
      "-A",
      MAIN,
      ...["-H", mock.url, "-m", "mock-model", "--warmup", "0", "--workers", "1"],
      ...["-u", "200", "-r", "1000", "-t", "10s", "-p", "16", "-o", "100"],
    ]);
    const output = await new Deno.Command(spec.cmd, { args: spec.args, stdout: "piped" }).output();
    const lines = new TextDecoder().decode(output.stdout).split("\n");
    // A line reads "[pid:isolate] 40 ms: Scavenge 4.2 (5.0) -> 4.0 (6.0) MB, pooled: 0.0 MB,
    // 1.48 / 0.00 ms ...": the pause is the figure before the slash.
    const pauses = lines.map((line) => Number(line.match(/MB, ([\d.]+) \/ [\d.]+ ms/)?.[1]))
      .filter(Number.isFinite);
    gcs = {
      minor: lines.filter((line) => /ms: (Scavenge|Minor Mark-Sweep)/.test(line)).length,
      major: lines.filter((line) => /ms: Mark-(Compact|Sweep)/.test(line)).length,
      longestMs: Math.max(...pauses),
    };
    events = (await mock.records()).reduce(
      (sum, r) => sum + (r.doneAt === undefined ? r.tokensSent : eventsPerResponse(r.tokensSent)),
      0,
    );
  } finally {
    await mock.stop();
  }
  const perThousand = (n: number) => fmt(n * 1000 / events, 3);
  return [
    {
      scenario,
      figure: "longest delta take + clone (250 ms of samples)",
      measured: `${fmt(Math.max(...takes), 3)} ms (p50 ${fmt(percentile(takes, 50), 3)}, p99 ${
        fmt(percentile(takes, 99), 3)
      } ms)`,
      target: "<= 0.2 ms",
      met: Math.max(...takes) <= 0.2,
    },
    {
      scenario,
      figure: "longest recording of one 100-token request",
      measured: `${fmt(Math.max(...records), 3)} ms (p50 ${fmt(percentile(records, 50), 4)}, p99 ${
        fmt(percentile(records, 99), 4)
      } ms)`,
      target: "<= 0.2 ms",
      met: Math.max(...records) <= 0.2,
    },
    {
      scenario,
      figure: "client GCs per 1,000 events (minor / major)",
      measured: `${perThousand(gcs.minor)} / ${perThousand(gcs.major)} (${
        events.toLocaleString("en")
      } events; longest pause ${fmt(gcs.longestMs)} ms)`,
      target: "report",
    },
  ];
}

/** A client run against a mock process, with what both spent. */
interface Measured {
  readonly results: Results;
  readonly records: MockRecord[];
  /** Client CPU ms from the first request's arrival to the last sample before it exited. */
  readonly clientCpuMs: number;
  /** Client peak RSS (KB) among the samples. */
  readonly clientPeakRssKb: number;
  /** Mock CPU ms over the whole client run. */
  readonly mockCpuMs: number;
  /** Wall time of the client run, ms. */
  readonly wallMs: number;
  /** SSE events the mock wrote. */
  readonly events: number;
}

/**
 * Starts a mock (core 1) with `mock`, runs the client (core 0) with `client` and `transport`,
 * and measures both. The client's CPU is counted from the first request's arrival at the mock,
 * so its start-up (module loading, tokenizer) is left out.
 */
async function measure(
  mockOptions: { ttft: string; itl: string; extra?: string[] },
  client: string[],
  transport: Transport,
): Promise<Measured> {
  const mock = await startMockProcess({ ...mockOptions, core: 1 });
  try {
    const mockBefore = await mock.cpuMs();
    const started = performance.now();
    const run = await runClient(mock.url, [
      ...client,
      "--workers",
      "1",
      "--transport",
      transport,
    ], 0);
    const wallMs = performance.now() - started;
    const mockCpuMs = await mock.cpuMs() - mockBefore;
    const records = await mock.records();
    const firstArrival = Math.min(...records.map((r) => r.receivedAt));
    const before = run.samples.filter((s) => s.at <= firstArrival).at(-1) ?? run.samples[0];
    const last = run.samples.at(-1);
    const events = records.reduce(
      (sum, r) => sum + (r.doneAt === undefined ? r.tokensSent : eventsPerResponse(r.tokensSent)),
      0,
    );
    return {
      results: run.results,
      records,
      clientCpuMs: last && before ? last.cpuMs - before.cpuMs : NaN,
      // An exiting process has a stat but no VmRSS any more.
      clientPeakRssKb: Math.max(...run.samples.map((s) => s.rssKb).filter(Number.isFinite)),
      mockCpuMs,
      wallMs,
      events,
    };
  } finally {
    await mock.stop();
  }
}

/** The mock's own CPU per event it wrote, and the share of its core it used. */
function mockFigures(run: Measured): Figure[] {
  return [
    {
      figure: "mock CPU per written event",
      measured: `${fmt(run.mockCpuMs * 1000 / run.events)} µs`,
      target: "report",
    },
    {
      figure: "mock core busy",
      measured: `${fmt(run.mockCpuMs / run.wallMs * 100, 0)}%`,
      target: "< 100% (not the bottleneck)",
      met: run.mockCpuMs < run.wallMs,
    },
  ];
}

async function lockstep(transport: Transport): Promise<Figure[]> {
  const trueItl = 20;
  const run = await measure(
    { ttft: "50ms", itl: `${trueItl}ms`, extra: ["--lockstep"] },
    ["-u", "400", "-r", "400", "-t", "15s", "-p", "16", "-o", "64"],
    transport,
  );
  const served = run.records.filter((r) => r.doneAt && r.firstTokenAt);
  const mockTtft = served.map((r) => r.firstTokenAt! - r.receivedAt);
  const ttft = run.results.metrics.ttft!;
  const itl = run.results.metrics.itl!;
  const errorMean = ttft.mean - mean(mockTtft);
  const errorP99 = ttft.p99 - percentile(mockTtft, 99);
  // How late the mock's ticks wrote after their grid time: the mock's own timing error.
  const tickLate = served.map((r) => r.firstTokenAt! - r.firstStepAt!);
  return [
    {
      figure: "client TTFT − mock TTFT, mean",
      measured: `${fmt(errorMean)} ms`,
      target: "<= 1 ms",
      met: errorMean <= 1,
    },
    {
      figure: "client TTFT − mock TTFT, p99",
      measured: `${fmt(errorP99)} ms`,
      target: "<= 2 ms",
      met: errorP99 <= 2,
    },
    {
      figure: `ITL p99 (true ${trueItl} ms)`,
      measured: `${fmt(itl.p99)} ms`,
      target: `<= ${trueItl + 2} ms`,
      met: itl.p99 <= trueItl + 2,
    },
    {
      figure: `ITL p99.9 (true ${trueItl} ms)`,
      measured: `${fmt(itl.p999)} ms`,
      target: "report",
    },
    {
      figure: "mock tick late after its grid step, p99",
      measured: `${fmt(percentile(tickLate, 99))} ms`,
      target: "report",
    },
    ...mockFigures(run),
  ];
}

async function cpuPerEvent(transport: Transport): Promise<Figure[]> {
  const run = await measure(
    { ttft: "10ms", itl: "10ms" },
    ["-u", "200", "-r", "1000", "-t", "15s", "-p", "16", "-o", "100"],
    transport,
  );
  const perEventUs = run.clientCpuMs * 1000 / run.events;
  return [
    {
      figure: "client CPU per event the mock wrote",
      measured: `${fmt(perEventUs)} µs (${run.events.toLocaleString("en")} events)`,
      target: "<= 10 µs",
      met: perEventUs <= 10,
    },
    ...mockFigures(run),
  ];
}

async function burst128(transport: Transport): Promise<Figure[]> {
  // --itl 0: each response (128 tokens, finish, usage, [DONE]) goes out in one write.
  const run = await measure(
    { ttft: "0ms", itl: "0ms" },
    ["-u", "64", "-r", "1000", "-t", "10s", "-p", "16", "-o", "128"],
    transport,
  );
  const perCore = run.events / (run.clientCpuMs / 1000);
  return [{
    figure: "events/s per client core (events ÷ client CPU s)",
    measured: `${Math.round(perCore).toLocaleString("en")}`,
    target: ">= 1,000,000",
    met: perCore >= 1_000_000,
  }];
}

async function openLoop(transport: Transport): Promise<Figure[]> {
  const qps = 1000;
  const seconds = 15;
  const run = await measure(
    { ttft: "5ms", itl: "1ms" },
    ["--qps", String(qps), "-u", "2000", "-t", `${seconds}s`, "-p", "16", "-o", "8"],
    transport,
  );
  const arrivals = run.records.map((r) => r.receivedAt).sort((a, b) => a - b);
  const inWindow = arrivals.filter((at) => at < arrivals[0] + seconds * 1000).length;
  const achieved = inWindow / seconds;
  const lagP99 = run.results.metrics.send_lag?.p99 ?? NaN;
  return [
    {
      figure: "achieved req/s (mock arrivals)",
      measured: `${fmt(achieved)} (${fmt((achieved / qps - 1) * 100)}%)`,
      target: "within 0.5%",
      met: Math.abs(achieved / qps - 1) <= 0.005,
    },
    {
      figure: "send lag p99",
      measured: `${fmt(lagP99, 3)} ms`,
      target: "<= 1 ms",
      met: lagP99 <= 1,
    },
    ...mockFigures(run),
  ];
}

async function qpsCpu(transport: Transport): Promise<Figure[]> {
  const run = await measure(
    { ttft: "5ms", itl: "1ms" },
    ["--qps", "300", "-u", "200", "-t", "15s", "-p", "16", "-o", "8"],
    transport,
  );
  const perRequestMs = run.clientCpuMs / run.records.length;
  return [{
    figure: "client CPU per request (from the first request on)",
    measured: `${fmt(perRequestMs, 3)} ms (${run.records.length} requests)`,
    target: "<= 0.1 ms",
    met: perRequestMs <= 0.1,
  }];
}

async function memory(transport: Transport): Promise<Figure[]> {
  const n = MEMORY_STREAMS;
  const few = Math.max(1, Math.round(n / 10));
  // The memory a stream costs is the slope between a run of `few` streams and one of `n`: the
  // client's own start-up (runtime, tokenizer, Worker) is in both peaks and drops out.
  const peakOf = async (streams: number) =>
    (await measure(
      { ttft: "100ms", itl: "100ms" },
      // 60 tokens at 10 tokens/s: each stream lasts 6 s, so after the ramp (4 s at most) all run.
      [
        "-u",
        String(streams),
        "-r",
        String(Math.max(500, n / 4)),
        "-t",
        "8s",
        "-p",
        "16",
        "-o",
        "60",
      ],
      transport,
    )).clientPeakRssKb;
  const fewPeakKb = await peakOf(few);
  const peakKb = await peakOf(n);
  const perStreamKb = (peakKb - fewPeakKb) / (n - few);
  return [{
    figure: `client RSS per stream ((peak at ${n} − at ${few}) ÷ ${n - few})`,
    measured: `${fmt(perStreamKb, 1)} KB (${fmt(fewPeakKb / 1024, 0)} → ${
      fmt(peakKb / 1024, 0)
    } MB)`,
    target: "<= 40 KB at 10,000 streams",
    met: perStreamKb <= 40,
  }];
}

/** The figures of each transport side by side: one row per figure, one column per transport. */
function sideBySide(title: string, byTransport: Figure[][]): string[][] {
  return byTransport[0].map((figure, i) => [
    i === 0 ? title : "",
    figure.figure,
    ...byTransport.map((figures) => {
      const { measured, met } = figures[i];
      return met === undefined ? measured : `${measured} ${met ? "(met)" : "(NOT met)"}`;
    }),
    figure.target,
  ]);
}

/** RSS (MB) of the process listening on `port`, found through /proc. */
async function rssOfListener(port: number): Promise<number> {
  const output = await new Deno.Command("sh", {
    args: ["-c", `ss -ltnpH 'sport = :${port}' | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2`],
    stdout: "piped",
  }).output();
  const pid = new TextDecoder().decode(output.stdout).trim();
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
}

/** The 1-minute load average (`/proc/loadavg`): timing figures mean little on a busy machine. */
async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
  } catch {
    return "unknown";
  }
}

function printTable(header: string[], cells: string[][]) {
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  cells.forEach((c) => console.log(line(c)));
}

const ALL_NAMES = [...SCENARIOS, ...TRANSPORT_SCENARIOS].map((s) => s.name);
const unknown = Deno.args.filter((name) => !ALL_NAMES.includes(name));
if (unknown.length > 0) {
  console.error(`Unknown scenario ${unknown.join(", ")}: expected ${ALL_NAMES.join(", ")}`);
  Deno.exit(2);
}
const wanted = Deno.args.length > 0 ? Deno.args : ALL_NAMES.filter((name) => name !== "soak");
console.log(
  `llmload bench: ${CORES} cores, deno ${Deno.version.deno}, ${
    HAS_TASKSET && CORES >= 2 ? "mock pinned to core 1, client to core 0" : "no pinning"
  }, load average ${await loadAverage()}`,
);
const rows: Row[] = [];
for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.name))) {
  console.log(`running ${scenario.name}...`);
  rows.push(...await scenario.run());
}
const sideRows: string[][] = [];
for (const scenario of TRANSPORT_SCENARIOS.filter((s) => wanted.includes(s.name))) {
  const byTransport: Figure[][] = [];
  for (const transport of TRANSPORTS) {
    console.log(`running ${scenario.name} --transport ${transport}...`);
    byTransport.push(await scenario.run(transport));
  }
  sideRows.push(...sideBySide(scenario.title, byTransport));
}
if (rows.length > 0) {
  printTable(
    ["scenario", "figure", "measured", "target", "met"],
    rows.map((row) => [
      row.scenario,
      row.figure,
      row.measured,
      row.target,
      row.met === undefined ? "" : row.met ? "yes" : "NO",
    ]),
  );
}
if (sideRows.length > 0) {
  if (rows.length > 0) console.log("");
  printTable(
    ["scenario", "figure", ...TRANSPORTS.map((t) => `--transport ${t}`), "target"],
    sideRows,
  );
}

/**
 * What `--pg` costs the coordinator's thread: turning one second's view of 1,000 finished
 * requests into rows (the insert itself is socket I/O, off the thread's CPU).
 */
function pgRows(): Promise<Row[]> {
  const scenario = "pg-rows (one view of 1,000 requests into --pg rows)";
  const records = Array.from(
    { length: 1_000 },
    (_, i) => requestRecord(20 + (i % 97), { itlMs: 5 + (i % 13), tokens: 50 }),
  );
  const view = liveView(runConfig([]), { interval: aggregateOf(records), users: 64 });
  const labels = {
    runId: new Date(view.startedAt),
    testplan: "mock-model",
    loadgen: "bench",
    pid: 1,
    url: "http://127.0.0.1:8000",
  };
  for (let i = 0; i < 50; i++) rowsOfView(view, view.startedAt, labels);
  const rounds = 500;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) rowsOfView(view, view.startedAt, labels);
  const perView = (performance.now() - start) / rounds;
  return Promise.resolve([{
    scenario,
    figure: "coordinator CPU per view",
    measured: `${perView.toFixed(2)} ms (${(perView / 10).toFixed(2)}% of a core at 1,000 req/s)`,
    target: "< 5 ms",
    met: perView < 5,
  }]);
}
