/**
 * `--stages` over time: when each stage ends and the load it asks for. Pure, so a sweep can
 * build its points on the same pieces.
 *
 * @module
 */
import type { Stage } from "../options/goal_parsers.ts";
import { formatDuration } from "../options/duration.ts";

/** The absolute ms at which each stage ends, for a run that starts at `startAt`. */
export function stageEnds(stages: readonly Stage[], startAt: number): number[] {
  let end = startAt;
  return stages.map((stage) => end += stage.durationMs);
}

/** The stage running at absolute ms `now`: the first whose end is later (the last one after). */
export function stageAt(ends: readonly number[], now: number): number {
  const index = ends.findIndex((end) => now < end);
  return index === -1 ? ends.length - 1 : index;
}

/** The load change that starts `stage`: its users, or its QPS target. */
export function loadOf(stage: Stage): { readonly users?: number; readonly qps?: number } {
  return stage.qps === undefined ? { users: stage.users } : { qps: stage.qps };
}

/** `1m:8` or `30s:5qps`, as the console and the results label a stage. */
export function describeStage(stage: Stage): string {
  return `${formatDuration(stage.durationMs)}:${
    stage.qps === undefined ? stage.users : `${stage.qps}qps`
  }`;
}
