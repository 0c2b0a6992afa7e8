/**
 * `llmload sweep --find-max`: the search for the largest load whose SLO attainment meets a
 * target. Grow geometrically (×2) from the first load until a point fails, then bisect between
 * the largest passing and the smallest failing load until they are within `precision` of each
 * other; when the first load already fails, halve it until one passes. With repeats, a point
 * passes when the mean attainment of its runs meets the target, and reports the mean with its
 * 95% confidence interval (Student's t). Pure: the caller runs the points.
 *
 * @module
 */

/** One load tried, with the SLO attainment of each of its runs (shares from 0 to 1). */
export interface TriedLoad {
  /** Users or QPS of the point. */
  readonly load: number;
  /** Attainment of every run at this load. */
  readonly attainments: readonly number[];
}

/** What the search is after. */
export interface FindMaxGoal {
  /** Attainment a load must reach (`--attainment`, e.g. 0.95). */
  readonly target: number;
  /** Relative gap between the passing and failing loads at which the search stops (0.05). */
  readonly precision: number;
  /** Loads are whole numbers (users); bisection rounds and stops at neighbours. */
  readonly whole: boolean;
  /** Highest load to try, if bounded. */
  readonly ceiling?: number;
}

/** Halvings of a failing first load before the search gives up: 1/1024 of it. */
const MAX_HALVINGS = 10;

/** Mean attainment of a tried load. */
export function meanOf(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Whether a tried load met the goal: its mean attainment at least the target. */
export function passed(tried: TriedLoad, goal: Pick<FindMaxGoal, "target">): boolean {
  // A share such as 19/20 = 0.95 must meet a 0.95 target despite rounding.
  return meanOf(tried.attainments) >= goal.target - 1e-12;
}

/**
 * The next load to try after `tried` (in the order tried), or `undefined` when the search is
 * over. The first load is the caller's.
 *
 * @example
 * ```ts
 * const goal = { target: 0.95, precision: 0.05, whole: false };
 * nextLoad([{ load: 4, attainments: [1] }], goal); // 8
 * nextLoad([{ load: 4, attainments: [1] }, { load: 8, attainments: [0.2] }], goal); // 6
 * ```
 */
export function nextLoad(tried: readonly TriedLoad[], goal: FindMaxGoal): number | undefined {
  if (tried.length === 0) return undefined;
  const passing = tried.filter((point) => passed(point, goal)).map((point) => point.load);
  const failing = tried.filter((point) => !passed(point, goal)).map((point) => point.load);
  const best = passing.length > 0 ? Math.max(...passing) : undefined;
  const worst = failing.length > 0 ? Math.min(...failing) : undefined;
  if (best === undefined) {
    if (tried.length > MAX_HALVINGS) return undefined;
    const half = worst! / 2;
    return goal.whole ? (worst! <= 1 ? undefined : Math.floor(half)) : half;
  }
  if (worst === undefined) {
    const grown = best * 2;
    if (goal.ceiling !== undefined && best >= goal.ceiling) return undefined;
    return goal.ceiling === undefined ? grown : Math.min(grown, goal.ceiling);
  }
  if ((worst - best) / best <= goal.precision) return undefined;
  const middle = goal.whole ? Math.floor((best + worst) / 2) : (best + worst) / 2;
  if (middle <= best) return undefined;
  return goal.whole ? middle : Number(middle.toPrecision(6));
}

/** The largest load that passed, or `undefined` when none did. */
export function foundMax(tried: readonly TriedLoad[], goal: FindMaxGoal): number | undefined {
  const passing = tried.filter((point) => passed(point, goal)).map((point) => point.load);
  return passing.length > 0 ? Math.max(...passing) : undefined;
}

// Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (any statistics table);
// beyond 30 the normal 1.96 is within 2% of them.
const T95 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/**
 * The mean of `values` and its 95% confidence interval by Student's t; with one value the
 * interval is that value alone (nothing to estimate a spread from).
 *
 * @example
 * ```ts
 * meanInterval([0.9, 1, 0.95]); // { mean: 0.95, low: 0.826..., high: 1.074... }
 * ```
 */
export function meanInterval(
  values: readonly number[],
): { mean: number; low: number; high: number } {
  const mean = meanOf(values);
  const n = values.length;
  if (n < 2) return { mean, low: mean, high: mean };
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1);
  const half = (T95[n - 2] ?? 1.96) * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half };
}
