/**
 * Over-saturation, as GuideLLM stops a sweep on it: over the last window the requests in flight
 * and the time to first token both climb. Each is fitted with a least-squares line over the
 * window's samples; the server is over-saturated when both slopes are positive and both fitted
 * lines end at least `minGrowth` times where they start (queues that grow, not noise). Pure.
 *
 * @example
 * ```ts
 * const saturated = createSaturationCheck({ windowMs: 10_000 });
 * saturated({ at: 0, inFlight: 10, ttftMs: 50 }); // false: the window is not covered yet
 * ```
 *
 * @module
 */

/** One live sample: when (ms), requests in flight, and the TTFT p50 of that second (ms). */
export interface SaturationSample {
  /** When, in ms on any clock that only moves forward. */
  readonly at: number;
  /** Requests in flight. */
  readonly inFlight: number;
  /** The second's TTFT p50 in ms; `null` when no first token came in it. */
  readonly ttftMs: number | null;
}

/** The window the check looks at and how much both series must grow across it. */
export interface SaturationRule {
  /** How far back the check looks, in ms; it answers `false` until samples span that much. */
  readonly windowMs: number;
  /** Fitted end over fitted start that both series must reach; default 1.2 (20% growth). */
  readonly minGrowth?: number;
}

/** Fewest samples of each series a verdict needs. */
const MIN_SAMPLES = 3;

/**
 * A check fed one sample at a time (about one a second); each call answers whether the samples of
 * the last `windowMs` show an over-saturated server.
 */
export function createSaturationCheck(rule: SaturationRule): (sample: SaturationSample) => boolean {
  const minGrowth = rule.minGrowth ?? 1.2;
  const samples: SaturationSample[] = [];
  return function saturated(sample: SaturationSample): boolean {
    samples.push(sample);
    while (samples.length > 1 && samples[1].at <= sample.at - rule.windowMs) samples.shift();
    if (sample.at - samples[0].at < rule.windowMs) return false;
    const inFlight = samples.map((s) => [s.at, s.inFlight] as const);
    const ttft = samples.flatMap((s) => s.ttftMs === null ? [] : [[s.at, s.ttftMs] as const]);
    return climbs(inFlight, minGrowth) && climbs(ttft, minGrowth);
  };
}

/** Whether the least-squares line through `points` rises by at least `minGrowth` times. */
function climbs(points: readonly (readonly [number, number])[], minGrowth: number): boolean {
  if (points.length < MIN_SAMPLES) return false;
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  }
  if (sxx === 0 || sxy <= 0) return false;
  const slope = sxy / sxx;
  const start = meanY + slope * (points[0][0] - meanX);
  const end = meanY + slope * (points[n - 1][0] - meanX);
  return start > 0 ? end >= start * minGrowth : end > 0;
}
