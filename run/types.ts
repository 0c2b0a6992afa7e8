/**
 * The run's shared vocabulary: its states, the live view observers receive, the control that
 * steers it, its I/O and its outcome. Observers (outputs) import these, never the coordinator.
 *
 * @module
 */
import type { Redacted } from "../common/secrets.ts";
import type { WorkloadFacts } from "../load/pool_builder.ts";
import type { RunConfig } from "../options/types.ts";
import type { Aggregate } from "../stats/aggregate.ts";
import type { ClientLoad, ClientSummary } from "./client_monitor.ts";
import type { Target } from "./target.ts";
import type { ServerMetricsReport } from "../server_metrics/scraper.ts";
import type { Stage } from "../options/goal_parsers.ts";
import type { SliceSummary } from "./slices.ts";

/** One `--stages` stage of a finished run: its load, when it ran, what it measured. */
export interface StageOutcome {
  /** The stage as given. */
  readonly stage: Stage;
  /** Absolute ms when it began (after the warm-up, for the first). */
  readonly startedAt: number;
  /** Absolute ms when it ended. */
  readonly endedAt: number;
  /** Its requests: those that completed while it ran. */
  readonly aggregate: Aggregate;
}

/** The current load: users (closed loop or in-flight cap) and the QPS target. */
export interface CurrentLoad {
  /** Users, or the in-flight cap in QPS mode. */
  readonly users: number;
  /** QPS target, in QPS mode. */
  readonly qps?: number;
}

/** Where a run is in its life. */
export type RunState = "starting" | "running" | "stopping" | "done";

/** What a live observer sees, once a second and at every change of state. */
export interface LiveView {
  /** Where the run is. */
  readonly state: RunState;
  /**
   * The run's configuration as the results show it (`redactConfig`): no API key, no serve
   * token, no credential headers. An observer that scrubs text gets the secrets when it is made.
   */
  readonly config: Redacted<RunConfig>;
  /** The resolved target. */
  readonly target: Target;
  /** Absolute ms when load started. */
  readonly startedAt: number;
  /** Absolute ms when the measured window began (after warm-up). */
  readonly windowStart: number;
  /** Absolute ms of this view. */
  readonly now: number;
  /** Everything measured in the window so far. Read only. */
  readonly aggregate: Aggregate;
  /** What was measured since the previous view: per-second points come from here. Read only. */
  readonly interval: Aggregate;
  /** Requests in flight now. */
  readonly inFlight: number;
  /** The load now. */
  readonly load: CurrentLoad;
  /** Warnings so far. */
  readonly warnings: readonly string[];
  /** The `max_tokens` distribution, described. */
  readonly generationTokens: string;
  /** The client's own load right now. */
  readonly client: ClientLoad;
  /** What scraping the server's metrics found so far; absent when they are not scraped. */
  readonly serverMetrics?: ServerMetricsReport;
}

/** Steers a running load test from outside (the results server's control routes). */
export interface RunControl {
  /** Stops gracefully, as Ctrl+C does. */
  stop(): void;
  /** Changes the users (or in-flight cap) and, in QPS mode, the target rate. */
  setLoad(load: { readonly users?: number; readonly qps?: number }): void;
}

/** Where the coordinator reports while running, and how it is told to stop. */
export interface RunIo {
  /** Prints one line of progress or information. */
  readonly log: (line: string) => void;
  /** Rewrites the live progress line in place (TTY); absent when output is not a terminal. */
  readonly status?: (line: string) => void;
  /** Aborted on the first Ctrl+C/SIGTERM: stop sending, let in-flight requests finish. */
  readonly stopSignal?: AbortSignal;
  /** Aborted on the second Ctrl+C: cut in-flight requests off now. */
  readonly abortSignal?: AbortSignal;
  /** Receives the live view once a second and at each change of state. */
  readonly live?: (view: LiveView) => void;
  /** Receives the run's control once load has started. */
  readonly control?: (control: RunControl) => void;
}

/** Everything the run measured, before it is formatted. */
export interface RunOutcome {
  /** The resolved target. */
  readonly target: Target;
  /** The merged stats of the measured window (after warm-up). */
  readonly aggregate: Aggregate;
  /** Absolute ms when the measured window began. */
  readonly windowStart: number;
  /** Absolute ms when the last request of the window ended. */
  readonly windowEnd: number;
  /** Absolute ms when load started. */
  readonly startedAt: number;
  /** The `max_tokens` distribution, described for the summary. */
  readonly generationTokens: string;
  /** Prompt tokens by the local tokenizer. */
  readonly localPromptTokens?: number;
  /** What the prompts were (dataset, generated, text), for the results' `workload` section. */
  readonly workload?: WorkloadFacts;
  /** Number of Worker shards used. */
  readonly shards: number;
  /** Requests cut off by the stop (not failures). */
  readonly cancelled: number;
  /** Shortest and longest wait, in ms, of the requests cut off by the stop; absent without any. */
  readonly cutOffWaitMs?: { readonly min: number; readonly max: number };
  /** True when the run was cut short (second Ctrl+C, or shards that did not finish). */
  readonly partial: boolean;
  /** Warnings raised during the run, for the summary and the results file. */
  readonly warnings: readonly string[];
  /** How hard the client itself worked. */
  readonly client: ClientSummary;
  /** With `--stages`: each stage that began, in order. */
  readonly stages?: readonly StageOutcome[];
  /** With `--slice`: the measured window's slices, in order. */
  readonly slices?: readonly SliceSummary[];
  /** The threshold that stopped the run early (`--abort-on-threshold`), and why. */
  readonly thresholdAbort?: string;
  /** What scraping the server's metrics found; absent when they were not scraped. */
  readonly serverMetrics?: ServerMetricsReport;
}
