import assert from "node:assert/strict";
import fc from "fast-check";
import { createParser } from "eventsource-parser";
import {
  createEventDecoder,
  type EventDecoderOptions,
  EventTooLargeError,
  isEndMarker,
  MAX_EVENT_BYTES,
} from "../request/stream_decoder.ts";

const utf8 = new TextEncoder();
const END = "<end marker>";

/** Decodes byte pieces; the end marker, when the options name one, shows as {@link END}. */
function decodeBytes(
  framing: "sse" | "ndjson",
  pieces: Uint8Array[],
  options: EventDecoderOptions = {},
): string[] {
  const events: string[] = [];
  const decoder = createEventDecoder(framing, (data) => events.push(data), {
    ...options,
    onEndMarker: () => events.push(END),
  });
  pieces.forEach((piece) => decoder.feed(piece));
  decoder.end();
  return events;
}

function decode(framing: "sse" | "ndjson", pieces: string[], options?: EventDecoderOptions) {
  return decodeBytes(framing, pieces.map((piece) => utf8.encode(piece)), options);
}

/** The bytes of `wire` cut at each of `cuts` (sorted byte offsets). */
function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(bytes.slice(from, cut));
    from = cut;
  }
  pieces.push(bytes.slice(from));
  return pieces;
}

/** Every byte its own read. */
function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return [...bytes].map((byte) => Uint8Array.of(byte));
}

Deno.test("sse events split anywhere, CRLF, comments and multi-line data decode the same", () => {
  const wire = ': keep-alive\r\ndata: {"a":1}\r\n\r\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n';
  const whole = decode("sse", [wire]);
  assert.deepEqual(whole, ['{"a":1}', "line1\nline2", "[DONE]"]);
  const bytes = utf8.encode(wire);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(decodeBytes("sse", cutAt(bytes, [cut])), whole, `cut at ${cut}`);
  }
  assert.deepEqual(decodeBytes("sse", byteByByte(bytes)), whole, "one byte per read");
});

Deno.test("sse: multi-byte UTF-8 cut at every byte, and one byte per read, decodes whole", () => {
  const texts = ["é 😀 ü€", "— 中文 🚀", "ascii"];
  const wire = texts.map((text) => `data: {"text":"${text}"}\r\n\r\n`).join("");
  const expected = texts.map((text) => `{"text":"${text}"}`);
  const bytes = utf8.encode(wire);
  for (let cut = 1; cut < bytes.length; cut++) {
    for (const second of [cut + 1, cut + 3, bytes.length - 1]) {
      const cuts = second > cut && second < bytes.length ? [cut, second] : [cut];
      assert.deepEqual(decodeBytes("sse", cutAt(bytes, cuts)), expected, `cuts ${cuts}`);
    }
  }
  const pieces = decodeBytes("sse", byteByByte(bytes));
  assert.deepEqual(pieces, expected);
  for (const piece of pieces) assert.ok(!piece.includes("\uFFFD"), piece);
});

Deno.test("sse line endings: CR alone, CRLF cut between CR and LF, a BOM at the start", () => {
  assert.deepEqual(decode("sse", ["data: a\r\rdata: b\r", "\n\r\n"]), ["a", "b"]);
  assert.deepEqual(decode("sse", ["data: a\r", "\r", "\ndata: b\n\n"]), ["a", "b"]);
  assert.deepEqual(decode("sse", ["\uFEFFdata: x\n\n"]), ["x"], "the stream's BOM is dropped");
  const bom = utf8.encode("\uFEFFdata: y\n\n");
  assert.deepEqual(decodeBytes("sse", byteByByte(bom)), ["y"], "a BOM cut across reads too");
  assert.deepEqual(decode("sse", ["data: \uFEFFz\n\n"]), ["\uFEFFz"], "a payload's BOM is kept");
});

Deno.test("sse fields: data without a space or a colon, other fields ignored, no data no event", () => {
  assert.deepEqual(
    decode("sse", ["data:a\ndata\ndata:  b\n\n", "event: x\nid: 1\nretry: 5\n\n", ": c\n\n"]),
    ["a\n\n b"],
  );
  assert.deepEqual(decode("sse", ["data:\n\n"]), [""], "an empty data field is an event");
  // An empty field read from the carried-over line, whose buffer holds a space past its end.
  assert.deepEqual(decode("sse", ["data: a", "\ndata:", "\n\n"]), ["a\n"]);
  assert.deepEqual(decode("sse", ["datum: a\n\ndata: b"]), [], "unterminated: discarded");
});

