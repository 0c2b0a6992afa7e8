/**
 * The providers' fast paths (`Provider.fastEvent`) against their full parse: over every event the
 * project's mock sends in each dialect (and the recorded wire samples), and over generated
 * payloads with escapes, Unicode, usage, reasoning, logprobs, errors, odd types, repeated keys,
 * whitespace and broken JSON, the fast path either declines (`undefined`) or returns exactly the
 * chunk `parseEvent` returns; where `parseEvent` throws, it always declines. It must also answer
 * for the common token events, or it would be no fast path at all.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createProvider, dialectOf, PROVIDER_NAMES } from "../providers/mod.ts";
import type { Chunk, Provider, ProviderOptions } from "../providers/types.ts";
import { createEventDecoder } from "../request/stream_decoder.ts";
import { type OpenAIFlavour, wholeStream as openAIStream } from "../mock/openai.ts";
import { parseTgiRequest } from "../mock/tgi.ts";
import { parseLlamacppRequest } from "../mock/llamacpp.ts";
import { parseOllamaRequest } from "../mock/ollama.ts";
import { type MockReply, type ParsedRequest, wholeStream } from "../mock/wire.ts";
import { testdata } from "./_dialect_harness.ts";

/** The full parse's answer: a chunk, `null`, or that it threw. */
function fullParse(provider: Provider, data: string): Chunk | null | "throws" {
  try {
    return provider.parseEvent(data);
  } catch {
    return "throws";
  }
}

/** Asserts the fast path's answer on `data` is `undefined` or the full parse's; says which. */
function checkEvent(provider: Provider, data: string): boolean {
  const fast = provider.fastEvent!(data);
  if (fast === undefined) return false;
  assert.deepStrictEqual(fast, fullParse(provider, data), `${provider.name}: ${data}`);
  return true;
}

/** The payloads of a streamed body, the end marker left out, as the request path splits them. */
function payloadsOf(provider: Provider, wire: string): string[] {
  const payloads: string[] = [];
  const decoder = createEventDecoder(provider.framing, (data) => payloads.push(data), {
    endMarker: provider.endMarker,
  });
  decoder.feed(new TextEncoder().encode(wire));
  decoder.end();
  return payloads;
}

const base = { model: "m", temperature: 1, stream: true };
const sample = { prompt: "what colour is the sky", maxTokens: 10 };
const commons = [
  { id: "r-1", created: 1, tokens: 10, finishReason: "length" as const },
  { id: "r-2", created: 1, tokens: 1, finishReason: "stop" as const, empty: true },
  {
    id: "r-3",
    created: 1,
    tokens: 3,
    finishReason: "length" as const,
    truncated: true,
    cachedPromptTokens: 2,
  },
];

/** Every (provider, mock stream) pair: the OpenAI flavours and each native dialect. */
function mockStreams(): Array<{ provider: Provider; wire: string }> {
  const streams: Array<{ provider: Provider; wire: string }> = [];
  const flavours: OpenAIFlavour[] = ["vllm", "sglang", "fireworks", "together", "llamacpp"];
  for (const flavour of flavours) {
    for (const chat of [false, true]) {
      for (const logprobs of [false, true]) {
        for (const choices of [1, 2]) {
          const provider = createProvider("openai", {
            ...base,
            chat,
            ...(choices > 1 ? { n: choices } : {}),
          });
          for (const common of commons) {
            const wire = openAIStream({
              ...common,
              chat,
              model: "m",
              promptTokens: 5,
              logprobs,
              includeUsage: true,
              choices,
              flavour,
            });
            streams.push({ provider, wire });
          }
        }
      }
    }
  }
  const natives: Array<{
    name: string;
    settings: Partial<ProviderOptions>;
    parse: (body: unknown) => ParsedRequest | string;
  }> = [
    { name: "tgi", settings: {}, parse: (b) => parseTgiRequest(b, { stream: true, model: "tgi" }) },
    { name: "llamacpp", settings: {}, parse: (b) => parseLlamacppRequest(b, { model: "m" }) },
    {
      name: "llamacpp",
      settings: { logprobs: 1 },
      parse: (b) => parseLlamacppRequest(b, { model: "m" }),
    },
    {
      name: "ollama",
      settings: {},
      parse: (b) => parseOllamaRequest(b, { chat: false, models: ["m"] }),
    },
    {
      name: "ollama",
      settings: { chat: true, logprobs: 0 },
      parse: (b) => parseOllamaRequest(b, { chat: true, models: ["m"] }),
    },
  ];
  for (const native of natives) {
    const provider = createProvider(native.name, { ...base, chat: false, ...native.settings });
    const parsed = native.parse(JSON.parse(provider.request(sample).body));
    if (typeof parsed === "string") throw new Error(`${native.name}: ${parsed}`);
    for (const common of commons) {
      const reply: MockReply = parsed.reply(common);
      streams.push({ provider, wire: wholeStream(reply) });
    }
  }
  return streams;
}

