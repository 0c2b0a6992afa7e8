/**
 * Plays one multi-turn session: sends its first user turn, appends the answer the server really
 * gave to the history, thinks, sends the next turn with the whole history, and so on. Knows
 * nothing of transports or clocks: the shard hands it how to send, wait and draw think times.
 *
 * @module
 */
import type { ChatMessage, Sample } from "../providers/types.ts";

/** One user turn of a session, as prepared before it is played. */
export interface SessionTurn {
  /** The user message. */
  readonly text: string;
  /** `max_tokens` of its request. */
  readonly maxTokens: number;
  /** Prompt tokens of its request by the local tokenizer, where known (a first turn). */
  readonly promptTokens?: number;
}

/** A session ready to play. */
export interface PlannedSession {
  /** Messages sent before the first user turn in every request (a dataset's system prompt). */
  readonly preamble: readonly ChatMessage[];
  /** The user turns, in order. */
  readonly turns: readonly SessionTurn[];
}

/** One turn's request, for {@link SessionHooks.send}. */
export interface TurnRequest {
  /** The sample: the turn's text as `prompt`, the history up to it as `messages`. */
  readonly sample: Sample;
  /** Turn index, 1 for the first. */
  readonly turn: number;
  /** Prompt tokens by the local tokenizer, where known. */
  readonly promptTokens?: number;
  /** When the schedule meant to send it (absolute ms), in QPS mode. */
  readonly intendedStart?: number;
}

/** What a session needs from the shard that plays it. */
export interface SessionHooks {
  /** Sends one turn; resolves with the answer's text, or `undefined` when the request failed. */
  send(request: TurnRequest): Promise<string | undefined>;
  /** Waits until absolute ms `at` (and for a free slot); resolves `false` if the run stopped. */
  waitUntil(at: number): Promise<boolean>;
  /** Absolute ms now. */
  now(): number;
  /** The next think time, in ms. */
  think(): number;
}

/**
 * Plays `session` to its end: its last turn, a failed turn (there is no answer to go on with),
 * or the run's stop. Turns after the first are sent a think time after the previous answer;
 * with `intendedStart` (QPS mode) each turn's intended send is the end of its think time, so a
 * turn delayed by the in-flight cap shows as send lag.
 *
 * @example
 * ```ts
 * await playSession({ preamble: [], turns: [{ text: "Hi", maxTokens: 32 }] }, hooks);
 * ```
 */
export async function playSession(
  session: PlannedSession,
  hooks: SessionHooks,
  intendedStart?: number,
): Promise<void> {
  const history: ChatMessage[] = [...session.preamble];
  let intended = intendedStart;
  for (let index = 0; index < session.turns.length; index++) {
    if (index > 0) {
      const wakeAt = hooks.now() + hooks.think();
      if (!await hooks.waitUntil(wakeAt)) return;
      if (intended !== undefined) intended = wakeAt;
    }
    const turn = session.turns[index];
    history.push({ role: "user", content: turn.text });
    const answer = await hooks.send({
      sample: { prompt: turn.text, messages: [...history], maxTokens: turn.maxTokens },
      turn: index + 1,
      promptTokens: turn.promptTokens,
      intendedStart: intended,
    });
    if (answer === undefined) return;
    history.push({ role: "assistant", content: answer });
  }
}
