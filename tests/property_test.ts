/**
 * Property-based tests: random bytes and random valid-but-odd SSE framing (split anywhere, CRLF,
 * comments, multi-line data) go through the real response path of `runRequest` and every
 * provider parser. Never a crash: always a correct parse or a classified failure.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { runRequest } from "../request/run_request.ts";
import type { RequestContext } from "../request/run_request.ts";
import type { ResponseSink, Transport } from "../transport/types.ts";
import { createProvider, PROVIDER_NAMES } from "../providers/mod.ts";
import { FAILURE_KINDS } from "../stats/metrics.ts";

const utf8 = new TextEncoder();

/** Plays a scripted response through the transport interface, in the given pieces. */
function scriptedTransport(status: number, contentType: string, pieces: string[]): Transport {
  return {
    send(_request, sink: ResponseSink) {
      sink.head({ status, contentType });
      let now = performance.now();
      for (const piece of pieces) sink.body(utf8.encode(piece), now += 0.01);
      return Promise.resolve();
    },
    close() {},
  };
}

function context(provider: string, transport: Transport, stream = true): RequestContext {
  return {
    provider: createProvider(provider, { model: "m", chat: false, stream, temperature: 1 }),
    transport,
    host: "http://127.0.0.1:1",
    headers: {},
    timeoutMs: 10_000,
    countTokens: (text) => Promise.resolve(text.length),
  };
}

/** Cuts `text` at the given fractions. */
function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((cut) => Math.floor(cut * text.length)))].sort((a, b) =>
    a - b
  );
  const pieces: string[] = [];
  let from = 0;
  for (const point of points) {
    pieces.push(text.slice(from, point));
    from = point;
  }
  pieces.push(text.slice(from));
  return pieces.filter((piece) => piece.length > 0);
}

const tokenText = fc.string({ minLength: 1, maxLength: 8, unit: "grapheme" });
const lineEnd = fc.constantFrom("\n", "\r\n", "\r");
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

Deno.test("odd but valid SSE framing of OpenAI events always parses to the same tokens", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(tokenText, { minLength: 1, maxLength: 20 }),
      lineEnd,
      fc.boolean(),
      cuts,
      async (tokens, eol, comments, cutPoints) => {
        const events = tokens.map((text) => JSON.stringify({ choices: [{ text }] }));
        const usage = JSON.stringify({ choices: [], usage: { completion_tokens: tokens.length } });
        const wire = [...events, usage, "[DONE]"].map((data) => {
          // Multi-line data: a JSON payload split over two data: lines after its first key,
          // where the joining newline is whitespace between JSON tokens.
          const cut = data.indexOf(":") + 1;
          const lines = data.startsWith("{")
            ? `data: ${data.slice(0, cut)}${eol}data:${data.slice(cut)}`
            : `data: ${data}`;
          return `${comments ? `: ping${eol}` : ""}${lines}${eol}${eol}`;
        }).join("");
        const outcome = await runRequest(
          context("openai", scriptedTransport(200, "text/event-stream", split(wire, cutPoints))),
          { prompt: "p", maxTokens: tokens.length },
        );
        assert.ok(outcome.ok, JSON.stringify(outcome));
        assert.equal(outcome.record.outputTokens, tokens.length);
        assert.equal(outcome.record.chars, tokens.join("").length);
        assert.equal(outcome.record.itl.length, tokens.length - 1);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("random bytes never crash a request: a parse or a classified failure", async () => {
  const kinds = new Set<string>(FAILURE_KINDS);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...PROVIDER_NAMES),
      fc.boolean(),
      fc.constantFrom(200, 200, 200, 400, 429, 500, 503),
      fc.constantFrom("text/event-stream", "application/json", "text/plain", ""),
      fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => new TextDecoder().decode(bytes) // invalid UTF-8 arrives as replacement characters
        ),
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 10 }).map((parts) =>
          parts.map((part) => `data: ${part}\n\n`).join("")
        ),
      ),
      cuts,
      async (provider, stream, status, contentType, body, cutPoints) => {
        let ctx: RequestContext;
        try {
          ctx = context(
            provider,
            scriptedTransport(status, contentType, split(body, cutPoints)),
            stream,
          );
        } catch {
          return; // a dialect that refuses this mode at construction (e.g. no streaming)
        }
        const outcome = await runRequest(ctx, { prompt: "p", maxTokens: 4 });
        if (outcome.ok) {
          assert.ok(outcome.record.outputTokens >= 0);
          assert.ok(outcome.record.totalLatency >= 0);
        } else {
          assert.ok(kinds.has(outcome.failure.kind), outcome.failure.kind);
          assert.equal(typeof outcome.failure.message, "string");
        }
      },
    ),
    { numRuns: 500 },
  );
});