Deno.test("fast paths equal the full parse on every event the mock sends, in every dialect", () => {
  let events = 0;
  let answered = 0;
  const answeredBy = new Set<string>();
  for (const { provider, wire } of mockStreams()) {
    assert.ok(provider.fastEvent, `${provider.name} has a fast path`);
    for (const data of payloadsOf(provider, wire)) {
      events++;
      if (checkEvent(provider, data)) {
        answered++;
        answeredBy.add(provider.name);
      }
    }
  }
  assert.deepEqual([...answeredBy].sort(), ["llamacpp", "ollama", "openai", "tgi"]);
  // Token events are most of a stream without logprobs (half the streams here have them).
  assert.ok(answered > events * 0.4, `answered ${answered} of ${events}`);
});

Deno.test("fast paths equal the full parse on the recorded wire samples of every dialect", () => {
  const samples: Array<[string, string, Partial<ProviderOptions>]> = [
    ["openai", "openai/chat_stream.txt", { chat: true }],
    ["openai", "openai/completion_stream.txt", {}],
    ["anyscale", "anyscale/chat_stream.txt", { chat: true }],
    ["fireworks", "fireworks/chat_stream.txt", { chat: true }],
    ["sglang", "sglang/completion_stream.txt", {}],
    ["together", "together/completion_stream.txt", {}],
    ["vllm", "vllm/chat_reasoning_stream.txt", { chat: true }],
    ["tgi", "tgi/generate_stream.txt", {}],
    ["llamacpp", "llamacpp/completion_stream.txt", {}],
    ["llamacpp", "llamacpp/chat_stream.txt", { chat: true }],
    ["ollama", "ollama/generate_stream.ndjson", {}],
    ["ollama", "ollama/chat_stream.ndjson", { chat: true }],
  ];
  const answeredIn = new Set<string>();
  for (const [name, path, settings] of samples) {
    const provider = createProvider(name, { ...base, chat: false, ...settings });
    for (const data of payloadsOf(provider, testdata(path))) {
      if (checkEvent(provider, data)) answeredIn.add(path);
    }
  }
  // Every sample has token events it takes, but the two whose every event carries logprobs.
  assert.deepEqual(
    samples.map(([, path]) => path).filter((path) => !answeredIn.has(path)),
    ["openai/completion_stream.txt", "llamacpp/completion_stream.txt"],
  );
});

Deno.test("every streaming dialect with a fast path is covered here", () => {
  const covered = new Set(["openai", "anyscale", "fireworks", "vllm", "sglang", "together"]);
  for (const name of ["tgi", "llamacpp", "ollama"]) covered.add(name);
  for (const name of PROVIDER_NAMES.filter((name) => dialectOf(name).stream)) {
    const provider = createProvider(name, { ...base, chat: false });
    if (provider.fastEvent) assert.ok(covered.has(name), `${name}: add its samples above`);
  }
});

// Generated payloads: JSON built from pieces each dialect uses, with odd values mixed in.

/** Strings with what makes a JSON string hard: quotes, backslashes, controls, Unicode. */
const hardString = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.constantFrom(
    "",
    " the",
    'a"b',
    "a\\b",
    "line\nbreak",
    "tab\t",
    "\u0000",
    "é😀",
    "\ud83d",
    "/",
  ),
);

/** Values of any JSON type, for fields of the wrong type and unknown fields. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: "small" },
  hardString,
  fc.constantFrom(null, true, false, 0, -1.5e3, 7, [], {}),
  fc.array(fc.oneof(fc.integer(), hardString, fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(
    fc.constantFrom("a", "text", "content", "usage"),
    fc.oneof(hardString, fc.integer()),
  ),
);

/** A value that is usually of the expected kind, sometimes null, absent or anything. */
function mostly<T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: value },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: anyValue },
  );
}

/** An object from optional fields, some left out, plus unknown ones. */
function record(
  fields: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(
    fc.record(fields, { requiredKeys: [] }),
    fc.dictionary(fc.constantFrom("id", "model", "object", "created", "x", "index"), anyValue, {
      maxKeys: 3,
    }),
  ).map(([known, extra]) => ({ ...extra, ...known }));
}

