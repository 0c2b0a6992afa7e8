/**
 * Multi-turn sessions (`--turns`, `--dataset-sessions`): what one session says, turn by turn,
 * and how long its user thinks between turns. A session's script is its user turns; the
 * assistant turns are the server's real answers, which the shard appends to the history as they
 * arrive, so what the history holds is what the server said. Pure; the shard plays the script.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { ChatMessage } from "../providers/types.ts";
import type { ThinkTime } from "../options/session_parsers.ts";
import type { PromptPool } from "./prompt_pool.ts";
import type { Random } from "./random.ts";

/** What one session sends: the messages before its first user turn, then its user turns. */
export interface SessionScript {
  /** Messages sent before the first user turn in every request (a dataset's system prompt). */
  readonly preamble: readonly ChatMessage[];
  /** The user turns, in order; at least one. */
  readonly turns: readonly string[];
}

/**
 * The script of a recorded conversation: the messages before its first user message are the
 * preamble, each user message is a turn, and the recorded answers are left out (the server's
 * own answers take their place). At most `maxTurns` turns, when given.
 *
 * @example
 * ```ts
 * scriptOf([
 *   { role: "system", content: "Be brief." },
 *   { role: "user", content: "Hi" },
 *   { role: "assistant", content: "Hello!" },
 *   { role: "user", content: "How are you?" },
 * ]); // { preamble: [{ role: "system", ... }], turns: ["Hi", "How are you?"] }
 * ```
 */
export function scriptOf(messages: readonly ChatMessage[], maxTurns?: number): SessionScript {
  const first = messages.findIndex((message) => message.role === "user");
  const preamble = first < 0 ? messages : messages.slice(0, first);
  const turns = messages.filter((message) => message.role === "user").map((m) => m.content);
  return { preamble, turns: maxTurns === undefined ? turns : turns.slice(0, maxTurns) };
}

/** User turns of a recorded conversation. */
export function userTurns(messages: readonly ChatMessage[]): number {
  let turns = 0;
  for (const message of messages) if (message.role === "user") turns++;
  return turns;
}

/**
 * Refuses a dataset pool for `--dataset-sessions` in which no conversation has two user turns:
 * every session would be one request, which is not what was asked. Throws a `UsageError`.
 */
export function requireMultiTurn(pool: PromptPool, paths: readonly string[]): void {
  if (pool.messages?.some((messages) => messages !== null && userTurns(messages) > 1)) return;
  throw new UsageError(
    `Cannot use --dataset-sessions with --dataset '${paths.join("', '")}': no conversation has ` +
      `more than one user turn, expected ShareGPT conversations or JSONL "messages" rows with ` +
      `several user turns (leave out --dataset-sessions to send single requests)`,
  );
}

/**
 * Draws think times in ms: `constant` is always the mean, `uniform` is uniform in
 * [0, 2·mean], `exponential` has the mean (a Poisson user).
 *
 * @example
 * ```ts
 * const think = createThinkTime({ meanMs: 2000, distribution: "uniform" }, createRandom(1));
 * think(); // e.g. 1312.5
 * ```
 */
export function createThinkTime(thinkTime: ThinkTime, random: Random): () => number {
  const { meanMs, distribution } = thinkTime;
  if (meanMs === 0) return () => 0;
  switch (distribution) {
    case "constant":
      return () => meanMs;
    case "uniform":
      return () => random.uniform(0, 2 * meanMs);
    case "exponential":
      return () => random.exponential(meanMs);
    default:
      throw new RangeError(`Unknown think time distribution '${distribution satisfies never}'`);
  }
}