/** Arbitrary SSE wire made of the lines servers send, odd ones included. */
const sseWire = fc.array(
  fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 12 }).map((text) =>
      `data: ${text.replace(/[\r\n]/g, "")}`
    ),
    fc.constantFrom("data:x", "data", "data:", ": comment", "event: e", "id: 3", "retry: 1", ""),
    fc.constantFrom("data: [DONE]", "data:  [DONE] ", 'data: {"a":"é😀"}', "\uFEFF"),
  ),
  { maxLength: 12 },
).chain((lines) =>
  fc.tuple(
    fc.constant(lines),
    fc.array(fc.constantFrom("\n", "\r\n", "\r"), {
      minLength: lines.length,
      maxLength: lines.length,
    }),
  )
).map(([lines, ends]) => lines.map((line, i) => line + ends[i]).join(""));

Deno.test("sse on bytes reads what eventsource-parser reads from the decoded text, cut anywhere", () => {
  fc.assert(
    fc.property(sseWire, fc.array(fc.nat(), { maxLength: 6 }), (wire, rawCuts) => {
      const expected: string[] = [];
      const parser = createParser({ onEvent: (event) => expected.push(event.data) });
      parser.feed(wire);
      parser.reset({ consume: true });
      const bytes = utf8.encode(wire);
      const cuts = [...new Set(rawCuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) =>
        a - b
      );
      assert.deepEqual(decodeBytes("sse", cutAt(bytes, cuts)), expected);
    }),
    { numRuns: 400 },
  );
});

Deno.test("ndjson lines split across pieces, blank lines skipped, last line flushed at end", () => {
  assert.deepEqual(decode("ndjson", ['{"a":', '1}\n\n{"b"', ":2}"]), ['{"a":1}', '{"b":2}']);
});

Deno.test("ndjson: CRLF and Unicode whitespace trimmed, multi-byte UTF-8 cut at every byte", () => {
  assert.deepEqual(decode("ndjson", ['{"a":1}\r\n', " \u00a0\n", '\u2003{"b":2}\u00a0\n']), [
    '{"a":1}',
    '{"b":2}',
  ]);
  const wire = '{"response":"é 😀"}\n{"response":"中文 🚀"}\n';
  const bytes = utf8.encode(wire);
  const expected = ['{"response":"é 😀"}', '{"response":"中文 🚀"}'];
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(decodeBytes("ndjson", cutAt(bytes, [cut])), expected, `cut at ${cut}`);
  }
  assert.deepEqual(decodeBytes("ndjson", byteByByte(bytes)), expected);
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

Deno.test("the decoder spots the end marker on bytes, by the same rule, cut anywhere", () => {
  const marker = { endMarker: "[DONE]" };
  const payloads = [
    "[DONE]",
    " [DONE] \t",
    "[DONE]x",
    '{"text":"[DONE]"}',
    `${" ".repeat(40)}[DONE]`,
    "\u00a0[DONE]\u2003",
    "[DONE]\u00a0x",
    "",
  ];
  for (const payload of payloads) {
    const expected = isEndMarker(payload, "[DONE]") ? [END] : [payload];
    const bytes = utf8.encode(`data: ${payload}\n\n`);
    assert.deepEqual(decodeBytes("sse", [bytes], marker), expected, JSON.stringify(payload));
    assert.deepEqual(decodeBytes("sse", byteByByte(bytes), marker), expected, "byte by byte");
  }
  assert.deepEqual(decode("sse", ["data: [DONE]\n\n"]), ["[DONE]"], "no marker: an event");
});

Deno.test("an event over the limit is refused, in one read or many; comments do not add up", () => {
  const limit = { maxEventBytes: 64 };
  const big = `data: ${"a".repeat(65)}\n\n`;
  assert.throws(() => decode("sse", [big], limit), EventTooLargeError);
  assert.throws(() => decode("sse", [...big], limit), /larger than 64 bytes/);
  assert.throws(() =>
    decode("sse", [`data: ${"a".repeat(40)}\n`, `data: ${"b".repeat(40)}\n`], limit)
  );
  assert.throws(() => decode("sse", [`: ${"c".repeat(70)}`], limit), "an endless line");
  assert.deepEqual(decode("sse", [`data: ${"a".repeat(64)}\n\n`], limit), ["a".repeat(64)]);
  const keepAlives = Array.from({ length: 40 }, () => ": keep-alive\n\n");
  assert.deepEqual(decode("sse", [...keepAlives, "data: x\n\n"], limit), ["x"]);
  assert.throws(() => decode("ndjson", [`{"a":"${"a".repeat(70)}"}\n`], limit), EventTooLargeError);
  assert.throws(() => decode("ndjson", [`{"a":"${"a".repeat(70)}`], limit), EventTooLargeError);
  assert.throws(
    () => decode("sse", [`data: ${"a".repeat(MAX_EVENT_BYTES)}`]),
    /^EventTooLargeError: Stream event larger than 256 KiB: refused rather than buffered$/,
  );
});
