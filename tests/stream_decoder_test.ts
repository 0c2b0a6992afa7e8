import assert from "node:assert/strict";
import { createEventDecoder, isEndMarker } from "../request/stream_decoder.ts";

function decode(framing: "sse" | "ndjson", pieces: string[]): string[] {
  const events: string[] = [];
  const decoder = createEventDecoder(framing, (data) => events.push(data));
  pieces.forEach((piece) => decoder.feed(piece));
  decoder.end();
  return events;
}

Deno.test("sse events split anywhere, CRLF, comments and multi-line data decode the same", () => {
  const wire = ': keep-alive\r\ndata: {"a":1}\r\n\r\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n';
  const whole = decode("sse", [wire]);
  assert.deepEqual(whole, ['{"a":1}', "line1\nline2", "[DONE]"]);
  for (let cut = 1; cut < wire.length; cut++) {
    assert.deepEqual(decode("sse", [wire.slice(0, cut), wire.slice(cut)]), whole, `cut at ${cut}`);
  }
});

Deno.test("ndjson lines split across pieces, blank lines skipped, last line flushed at end", () => {
  assert.deepEqual(decode("ndjson", ['{"a":', '1}\n\n{"b"', ":2}"]), ['{"a":1}', '{"b":2}']);
});

Deno.test("the end marker: exact or with stray whitespace; nothing is a marker without one", () => {
  assert.equal(isEndMarker("[DONE]", "[DONE]"), true);
  assert.equal(isEndMarker(" [DONE] \t", "[DONE]"), true);
  assert.equal(isEndMarker("[DONE]x", "[DONE]"), false);
  assert.equal(isEndMarker('{"text":"[DONE]"}', "[DONE]"), false);
  assert.equal(isEndMarker(`${" ".repeat(40)}[DONE]`, "[DONE]"), false, "only short events trim");
  assert.equal(isEndMarker("[DONE]", undefined), false);
  assert.equal(isEndMarker("", undefined), false);
});
