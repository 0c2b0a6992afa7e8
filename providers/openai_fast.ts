/**
 * The OpenAI dialect's fast path ({@link Provider.fastEvent}): a token chunk such as
 * `{"id":…,"choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":null}]}` or its
 * chat form (`"delta":{"content":…}`, reasoning in `reasoning_content` or `reasoning`) is read
 * in place, logprob entries (`logprobs.content` or `logprobs.tokens`) counted. Chunks with
 * usage, an error or `truncated` go to the full parse.
 *
 * @module
 */
import type { Chunk, Provider } from "./types.ts";
import { eachMember, JsonScan } from "./_json_scan.ts";

/** The fields of one `delta` or `message`: absent (`undefined`), `null`, or a string. */
interface Message {
  present: boolean;
  content: string | null | undefined;
  reasoningContent: string | null | undefined;
  reasoning: string | null | undefined;
}

function emptyMessage(): Message {
  return { present: false, content: undefined, reasoningContent: undefined, reasoning: undefined };
}

/**
 * Builds the fast path of an OpenAI-style provider. It keeps one scanner and reuses it: a
 * provider reads one event at a time.
 *
 * @example
 * ```ts
 * const fast = createOpenAIFastEvent();
 * fast('{"choices":[{"index":0,"text":"hi","finish_reason":null}]}');
 * // { text: "hi", reasoning: "", logprobTokens: undefined, usage: undefined }
 * ```
 */
export function createOpenAIFastEvent(): NonNullable<Provider["fastEvent"]> {
  const scan = new JsonScan();
  const delta = emptyMessage();
  const message = emptyMessage();
  let text = "";
  let reasoning = "";
  let logprobTokens: number | undefined;
  let sawChoices = false;
  // One choice's logprob arrays: absent, `null`, or their length.
  let logprobContent: number | null | undefined;
  let logprobList: number | null | undefined;
  // One choice's fields, reset per choice.
  let choiceText: string | null | undefined;
  let seen = 0;
  const TEXT = 1, DELTA = 2, MESSAGE = 4, LOGPROBS = 8;

  function once(bit: number): boolean {
    if (seen & bit) return false;
    seen |= bit;
    return true;
  }

  function readMessage(into: Message): boolean {
    into.present = false;
    into.content = into.reasoningContent = into.reasoning = undefined;
    if (scan.null()) return true;
    into.present = true;
    let fields = 0;
    return eachMember(scan, () => {
      if (scan.isKey("content")) {
        if (fields & 1) return false;
        fields |= 1;
        return (into.content = scan.stringOrNull()) !== undefined;
      }
      if (scan.isKey("reasoning_content")) {
        if (fields & 2) return false;
        fields |= 2;
        return (into.reasoningContent = scan.stringOrNull()) !== undefined;
      }
      if (scan.isKey("reasoning")) {
        if (fields & 4) return false;
        fields |= 4;
        return (into.reasoning = scan.stringOrNull()) !== undefined;
      }
      return scan.skip();
    });
  }

  /** An array's length, `null`, or `undefined` (give up) for anything else. */
  function lengthOrNull(): number | null | undefined {
    if (scan.null()) return null;
    const length = scan.arrayLength();
    return length === -1 ? undefined : length;
  }

  function readLogprobs(): boolean {
    if (scan.null()) return true;
    let fields = 0;
    return eachMember(scan, () => {
      if (scan.isKey("content")) {
        if (fields & 1) return false;
        fields |= 1;
        return (logprobContent = lengthOrNull()) !== undefined;
      }
      if (scan.isKey("tokens")) {
        if (fields & 2) return false;
        fields |= 2;
        return (logprobList = lengthOrNull()) !== undefined;
      }
      return scan.skip();
    });
  }

  function choiceMember(): boolean {
    if (scan.isKey("text")) return once(TEXT) && (choiceText = scan.stringOrNull()) !== undefined;
    if (scan.isKey("delta")) return once(DELTA) && readMessage(delta);
    if (scan.isKey("message")) return once(MESSAGE) && readMessage(message);
    if (scan.isKey("logprobs")) return once(LOGPROBS) && readLogprobs();
    return scan.skip();
  }

  function readChoice(): boolean {
    choiceText = logprobContent = logprobList = undefined;
    seen = 0;
    delta.present = message.present = false;
    delta.content = delta.reasoningContent = delta.reasoning = undefined;
    message.content = message.reasoningContent = message.reasoning = undefined;
    if (!eachMember(scan, choiceMember)) return false;
    // As the full parse: `choice.text ?? part?.content`, `part = choice.delta ?? choice.message`.
    const part = delta.present ? delta : message.present ? message : undefined;
    text += choiceText ?? part?.content ?? "";
    reasoning += part?.reasoningContent ?? part?.reasoning ?? "";
    // As the full parse: `logprobs.content ?? logprobs.tokens`, counted when an array.
    const entries = logprobContent ?? logprobList;
    if (typeof entries === "number") logprobTokens = (logprobTokens ?? 0) + entries;
    return true;
  }

  function readChoices(): boolean {
    if (scan.null()) return true;
    if (!scan.take(0x5b)) return false;
    if (scan.take(0x5d)) return true;
    for (;;) {
      if (!readChoice()) return false;
      const more = scan.next(0x5d);
      if (more === undefined) return false;
      if (!more) return true;
    }
  }

  function payloadMember(): boolean {
    if (scan.isKey("choices")) {
      if (sawChoices) return false;
      sawChoices = true;
      return readChoices();
    }
    if (scan.isKey("usage")) return scan.null();
    if (scan.isKey("error") || scan.isKey("truncated")) return false;
    return scan.skip();
  }

  return function fastEvent(data: string): Chunk | undefined {
    scan.reset(data);
    text = "";
    reasoning = "";
    logprobTokens = undefined;
    sawChoices = false;
    if (!eachMember(scan, payloadMember) || !scan.done()) return undefined;
    return { text, reasoning, logprobTokens, usage: undefined };
  };
}
