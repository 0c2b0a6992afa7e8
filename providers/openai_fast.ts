/**
 * The OpenAI dialect's fast path ({@link Provider.fastEvent}): the token chunk every
 * OpenAI-compatible server streams, `{"id":…,"choices":[{"index":0,"text":" the",
 * "logprobs":null,"finish_reason":null}]}` or its chat form with one of `delta.content`,
 * `delta.reasoning_content` or `delta.reasoning`, is matched (see `_fast_json.ts`) rather than
 * parsed. Chunks with usage, an error, logprobs, several choices or `truncated` go to the full
 * parse.
 *
 * @module
 */
import type { Chunk, Provider } from "./types.ts";
import { fastPath, ignored, ignoredObject, object, PLAIN } from "./_fast_json.ts";

const delta = object(
  `(?:"content":${PLAIN}|"reasoning_content":${PLAIN}|"reasoning":${PLAIN})`,
  [ignored(["content", "reasoning_content", "reasoning"])],
);
const choiceFields = ["text", "delta", "message", "logprobs"];
// Together sends `text` and a `delta` beside it: `text` wins, and a delta without reasoning
// adds none.
const textChoice = object(`"text":${PLAIN}`, [
  ignored(choiceFields),
  '"logprobs":null',
  `"delta":${ignoredObject(["reasoning_content", "reasoning"])}`,
]);
const deltaChoice = object(`"delta":${delta}`, [ignored(choiceFields), '"logprobs":null']);
const choice = `(?:${textChoice}|${deltaChoice})`;
const payload = object(`"choices":\\[${choice}\\]`, [
  ignored(["choices", "usage", "error", "truncated"]),
  '"usage":null',
]);

/**
 * The fast path of an OpenAI-style provider: the chunk `parseOpenAIPayload` reads from a
 * one-choice token event, or `undefined`.
 *
 * @example
 * ```ts
 * openAIFastEvent('{"choices":[{"index":0,"text":"hi","finish_reason":null}]}');
 * // { text: "hi", reasoning: "", logprobTokens: undefined, usage: undefined }
 * ```
 */
export const openAIFastEvent: NonNullable<Provider["fastEvent"]> = fastPath(
  payload,
  (match): Chunk => ({
    // `choice.text ?? delta.content`, reasoning `reasoning_content ?? reasoning`: one is set.
    text: match[1] ?? match[2] ?? "",
    reasoning: match[3] ?? match[4] ?? "",
    logprobTokens: undefined,
    usage: undefined,
  }),
);
