/**
 * OpenAI's Responses API (`POST /v1/responses`), for `--api responses`: the input as messages
 * (images as `input_image` parts), `max_output_tokens`, and a stream of typed events
 * (`response.created`, `response.output_text.delta`, `response.reasoning_text.delta`, ...,
 * `response.completed` with the usage). The stream has no `[DONE]`: `response.completed` (or
 * `response.incomplete`) ends it, and a stream without either was cut short.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample, Usage } from "./types.ts";
import {
  numberOr,
  parseObject,
  type Payload,
  serverErrorEvent,
  textOr,
  usageOf,
} from "./_shared.ts";
import { type ContentPart, messagesWithImages } from "./_content.ts";

/** Events whose `delta` is visible text. */
const TEXT_DELTAS: ReadonlySet<string> = new Set(["response.output_text.delta"]);

/** Events whose `delta` is reasoning (the full text, or OpenAI's summary of it). */
const REASONING_DELTAS: ReadonlySet<string> = new Set([
  "response.reasoning_text.delta",
  "response.reasoning_summary_text.delta",
]);

/** Events that end a complete stream, carrying the whole response with its usage. */
const END_EVENTS: ReadonlySet<string> = new Set(["response.completed", "response.incomplete"]);

const NOTHING: Chunk = { text: "", reasoning: "" };

/**
 * Builds a Responses API provider for `dialect` (any OpenAI-compatible server that has the
 * route). `reasoning.effort` is sent when asked for; a sample's images go into its last user
 * message.
 *
 * @example
 * ```ts
 * const provider = createResponsesProvider(
 *   { model: "m", chat: true, stream: true, temperature: 1, responses: true },
 *   "openai",
 * );
 * provider.request({ prompt: "Hi", maxTokens: 16 }).path; // "/v1/responses"
 * ```
 */
export function createResponsesProvider(options: ProviderOptions, dialect: string): Provider {
  const effort = options.reasoningEffort === undefined
    ? {}
    : { reasoning: { effort: options.reasoningEffort } };

  function request(sample: Sample) {
    const body = {
      model: options.model,
      input: messagesWithImages(sample, options.imagesPosition, inputPart),
      max_output_tokens: sample.maxTokens,
      temperature: options.temperature,
      stream: options.stream,
      ...effort,
    };
    return { path: "/v1/responses", body: JSON.stringify(body), stream: options.stream };
  }

  function parseEvent(data: string): Chunk {
    const event = parseObject(data);
    const type = textOr(event.type);
    if (type === "error" || type === "response.failed") {
      throw serverErrorEvent(
        event.error ?? (event.response as Payload | undefined)?.error ?? event,
      );
    }
    if (TEXT_DELTAS.has(type)) return { text: textOr(event.delta), reasoning: "" };
    if (REASONING_DELTAS.has(type)) return { text: "", reasoning: textOr(event.delta) };
    if (END_EVENTS.has(type)) {
      return { ...NOTHING, usage: usageOfResponse(event.response), end: true };
    }
    return NOTHING;
  }

  function parseBody(body: string): Chunk {
    const response = parseObject(body);
    if (response.error) throw serverErrorEvent(response.error);
    let text = "";
    let reasoning = "";
    for (const item of arrayOf(response.output)) {
      const parts = [...arrayOf(item.content), ...arrayOf(item.summary)];
      for (const part of parts) {
        if (part.type === "output_text") text += textOr(part.text);
        else if (part.type === "reasoning_text" || part.type === "summary_text") {
          reasoning += textOr(part.text);
        }
      }
    }
    return { text, reasoning, usage: usageOfResponse(response) };
  }

  return { name: dialect, framing: "sse", endsWithEvent: true, request, parseEvent, parseBody };
}

/** A message part as the Responses API takes it: `input_text`, or `input_image`. */
function inputPart(part: ContentPart): unknown {
  return "text" in part
    ? { type: "input_text", text: part.text }
    : { type: "input_image", image_url: part.image };
}

/** Usage of a response object: input/output tokens, cached input, reasoning output. */
function usageOfResponse(response: unknown): Usage | undefined {
  if (typeof response !== "object" || response === null) return undefined;
  const usage = (response as Payload).usage as Payload | undefined | null;
  if (typeof usage !== "object" || usage === null) return undefined;
  const cached = (usage.input_tokens_details as Payload | undefined)?.cached_tokens;
  const counted = usageOf(usage.input_tokens, usage.output_tokens, cached);
  const reasoning = numberOr(
    (usage.output_tokens_details as Payload | undefined)?.reasoning_tokens,
  );
  return counted && reasoning !== undefined ? { ...counted, reasoningTokens: reasoning } : counted;
}

/** The objects of an array field; anything else is no items. */
function arrayOf(value: unknown): Payload[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is Payload => typeof item === "object" && item !== null);
}
