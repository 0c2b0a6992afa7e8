/**
 * Watches the client itself: process CPU (`process.cpuUsage`, all threads) and the worst event
 * loop lag the shards report. A saturated client measures itself, not the server, so the run
 * says so on the progress line, in the summary and in the results file.
 *
 * @module
 */
import process from "node:process";

/** CPU share, of the cores the shards can use, above which the client counts as saturated. */
export const CPU_SATURATION = 0.8;
/** Event-loop lag (ms) above which the client counts as saturated. */
export const LAG_SATURATION_MS = 5;

/** The client's load over the last sample. */
export interface ClientLoad {
  /** Process CPU time over wall time, as a share of the cores the shards can use (0–1+). */
  readonly cpu: number;
  /** Worst shard event-loop lag over the last sample, in ms. */
  readonly loopLagMs: number;
  /** Whether either figure is past its threshold. */
  readonly saturated: boolean;
}

/** The client's load over the whole run. */
export interface ClientSummary {
  /** Highest CPU share of any sample. */
  readonly peakCpu: number;
  /** Worst event-loop lag seen, in ms. */
  readonly peakLoopLagMs: number;
  /** Samples in which the client was saturated. */
  readonly saturatedSamples: number;
  /** Samples taken (about one a second). */
  readonly samples: number;
}

/** Reads process CPU time in microseconds; injectable for tests. */
export type CpuClock = () => { user: number; system: number };

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
  let load: ClientLoad = { cpu: 0, loopLagMs: 0, saturated: false };
  let summary: ClientSummary = { peakCpu: 0, peakLoopLagMs: 0, saturatedSamples: 0, samples: 0 };

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
      const settled = summary.samples > 0;
      const saturated = settled && (cpu > CPU_SATURATION || lagSinceSample > LAG_SATURATION_MS);
      load = { cpu, loopLagMs: lagSinceSample, saturated };
      summary = {
        peakCpu: Math.max(summary.peakCpu, cpu),
        peakLoopLagMs: Math.max(summary.peakLoopLagMs, lagSinceSample),
        saturatedSamples: summary.saturatedSamples + (saturated ? 1 : 0),
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
    /** A warning sentence while the latest sample is saturated. */
    saturationWarning(): string | undefined {
      if (!load.saturated) return undefined;
      return `the client is saturated (CPU ${Math.round(load.cpu * 100)}% of ${cores} ` +
        `core${cores === 1 ? "" : "s"}, event-loop lag ${load.loopLagMs.toFixed(1)} ms): ` +
        `latencies include client delay; use more --workers or a bigger machine`;
    },
  };
}
