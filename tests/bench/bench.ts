/**
 * `deno task bench`: measures llmload against `llmload mock` running in its own process, and
 * compares llmload's timings with the mock's own send timestamps. Prints one table of figures;
 * never fails on speed. On a machine with two or more cores the mock is pinned to one core and
 * the client to the other with `taskset`, where available.
 *
 * Usage: deno task bench [scenario ...]   (capacity fidelity breadth openloop scale soak)
 *
 * @module
 */
import type { MockRecord } from "../../mock/server.ts";
import type { Results } from "../../output/results.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
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

const SCENARIOS: readonly Scenario[] = [
  { name: "capacity", run: capacity },
  { name: "fidelity", run: fidelity },
  { name: "breadth", run: breadth },
  { name: "openloop", run: openLoop },
  { name: "scale", run: scale },
  { name: "soak", run: soak },
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
async function startMockProcess(options: { ttft: string; itl: string; core?: number }) {
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

/** Runs llmload against `url`; returns its results and its peak resident memory. */
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
    ...args,
  ]);
  const child = new Deno.Command(spec.cmd, {
    args: spec.args,
    stdout: "null",
    stderr: "null",
  }).spawn();
  let peakRssKb = 0;
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
  const results = JSON.parse(await Deno.readTextFile(json)) as Results;
  await Deno.remove(json);
  return { results, peakRssMb: peakRssKb / 1024 };
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

async function capacity(): Promise<Row[]> {
  const { eventsPerSec, results } = await capacityRun(1, true);
  return [{
    scenario: "capacity (64 users, 128 tokens in one write, 1 worker)",
    figure: "SSE events parsed/s",
    measured: `${Math.round(eventsPerSec).toLocaleString("en")} (${results.requests.ok} req)`,
    target: ">= 600,000",
    met: eventsPerSec >= 600_000,
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
    target: "report",
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

async function openLoop(): Promise<Row[]> {
  const mock = await startMockProcess({ ttft: "5ms", itl: "1ms", core: 1 });
  try {
    const { results } = await runClient(mock.url, [
      "--qps",
      "500",
      "-u",
      "1000",
      "-t",
      "20s",
      "-p",
      "16",
      "-o",
      "16",
      "--workers",
      "1",
    ], 0);
    const arrivals = (await mock.records()).map((r) => r.receivedAt).sort((a, b) => a - b);
    const first = arrivals[0];
    const inWindow = arrivals.filter((at) => at < first + 20_000).length;
    const achieved = inWindow / 20;
    const lagP99 = results.metrics.send_lag?.p99 ?? NaN;
    return [
      {
        scenario: "open loop (500 QPS constant, 20 s)",
        figure: "achieved QPS (mock arrivals)",
        measured: `${fmt(achieved)} (${fmt((achieved / 500 - 1) * 100)}%)`,
        target: "within 0.5%",
        met: Math.abs(achieved / 500 - 1) <= 0.005,
      },
      {
        scenario: "",
        figure: "send lag p99",
        measured: `${fmt(lagP99, 3)} ms`,
        target: "<= 1 ms",
        met: lagP99 <= 1,
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

function printTable(rows: Row[]) {
  const header = ["scenario", "figure", "measured", "target", "met"];
  const cells = rows.map((row) => [
    row.scenario,
    row.figure,
    row.measured,
    row.target,
    row.met === undefined ? "" : row.met ? "yes" : "NO",
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  cells.forEach((c) => console.log(line(c)));
}

const wanted = Deno.args.length > 0
  ? Deno.args
  : SCENARIOS.filter((s) => s.name !== "soak").map((s) => s.name);
console.log(
  `llmload bench: ${CORES} cores, deno ${Deno.version.deno}, ${
    HAS_TASKSET && CORES >= 2 ? "mock pinned to core 1, client to core 0" : "no pinning"
  }`,
);
const rows: Row[] = [];
for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.name))) {
  console.log(`running ${scenario.name}...`);
  rows.push(...await scenario.run());
}
printTable(rows);
