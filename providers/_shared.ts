/**
 * Pieces every dialect needs: the settings a provider is built from, reading a wire payload as a
 * JSON object, and remembering prompts a server may echo back. Private to `providers/`.
 *
 * @module
 */
import { ServerErrorEvent } from "./server_error.ts";
import type { Usage } from "./types.ts";

/** A parsed payload: a JSON object whose fields are read defensively. */
export type Payload = Record<string, unknown>;

/**
 * Parses a payload that must be a JSON object. Throws `SyntaxError` on malformed JSON and an
 * `Error` naming what arrived otherwise, so the request ends as a `bad_response`.
 */
export function parseObject(text: string): Payload {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`Expected a JSON object, got ${text.slice(0, 80)}`);
  }
  return value as Payload;
}

/** Longest part of a server's error report quoted in a failure message. */
const ERROR_QUOTE_LIMIT = 200;

/**
 * Throws a {@link ServerErrorEvent} quoting the report when a payload is one (`{"error": "..."}`
 * or `{"error": {"message", ...}}`), so the failure reads as the server's error, not as an
 * unreadable event. The quote is cut at 200 characters; secrets are masked by the request path.
 */
export function throwIfError(payload: Payload): void {
  const error = payload.error;
  if (error === undefined || error === null || error === false) return;
  throw serverErrorEvent(error);
}

/** The error that quotes a server's error report (JSON, at most 200 characters). */
export function serverErrorEvent(error: unknown): ServerErrorEvent {
  const quoted = JSON.stringify(error) ?? String(error);
  return new ServerErrorEvent(
    `Server sent an error event: ${quoted.slice(0, ERROR_QUOTE_LIMIT)}`,
  );
}

/** The value if it is a finite number, else `undefined`. */
export function numberOr(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The value if it is a string, else `""`. */
export function textOr(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/**
 * Usage from two optional counts, plus the prompt tokens served from the server's cache when it
 * says; `undefined` when the server sent no count at all.
 */
export function usageOf(
  promptTokens: unknown,
  completionTokens: unknown,
  cachedPromptTokens?: unknown,
): Usage | undefined {
  const prompt = numberOr(promptTokens);
  const completion = numberOr(completionTokens);
  const cached = numberOr(cachedPromptTokens);
  if (prompt === undefined && completion === undefined && cached === undefined) return undefined;
  const usage: Usage = { promptTokens: prompt, completionTokens: completion };
  return cached === undefined ? usage : { ...usage, cachedPromptTokens: cached };
}

/** How many prompts an echo tracker keeps while their replies are outstanding. */
const ECHO_MEMORY = 4096;

/** Strips a prompt that the server repeated at the start of its reply. */
export interface EchoTracker {
  /** Notes a prompt just sent. */
  sent(prompt: string): void;
  /** The reply without a leading copy of a prompt sent earlier (and Llama's `<s> ` marker). */
  strip(text: string): string;
}

/**
 * Remembers the prompts in flight so a reply that begins with its prompt (Triton with
 * TensorRT-LLM returns `text_output` = prompt + completion unless the model is configured to
 * exclude the input) can be cut back to the generated text. A provider sees the prompt in
 * `request()` but not in `parseBody()`, and requests overlap, so every prompt still awaiting its
 * reply is kept (one entry when the prompt never changes), bounded so failed requests cannot
 * grow it without limit.
 */
export function createEchoTracker(): EchoTracker {
  const pending = new Map<string, number>();

  function sent(prompt: string): void {
    pending.set(prompt, (pending.get(prompt) ?? 0) + 1);
    if (pending.size > ECHO_MEMORY) pending.delete(pending.keys().next().value as string);
  }

  function strip(text: string): string {
    const body = text.startsWith("<s> ") ? text.slice(4) : text;
    for (const [prompt, count] of pending) {
      if (prompt === "" || !body.startsWith(prompt)) continue;
      if (count <= 1) pending.delete(prompt);
      else pending.set(prompt, count - 1);
      return body.slice(prompt.length);
    }
    return text;
  }

  return { sent, strip };
}

/**
 * Where a server reports how many tokens one request may hold: a route, the keys leading to the
 * number, and what the number bounds. Each dialect lists its own, most exact first.
 */
export interface ContextSource {
  /** Route to `GET`, e.g. `/props`. */
  readonly path: string;
  /**
   * Keys leading to the number, e.g. `["default_generation_settings", "n_ctx"]`. On
   * `/v1/models` they are read in the entry of the run's model.
   */
  readonly field: readonly string[];
  /** What it bounds: prompt and `max_tokens` together, or the prompt alone. */
  readonly bounds: "total" | "prompt";
  /**
   * `limit`: the server refuses a request over it. `cuts`: the server refuses only a prompt that
   * fills it and cuts a longer reply at it (llama.cpp, `truncated: true`). `trained`: the length
   * the model was trained on, which a server may be set to exceed, so going over it is a warning.
   */
  readonly kind: "limit" | "cuts" | "trained";
}
