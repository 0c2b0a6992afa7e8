/**
 * Watches the client itself: process CPU (`process.cpuUsage`, all threads) and the worst event
 * loop lag the shards report, and tells apart two reasons its timings may be late. A CPU-bound
 * client measures itself, not the server: more `--workers` or a bigger machine help. A client
 * whose event loop is late while its own CPU is low is being held back by other processes on
 * the machine (often the server under test): more workers would not help, cores of its own
 * would. The run says which on the progress line, in the summary and in the results file.
 *
 * @module
 */
import process from "node:process";

/** CPU share, of the cores the shards can use, above which the client is CPU-bound. */
export const CPU_SATURATION = 0.8;
/** Event-loop lag (ms) above which the client's timings count as late. */
export const LAG_SATURATION_MS = 5;
/**
 * CPU share below which late timings are blamed on other processes: with half its cores idle,
 * llmload's own threads are not what keeps its event loops waiting.
 */
export const LOW_CPU = 0.5;

/**
 * What limited the client in one sample: nothing, its own CPU, or other processes on the
 * machine that delayed it.
 */
export type ClientState = "ok" | "cpu-bound" | "delayed";

/**
 * Decides what one sample of CPU share and worst event-loop lag means.
 *
 * @example
 * ```ts
 * classifyClient(0.93, 2); // "cpu-bound"
 * classifyClient(0.06, 14); // "delayed": lag without CPU, so something else holds the cores
 * classifyClient(0.3, 1); // "ok"
 * ```
 */
export function classifyClient(cpu: number, loopLagMs: number): ClientState {
  if (cpu > CPU_SATURATION) return "cpu-bound";
  if (loopLagMs <= LAG_SATURATION_MS) return "ok";
  return cpu >= LOW_CPU ? "cpu-bound" : "delayed";
}

/** The client's load over the last sample. */
export interface ClientLoad {
  /** Process CPU time over wall time, as a share of the cores the shards can use (0–1+). */
  readonly cpu: number;
  /** Worst shard event-loop lag over the last sample, in ms. */
  readonly loopLagMs: number;
  /** The client is CPU-bound: its latencies include its own delay. */
  readonly saturated: boolean;
  /** Other processes on the machine delay the client: timings may be `loopLagMs` late. */
  readonly delayed: boolean;
}

/** The client's load over the whole run. */
export interface ClientSummary {
  /**
   * What limited the client over the run: `cpu-bound` if any sample was, else `delayed` if any
   * sample was delayed by other processes, else `ok`.
   */
  readonly verdict: ClientState;
  /** Highest CPU share of any sample. */
  readonly peakCpu: number;
  /** Worst event-loop lag seen, in ms. */
  readonly peakLoopLagMs: number;
  /** Samples in which the client was CPU-bound. */
  readonly saturatedSamples: number;
  /** Samples in which other processes delayed the client. */
  readonly delayedSamples: number;
  /** Worst event-loop lag of the delayed samples, in ms: how late timings may be. */
  readonly peakDelayMs: number;
  /** Samples taken (about one a second). */
  readonly samples: number;
}

/** Reads process CPU time in microseconds; injectable for tests. */
export type CpuClock = () => { user: number; system: number };

/** The final warning about the client over a whole run, if it has one. */
export function clientWarning(client: ClientSummary): string | undefined {
  if (client.saturatedSamples > 0) {
    return `the client was saturated in ${client.saturatedSamples} of ${client.samples} ` +
      `one-second samples (peak CPU ${Math.round(client.peakCpu * 100)}%, worst event-loop lag ` +
      `${client.peakLoopLagMs.toFixed(1)} ms): latencies then include client delay; use more ` +
      `--workers or a bigger machine`;
  }
  if (client.delayedSamples > 0) {
    const late = client.peakDelayMs.toFixed(1);
    return `other processes on this machine delayed llmload by up to ${late} ms in ` +
      `${client.delayedSamples} of ${client.samples} one-second samples (its own CPU peaked at ` +
      `${Math.round(client.peakCpu * 100)}%): timings may be up to ${late} ms late; more ` +
      `--workers will not help, run llmload where the server and other work leave it free cores`;
  }
  return undefined;
}

/** Creates a monitor for a client whose shards can use `cores` cores. */
export function createClientMonitor(
  cores: number,
  options: { cpuClock?: CpuClock; now?: () => number } = {},
) {
  const cpuClock = options.cpuClock ?? (() => process.cpuUsage());
  const now = options.now ?? (() => performance.now());
  let lastCpu = cpuClock();
  let lastAt = now();
  let lagSinceSample = 0;
  let load: ClientLoad = { cpu: 0, loopLagMs: 0, saturated: false, delayed: false };
  let summary: ClientSummary = {
    verdict: "ok",
    peakCpu: 0,
    peakLoopLagMs: 0,
    saturatedSamples: 0,
    delayedSamples: 0,
    peakDelayMs: 0,
    samples: 0,
  };

  return {
    /** Records a shard's reported event-loop lag. */
    noteLag(lagMs: number) {
      lagSinceSample = Math.max(lagSinceSample, lagMs);
    },
    /** Takes one sample (call about once a second). */
    sample(): ClientLoad {
      const cpuNow = cpuClock();
      const at = now();
      const usedMs = (cpuNow.user - lastCpu.user + cpuNow.system - lastCpu.system) / 1000;
      const cpu = at > lastAt ? usedMs / (at - lastAt) / cores : 0;
      // The first second holds start-up (module compilation, new connections): its lag says
      // nothing about whether the client keeps up with the load.
      const state = summary.samples > 0 ? classifyClient(cpu, lagSinceSample) : "ok";
      const saturated = state === "cpu-bound";
      const delayed = state === "delayed";
      load = { cpu, loopLagMs: lagSinceSample, saturated, delayed };
      const saturatedSamples = summary.saturatedSamples + (saturated ? 1 : 0);
      const delayedSamples = summary.delayedSamples + (delayed ? 1 : 0);
      summary = {
        verdict: saturatedSamples > 0 ? "cpu-bound" : delayedSamples > 0 ? "delayed" : "ok",
        peakCpu: Math.max(summary.peakCpu, cpu),
        peakLoopLagMs: Math.max(summary.peakLoopLagMs, lagSinceSample),
        saturatedSamples,
        delayedSamples,
        peakDelayMs: delayed ? Math.max(summary.peakDelayMs, lagSinceSample) : summary.peakDelayMs,
        samples: summary.samples + 1,
      };
      lastCpu = cpuNow;
      lastAt = at;
      lagSinceSample = 0;
      return load;
    },
    /** The latest sample. */
    current(): ClientLoad {
      return load;
    },
    /** The whole run so far. */
    summary(): ClientSummary {
      return summary;
    },
    /** A warning sentence while the latest sample is CPU-bound or delayed. */
    saturationWarning(): string | undefined {
      if (load.delayed) {
        const late = load.loopLagMs.toFixed(1);
        return `other processes on this machine delay llmload by up to ${late} ms (its own CPU ` +
          `${Math.round(load.cpu * 100)}% of ${cores} core${cores === 1 ? "" : "s"}): timings ` +
          `may be up to ${late} ms late; more --workers will not help, free cores would`;
      }
      if (!load.saturated) return undefined;
      return `the client is saturated (CPU ${Math.round(load.cpu * 100)}% of ${cores} ` +
        `core${cores === 1 ? "" : "s"}, event-loop lag ${load.loopLagMs.toFixed(1)} ms): ` +
        `latencies include client delay; use more --workers or a bigger machine`;
    },
  };
}
