/**
 * A fast path for the plainest OpenAI stream event: one choice whose `text` (completions) or
 * `delta.content` (chat) is a string without escapes, and nothing else worth reading (usage and
 * logprobs absent or null, no reasoning, tool calls, refusal or error). That is nearly every
 * token event a server sends, and reading its one string costs a fraction of `JSON.parse`,
 * which is most of the client's work per token. Anything else returns `undefined`, and the
 * caller parses the event in full, so the answer is always the same as a full parse.
 *
 * @module
 */

/** Keys whose presence means the event needs a full parse. */
const RICH_KEYS = [
  '"reasoning',
  '"tool_calls"',
  '"function_call"',
  '"refusal"',
  '"error"',
  '"audio"',
];

/** Keys that may appear only with a `null` value on the fast path. */
const NULLABLE_KEYS = ['"usage":', '"logprobs":'];

/**
 * Reads the generated text of a plain OpenAI stream event without `JSON.parse`, or returns
 * `undefined` when the event is not plain enough to read this way.
 *
 * @example
 * ```ts
 * scanPlainText('{"choices":[{"index":0,"text":" the","finish_reason":null}]}'); // " the"
 * scanPlainText('{"choices":[{"delta":{"content":"a\\nb"}}]}'); // undefined (escape)
 * ```
 */
export function scanPlainText(data: string): string | undefined {
  if (data.charCodeAt(0) !== 0x7b || data.charCodeAt(data.length - 1) !== 0x7d) return undefined;
  for (const key of RICH_KEYS) if (data.includes(key)) return undefined;
  for (const key of NULLABLE_KEYS) {
    const at = data.indexOf(key);
    if (at !== -1 && !data.startsWith("null", at + key.length)) return undefined;
  }
  const first = data.indexOf('"index":');
  if (first !== -1 && data.indexOf('"index":', first + 1) !== -1) return undefined;
  const text = stringValue(data, '"text":');
  const content = stringValue(data, '"content":');
  if (text === null || content === null || (text !== undefined && content !== undefined)) {
    return undefined;
  }
  return text ?? content;
}

/**
 * The value of `key` in `data`: `undefined` when the key is absent, `null` when it cannot be
 * read without a full parse (repeated, not a plain string, escapes or control characters).
 */
function stringValue(data: string, key: string): string | null | undefined {
  const at = data.indexOf(key);
  if (at === -1) return undefined;
  const start = at + key.length + 1;
  if (data.charCodeAt(start - 1) !== 0x22 || data.indexOf(key, start) !== -1) return null;
  const end = data.indexOf('"', start);
  if (end === -1) return null;
  for (let i = start; i < end; i++) {
    const code = data.charCodeAt(i);
    if (code < 0x20 || code === 0x5c) return null;
  }
  return data.slice(start, end);
}