const usage = record({
  prompt_tokens: mostly(fc.nat()),
  completion_tokens: mostly(fc.nat()),
  prompt_tokens_details: mostly(record({ cached_tokens: mostly(fc.nat()) })),
});
const message = record({
  role: fc.constant("assistant"),
  content: mostly(hardString),
  reasoning_content: mostly(hardString),
  reasoning: mostly(hardString),
});
const openAIPayload = record({
  choices: mostly(
    fc.array(
      mostly(record({
        index: mostly(fc.nat(3)),
        text: mostly(hardString),
        delta: mostly(message),
        message: mostly(message),
        logprobs: mostly(record({ tokens: mostly(fc.array(hardString, { maxLength: 3 })) })),
        finish_reason: mostly(fc.constantFrom("length", "stop")),
      })),
      { maxLength: 3 },
    ),
  ),
  usage: fc.oneof(fc.constant(null), usage),
  timings: mostly(record({ cache_n: mostly(fc.nat()) })),
  truncated: mostly(fc.boolean()),
  error: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, {
    weight: 1,
    arbitrary: anyValue,
  }),
});
const tgiPayload = record({
  index: fc.nat(),
  token: mostly(record({
    id: fc.nat(),
    text: mostly(hardString),
    logprob: fc.double({ noNaN: true, noDefaultInfinity: true }),
    special: mostly(fc.boolean()),
  })),
  generated_text: mostly(hardString),
  details: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: record({ generated_tokens: mostly(fc.nat()), input_length: mostly(fc.nat()) }),
    },
  ),
  error: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, {
    weight: 1,
    arbitrary: anyValue,
  }),
});
const llamacppPayload = record({
  content: mostly(hardString),
  stop: mostly(fc.boolean()),
  tokens: fc.array(fc.nat(), { maxLength: 2 }),
  completion_probabilities: mostly(fc.array(anyValue, { maxLength: 3 })),
  probs: mostly(fc.array(anyValue, { maxLength: 3 })),
  tokens_predicted: mostly(fc.nat()),
  tokens_evaluated: mostly(fc.nat()),
  timings: mostly(record({ prompt_n: mostly(fc.nat()), cache_n: mostly(fc.nat()) })),
  truncated: mostly(fc.boolean()),
  error: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, {
    weight: 1,
    arbitrary: anyValue,
  }),
});
const ollamaPayload = record({
  response: mostly(hardString),
  thinking: mostly(hardString),
  message: mostly(record({ content: mostly(hardString), thinking: mostly(hardString) })),
  done: mostly(fc.boolean()),
  logprobs: mostly(fc.array(anyValue, { maxLength: 3 })),
  eval_count: mostly(fc.nat()),
  prompt_eval_count: mostly(fc.nat()),
  error: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, {
    weight: 1,
    arbitrary: anyValue,
  }),
});

/**
 * The JSON text of a payload, as servers write it or oddly: spaced out, a key repeated (the last
 * one counts in `JSON.parse`), a key escaped, cut short, or with a stray character.
 */
function spelled(payload: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.tuple(
    payload,
    fc.nat(7),
    fc.nat(),
    fc.constantFrom(" ", "\n", "\t", "\u001f", "x", "}", ",", "\\", "0", "-", ".", "e"),
  ).map(
    ([value, how, at, stray]) => {
      const json = JSON.stringify(value);
      switch (how) {
        case 0:
          return JSON.stringify(value, null, 1);
        case 1: {
          const key = Object.keys(value)[0];
          if (key === undefined) return json;
          return `{${JSON.stringify(key)}:${JSON.stringify(value[key] ?? null)},${json.slice(1)}`;
        }
        case 2:
          return json.replace('"text"', '"te\\u0078t"').replace('"content"', '"con\\u0074ent"');
        case 3:
          return json.slice(0, at % (json.length + 1));
        case 4: {
          const cut = at % (json.length + 1);
          return json.slice(0, cut) + stray + json.slice(cut);
        }
        case 5:
          return ` ${json} `;
        default:
          return json;
      }
    },
  );
}

/** Token text: usually plain, sometimes needing escapes. */
const tokenText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  { weight: 1, arbitrary: hardString },
);

/** An object with `fields` in an arbitrary order (servers differ), some optional ones left out. */
function shuffled(
  fields: Record<string, fc.Arbitrary<unknown>>,
  optional: readonly string[] = [],
): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(fields);
  return fc.tuple(
    fc.record(fields),
    fc.shuffledSubarray(keys, { minLength: keys.length - optional.length }),
  ).map(([values, order]) => {
    const kept = order.length === keys.length
      ? order
      : [...order, ...keys.filter((key) => !order.includes(key) && !optional.includes(key))];
    return Object.fromEntries(kept.map((key) => [key, values[key]]));
  });
}

