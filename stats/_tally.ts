/**
 * The counters a `Recorder` and an `Aggregate` both keep (ok count, failures by kind, token
 * totals, capped sends), with their merge and reset rules written once. Metrics are kept apart:
 * raw samples in a recorder, histograms in an aggregate. Private to stats/.
 *
 * @module
 */

import type { FailureKind, TokenSource } from "../request/types.ts";
import { FAILURE_KINDS, MAX_EXAMPLES } from "./metrics.ts";
import type { DeltaCounts, FailureStats, TokenStats } from "./types.ts";
import { addSloCounts, emptySloCounts, type SloCounts, sloMetricsOf } from "./slo.ts";

/** Failures by kind, as a delta and a tally hold them. */
type Failures = Partial<Record<FailureKind, FailureStats>>;

/** Counters of one recorder or aggregate. */
export class Tally {
  /** Successful requests. */
  ok = 0;
  /** Failures by kind; kinds without failures are absent. */
  failures: Failures = {};
  /** Token and character totals. */
  tokens: TokenStats = emptyTokens();
  /** Sends delayed because the in-flight cap was reached. */
  capped = 0;
  /** Requests judged against an SLO; absent until a recorder sets it or a delta brings it. */
  slo?: SloCounts;

  /** Failed requests, all kinds. */
  failed(): number {
    let failed = 0;
    for (const stats of Object.values(this.failures)) failed += stats.count;
    return failed;
  }

  /** Adds failures of one kind, keeping at most `MAX_EXAMPLES` distinct messages. */
  addFailure(
    kind: FailureKind,
    part: { count: number; statuses: Record<string, number>; messages: readonly string[] },
  ): void {
    addFailure(this.failures, kind, part);
  }

  /** Adds the counters of one delta, exactly. */
  merge(delta: DeltaCounts): void {
    this.ok += delta.ok;
    for (const kind of FAILURE_KINDS) {
      const part = delta.failures[kind];
      if (part) addFailure(this.failures, kind, part);
    }
    addTokens(this.tokens, delta.tokens);
    this.capped += delta.capped;
    if (delta.slo !== undefined) addSloCounts(this.slo ??= emptySloCounts([]), delta.slo);
  }

  /** Every counter, sharing nothing with this tally. */
  copy(): DeltaCounts {
    return {
      ok: this.ok,
      failures: this.copyFailures(),
      tokens: this.copyTokens(),
      capped: this.capped,
      ...(this.slo ? { slo: this.copySlo()! } : {}),
    };
  }

  /** A copy of the SLO counts, sharing nothing with this tally; absent without an SLO. */
  copySlo(): SloCounts | undefined {
    if (this.slo === undefined) return undefined;
    const copy = emptySloCounts([]);
    addSloCounts(copy, this.slo);
    return copy;
  }

  /** A copy of the failures by kind, sharing nothing with this tally. */
  copyFailures(): Failures {
    const copy: Failures = {};
    for (const kind of FAILURE_KINDS) {
      const stats = this.failures[kind];
      if (stats) addFailure(copy, kind, stats);
    }
    return copy;
  }

  /** A copy of the token totals, sharing nothing with this tally. */
  copyTokens(): TokenStats {
    const copy = emptyTokens();
    addTokens(copy, this.tokens);
    return copy;
  }

  /** Every counter, and starts afresh; cheaper than `copy()` then `reset()`. */
  take(): DeltaCounts {
    const counts: DeltaCounts = {
      ok: this.ok,
      failures: this.failures,
      tokens: this.tokens,
      capped: this.capped,
      ...(this.slo ? { slo: this.slo } : {}),
    };
    // reset() replaces the failure and token objects, so the counts keep the only reference.
    this.reset();
    return counts;
  }

  /** Forgets everything. */
  reset(): void {
    this.ok = 0;
    this.failures = {};
    this.tokens = emptyTokens();
    this.capped = 0;
    // An SLO, once known, stays: at zero, with the same bounds.
    if (this.slo !== undefined) this.slo = emptySloCounts(sloMetricsOf(this.slo));
  }
}

function emptyTokens(): TokenStats {
  return {
    output: 0,
    prompt: 0,
    chars: 0,
    sources: { usage: 0, logprobs: 0, tokenizer: 0 },
    mismatches: { count: 0, examples: [] },
    promptMismatches: { count: 0, examples: [] },
    empty: 0,
    truncated: 0,
    promptCache: { requests: 0, hits: 0, cachedTokens: 0, promptTokens: 0 },
    inputs: 0,
    reasoning: 0,
    cancelled: 0,
  };
}

function addFailure(
  failures: Failures,
  kind: FailureKind,
  part: { count: number; statuses: Record<string, number>; messages: readonly string[] },
) {
  const stats = failures[kind] ??= { count: 0, statuses: {}, messages: [] };
  stats.count += part.count;
  for (const [status, n] of Object.entries(part.statuses)) {
    stats.statuses[status] = (stats.statuses[status] ?? 0) + n;
  }
  for (const message of part.messages) {
    if (stats.messages.length >= MAX_EXAMPLES) break;
    if (!stats.messages.includes(message)) stats.messages.push(message);
  }
}

function addTokens(into: TokenStats, part: TokenStats) {
  into.output += part.output;
  into.prompt += part.prompt;
  into.chars += part.chars;
  for (const source of Object.keys(into.sources) as TokenSource[]) {
    into.sources[source] += part.sources[source];
  }
  into.mismatches.count += part.mismatches.count;
  for (const example of part.mismatches.examples) {
    if (into.mismatches.examples.length >= MAX_EXAMPLES) break;
    into.mismatches.examples.push({ ...example });
  }
  into.promptMismatches.count += part.promptMismatches.count;
  for (const example of part.promptMismatches.examples) {
    if (into.promptMismatches.examples.length >= MAX_EXAMPLES) break;
    into.promptMismatches.examples.push({ ...example });
  }
  // Results written before these counts existed merge as zeros.
  into.empty += part.empty ?? 0;
  into.truncated += part.truncated ?? 0;
  into.promptCache.requests += part.promptCache?.requests ?? 0;
  into.promptCache.hits += part.promptCache?.hits ?? 0;
  into.promptCache.cachedTokens += part.promptCache?.cachedTokens ?? 0;
  into.promptCache.promptTokens += part.promptCache?.promptTokens ?? 0;
  into.inputs += part.inputs ?? 0;
  into.reasoning += part.reasoning ?? 0;
  into.cancelled += part.cancelled ?? 0;
}
