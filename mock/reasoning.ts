/**
 * Reasoning in the mock's replies: a request that names a reasoning effort (`reasoning_effort`
 * in chat, `reasoning.effort` in the Responses API) gets its first tokens as reasoning, the
 * share set by the effort, and the count reported as `reasoning_tokens`. Pure.
 *
 * @module
 */

/** Share of a reply's tokens that are reasoning, by effort. */
const REASONING_SHARE: Readonly<Record<string, number>> = {
  none: 0,
  minimal: 0.125,
  low: 0.25,
  medium: 0.5,
  high: 0.75,
};

/**
 * The share of reasoning tokens an effort asks for, `undefined` when the request names none, or
 * the message of a 400 reply for an effort the mock does not know.
 */
export function reasoningShare(effort: unknown): number | undefined | string {
  if (effort === undefined || effort === null) return undefined;
  const share = typeof effort === "string" ? REASONING_SHARE[effort] : undefined;
  if (share === undefined) {
    return `Cannot use reasoning effort ${JSON.stringify(effort)}: expected one of ` +
      Object.keys(REASONING_SHARE).join(", ");
  }
  return share;
}

/** Reasoning tokens of a reply of `tokens` at `share`: the first ones, rounded down. */
export function reasoningTokens(tokens: number, share: number | undefined): number {
  return share === undefined ? 0 : Math.floor(tokens * share);
}
