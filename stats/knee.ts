/**
 * The knee of a sweep: where adding load stops buying throughput and starts costing latency.
 * The rule: the knee is the first point after which the next point's throughput grows by less
 * than 10% while its p99 latency grows by more than 50%. Pure, so the rule is tested exactly.
 *
 * @module
 */

/** What the knee rule reads of one sweep point. */
export interface KneeInput {
  /** Throughput at the point, e.g. output tokens or requests per second. */
  readonly throughput: number;
  /** A p99 latency at the point, e.g. E2E in ms; `undefined` when nothing completed. */
  readonly p99?: number;
}

/** Throughput growth below which the next point buys (almost) nothing: 10%. */
export const KNEE_THROUGHPUT_GROWTH = 0.1;
/** p99 latency growth above which the next point costs too much: 50%. */
export const KNEE_LATENCY_GROWTH = 0.5;

/**
 * The index of the knee among `points` (ordered by load), or `undefined` when throughput kept
 * growing, or latency kept steady, through the last point.
 *
 * @example
 * ```ts
 * kneeIndex([
 *   { throughput: 10, p99: 100 },
 *   { throughput: 20, p99: 110 },
 *   { throughput: 21, p99: 300 },
 * ]); // 1
 * ```
 */
export function kneeIndex(points: readonly KneeInput[]): number | undefined {
  for (let i = 0; i + 1 < points.length; i++) {
    const here = points[i];
    const next = points[i + 1];
    if (here.p99 === undefined || next.p99 === undefined || here.throughput <= 0) continue;
    const throughputGrowth = next.throughput / here.throughput - 1;
    const latencyGrowth = next.p99 / here.p99 - 1;
    if (throughputGrowth < KNEE_THROUGHPUT_GROWTH && latencyGrowth > KNEE_LATENCY_GROWTH) return i;
  }
  return undefined;
}
