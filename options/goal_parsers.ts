/**
 * Value parsers of the goal options: `--slo` (per-request bounds), `--threshold` (a pass/fail
 * expression on the run's figures) and `--stages` (the load over time). Pure; each throws
 * `Rejected` with the accepted forms, as `options/parsers.ts`.
 *
 * @module
 */
import { DURATION_FORMS, MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from "./duration.ts";
import { Rejected } from "./parsers.ts";
import { type Slo, SLO_METRICS, type SloBound, type SloMetric } from "../stats/slo.ts";
import {
  type Threshold,
  thresholdFigure,
  thresholdNames,
  type ThresholdOperator,
} from "../stats/thresholds.ts";

/** One stage of `--stages`: how long it lasts and the load during it (users or a QPS target). */
export interface Stage {
  /** Its length in ms, more than 0. */
  readonly durationMs: number;
  /** Users (closed loop), or absent in QPS stages. */
  readonly users?: number;
  /** QPS target, for `duration:Nqps` stages. */
  readonly qps?: number;
}

const SLO_FORM = `METRIC<=DURATION[,...] with METRIC one of ${SLO_METRICS.join(", ")} ` +
  `(each once), such as ttft<=500ms,tpot<=50ms,e2e<=20s`;

/**
 * Parses `--slo`: bounds such as `ttft<=500ms,itl<=100ms`, each metric at most once.
 *
 * @example
 * ```ts
 * slo("ttft<=500ms,e2e<=20s"); // [{ metric: "ttft", limitMs: 500 }, { metric: "e2e", limitMs: 20000 }]
 * ```
 */
export function slo(value: string | boolean): Slo {
  if (typeof value !== "string" || value.trim() === "") throw new Rejected(SLO_FORM);
  const bounds: SloBound[] = [];
  for (const part of value.split(",")) {
    const match = /^\s*([a-z0-9_]+)\s*<=\s*(\S+)\s*$/.exec(part);
    const metric = match?.[1] as SloMetric | undefined;
    if (
      match === null || !SLO_METRICS.includes(metric!) ||
      bounds.some((bound) => bound.metric === metric)
    ) throw new Rejected(SLO_FORM);
    bounds.push({ metric: metric!, limitMs: durationOf(match[2], SLO_FORM) });
  }
  return bounds;
}

const OPERATOR = /^(.+?)\s*(<=|>=|<|>)\s*(.+)$/;

/**
 * Parses one `--threshold`: `NAME OP VALUE` with OP one of `<`, `<=`, `>`, `>=`; a time metric's
 * value may carry a duration unit (`800ms`, `1.5s`), a bare number is in the figure's unit (ms
 * for time metrics, a share from 0 to 1 for `fail_ratio`, `goodput` and `attainment.*`).
 *
 * @example
 * ```ts
 * threshold("ttft.p99<800ms").limit; // 800
 * ```
 */
export function threshold(value: string | boolean): Threshold {
  const form = `NAME<VALUE (or <=, >, >=) with NAME one of ${thresholdNames()}, such as ` +
    `ttft.p99<800ms, fail_ratio<0.01 or goodput>=0.95`;
  if (typeof value !== "string") throw new Rejected(form);
  const match = OPERATOR.exec(value.trim());
  const figure = match === null ? undefined : thresholdFigure(match[1].trim());
  if (match === null || figure === undefined) throw new Rejected(form);
  const limitText = match[3].trim();
  const bare = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/.test(limitText);
  const timed = figure.kind === "metric" &&
    !["num_tokens", "prompt_tokens"].includes(figure.metric);
  if (!bare && !timed) throw new Rejected(form);
  return {
    text: value.trim(),
    figure,
    operator: match[2] as ThresholdOperator,
    // A bare number of a time metric is in ms, as the tables show it (not seconds, as -t reads).
    limit: bare ? Number(limitText) : durationOf(limitText, form),
  };
}

const STAGES_FORM = `DURATION:USERS[,...] or DURATION:Nqps[,...], each duration more than 0 ` +
  `(${DURATION_FORMS}), such as 1m:8,2m:32 or 30s:5qps,30s:10qps`;

/**
 * Parses `--stages`: `1m:8,2m:32` (users) or `30s:5qps,1m:10qps` (QPS targets), all of one kind.
 *
 * @example
 * ```ts
 * stages("1m:8,2m:32"); // [{ durationMs: 60000, users: 8 }, { durationMs: 120000, users: 32 }]
 * ```
 */
export function stages(value: string | boolean): Stage[] {
  if (typeof value !== "string" || value.trim() === "") throw new Rejected(STAGES_FORM);
  const parsed = value.split(",").map((part): Stage => {
    const match = /^\s*([^:]+):\s*(\d+(?:\.\d+)?)(qps)?\s*$/.exec(part);
    if (match === null) throw new Rejected(STAGES_FORM);
    const durationMs = durationOf(match[1], STAGES_FORM);
    const amount = Number(match[2]);
    if (durationMs <= 0 || amount <= 0) throw new Rejected(STAGES_FORM);
    if (match[3] !== undefined) return { durationMs, qps: amount };
    if (!Number.isSafeInteger(amount)) throw new Rejected(STAGES_FORM);
    return { durationMs, users: amount };
  });
  const qpsStages = parsed.filter((stage) => stage.qps !== undefined).length;
  if (qpsStages !== 0 && qpsStages !== parsed.length) {
    throw new Rejected(`${STAGES_FORM}; not users and QPS mixed`);
  }
  const totalMs = parsed.reduce((sum, stage) => sum + stage.durationMs, 0);
  if (totalMs > MAX_DURATION_MS) throw new Rejected(`stages lasting ${MAX_DURATION_TEXT}`);
  return parsed;
}

function durationOf(text: string, form: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new Rejected(form);
  }
}