/** Rarely something else than `value`. */
function rarely<T>(value: T, other: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 8, arbitrary: fc.constant(value) }, { weight: 1, arbitrary: other });
}

const typicalOpenAI = shuffled({
  id: fc.constant("cmpl-1"),
  object: fc.constantFrom("text_completion", "chat.completion.chunk"),
  created: fc.nat(),
  model: fc.constant("m"),
  choices: fc.array(
    fc.oneof(
      shuffled({
        index: fc.nat(2),
        text: tokenText,
        logprobs: rarely(null, anyValue),
        finish_reason: fc.constantFrom(null, "length"),
      }, ["logprobs"]),
      shuffled({
        index: fc.nat(2),
        delta: fc.oneof(
          shuffled({ role: fc.constant("assistant"), content: tokenText }, ["role"]),
          fc.record({ reasoning_content: tokenText }),
          fc.record({ reasoning: tokenText }),
          message,
        ),
        logprobs: rarely(null, anyValue),
        finish_reason: fc.constantFrom(null, "length"),
      }, ["logprobs"]),
      // Together's: text, and a delta beside it.
      shuffled({
        index: fc.nat(2),
        text: tokenText,
        delta: shuffled({
          role: fc.constant("assistant"),
          content: tokenText,
          reasoning_content: tokenText,
          tool_calls: fc.constant(null),
        }, ["role", "reasoning_content", "tool_calls"]),
        seed: fc.constant(null),
      }, ["seed"]),
    ),
    { minLength: 1, maxLength: 2 },
  ),
  usage: rarely(null, usage),
  system_fingerprint: fc.constant(null),
}, ["usage", "system_fingerprint"]);
const typicalTgi = shuffled({
  index: fc.nat(),
  token: shuffled({
    id: fc.nat(),
    text: tokenText,
    logprob: fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 0 }),
    special: rarely(false, fc.boolean()),
  }),
  generated_text: rarely(null, hardString),
  details: rarely(null, record({ generated_tokens: fc.nat() })),
});
const typicalLlamacpp = shuffled({
  index: fc.constant(0),
  content: tokenText,
  tokens: fc.array(fc.nat(), { maxLength: 2 }),
  stop: rarely(false, fc.boolean()),
  id_slot: fc.nat(),
  tokens_predicted: fc.nat(),
  timings: rarely({ predicted_n: 1 }, anyValue),
}, ["tokens_predicted", "timings"]);
const typicalOllama = fc.oneof(
  shuffled({
    model: fc.constant("m"),
    created_at: fc.constant("2026-12-02T00:00:00Z"),
    response: tokenText,
    done: rarely(false, fc.boolean()),
    thinking: rarely("", tokenText),
  }, ["thinking"]),
  shuffled({
    model: fc.constant("m"),
    created_at: fc.constant("2026-12-02T00:00:00Z"),
    message: shuffled({ role: fc.constant("assistant"), content: tokenText }, ["role"]),
    done: rarely(false, fc.boolean()),
  }),
);

const dialects: Array<
  [string, Partial<ProviderOptions>, fc.Arbitrary<Record<string, unknown>>, typeof typicalTgi]
> = [
  ["openai", {}, openAIPayload, typicalOpenAI],
  ["openai", { n: 2 }, openAIPayload, typicalOpenAI],
  ["tgi", {}, tgiPayload, typicalTgi],
  ["tgi", { chat: true }, openAIPayload, typicalOpenAI],
  ["llamacpp", {}, llamacppPayload, typicalLlamacpp],
  ["llamacpp", { chat: true }, openAIPayload, typicalOpenAI],
  ["ollama", {}, ollamaPayload, typicalOllama],
];

for (const [name, settings, payload, typical] of dialects) {
  Deno.test(`${name} ${JSON.stringify(settings)}: on generated payloads the fast path equals the full parse or declines`, () => {
    const provider = createProvider(name, { ...base, chat: false, ...settings });
    let answered = 0;
    fc.assert(
      fc.property(fc.oneof(spelled(typical), spelled(payload)), (data) => {
        if (checkEvent(provider, data)) answered++;
      }),
      { numRuns: 1500 },
    );
    // Most generated payloads are odd on purpose; the plain token events among them are taken.
    assert.ok(answered > 75, `${name}: the fast path answered only ${answered} times`);
  });
}
