import assert from "node:assert/strict";
import { type MockOptions, type MockServer, startMock } from "../mock/server.ts";
import { generatedText } from "../mock/wire.ts";
import { UsageError } from "../common/errors.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function withMock(options: MockOptions, fn: (mock: MockServer) => Promise<void>) {
  const mock = await startMock({ ttftMs: 0, itlMs: 1, ...options });
  try {
    await fn(mock);
  } finally {
    await mock.close();
  }
}

async function post(mock: MockServer, path: string, body: unknown) {
  const response = await fetch(`${mock.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    text: await response.text(),
  };
}

/** The JSON payloads of an SSE body (`[DONE]` left out). */
function sse(text: string): Json[] {
  return text.split("\n\n").filter((block) => block.startsWith("data:"))
    .map((block) => block.replace(/^data: ?/, "")).filter((data) => data !== "[DONE]")
    .map((data) => JSON.parse(data));
}

function ndjson(text: string): Json[] {
  return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

Deno.test("TGI routes: one token per event, details on the last, whole bodies with tokens", async () => {
  // Timed (one write per token) and in one write: the last event is the same either way.
  const oneWrite = await startMock({ ttftMs: 0, itlMs: 0 });
  const inOneWrite = await post(oneWrite, "/generate_stream", {
    inputs: "one two three",
    parameters: { max_new_tokens: 5 },
  });
  await oneWrite.close();
  await withMock({}, async (mock) => {
    const stream = await post(mock, "/generate_stream", {
      inputs: "one two three",
      parameters: { max_new_tokens: 5, details: true },
    });
    assert.equal(stream.text, inOneWrite.text);
    assert.match(stream.type!, /^text\/event-stream/);
    const events = sse(stream.text);
    assert.equal(events.length, 5);
    assert.deepEqual(events.map((event) => event.index), [1, 2, 3, 4, 5]);
    assert.equal(events.map((event) => event.token.text).join(""), generatedText(5));
    assert.equal(events[3].details, null);
    assert.equal(events[4].generated_text, generatedText(5));
    assert.deepEqual(events[4].details, {
      finish_reason: "length",
      generated_tokens: 5,
      seed: null,
      input_length: 3,
    });
    const whole = JSON.parse(
      (await post(mock, "/generate", {
        inputs: "x",
        parameters: { max_new_tokens: 4, details: true },
      }))
        .text,
    );
    assert.equal(whole.generated_text, generatedText(4));
    assert.equal(whole.details.generated_tokens, 4);
    assert.equal(whole.details.tokens.length, 4);
    const plain = JSON.parse((await post(mock, "/generate", { inputs: "x" })).text);
    assert.deepEqual(Object.keys(plain), ["generated_text"]);
    assert.equal(mock.records().at(-1)?.maxTokens, 100, "TGI's default max_new_tokens");
    const bad = await post(mock, "/generate", { inputs: "x", parameters: { temperature: 0 } });
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).error, /strictly positive/);
  });
});

Deno.test("Triton routes: generate, generate_stream and infer; whole replies echo the prompt", async () => {
  await withMock({ models: ["ensemble"] }, async (mock) => {
    const body = { text_input: "Hello there", max_tokens: 3, bad_words: "", stop_words: "" };
    const stream = await post(mock, "/v2/models/ensemble/generate_stream", body);
    assert.deepEqual(sse(stream.text).map((event) => event.text_output), [" the", " of", " and"]);
    assert.equal(stream.text.includes("[DONE]"), false);
    const whole = JSON.parse((await post(mock, "/v2/models/ensemble/generate", body)).text);
    assert.equal(whole.model_name, "ensemble");
    assert.equal(whole.text_output, "Hello there the of and");
    const infer = JSON.parse(
      (await post(mock, "/v2/models/ensemble/infer", {
        inputs: [
          { name: "text_input", datatype: "BYTES", shape: [1, 1], data: [["Hi"]] },
          { name: "max_tokens", datatype: "INT32", shape: [1, 1], data: [[2]] },
        ],
      })).text,
    );
    assert.deepEqual(infer.outputs[0].data, ["Hi the of"]);
    const unknown = await post(mock, "/v2/models/other/generate", body);
    assert.equal(unknown.status, 400);
    assert.match(JSON.parse(unknown.text).error, /unknown model: 'other'/);
  });
});

Deno.test("llama.cpp /completion: content events, a stop event with counts and timings", async () => {
  await withMock({}, async (mock) => {
    const stream = await post(mock, "/completion", {
      prompt: "a b c d",
      n_predict: 3,
      stream: true,
      n_probs: 1,
    });
    const events = sse(stream.text);
    assert.equal(events.length, 4);
    assert.deepEqual(events.slice(0, 3).map((event) => event.content), [" the", " of", " and"]);
    assert.ok(events.slice(0, 3).every((event) => event.completion_probabilities.length === 1));
    const last = events[3];
    assert.equal(last.stop, true);
    assert.equal(last.tokens_predicted, 3);
    assert.equal(last.tokens_evaluated, 4);
    assert.equal(last.stop_type, "limit");
    assert.deepEqual([last.timings.prompt_n, last.timings.predicted_n], [4, 3]);
    const whole = JSON.parse((await post(mock, "/completion", { prompt: "x", n_predict: 2 })).text);
    assert.equal(whole.content, generatedText(2));
    assert.equal(whole.tokens_predicted, 2);
  });
});

Deno.test("Ollama routes: NDJSON pieces, a done object with eval counts, /api/tags", async () => {
  await withMock({ models: ["llama3.2"] }, async (mock) => {
    const stream = await post(mock, "/api/generate", {
      model: "llama3.2",
      prompt: "a b",
      options: { num_predict: 3 },
    });
    assert.equal(stream.type, "application/x-ndjson");
    const lines = ndjson(stream.text);
    assert.equal(lines.length, 4);
    assert.equal(lines.slice(0, 3).map((line) => line.response).join(""), generatedText(3));
    assert.deepEqual(
      [lines[3].done, lines[3].done_reason, lines[3].eval_count, lines[3].prompt_eval_count],
      [true, "length", 3, 2],
    );
    const chat = JSON.parse(
      (await post(mock, "/api/chat", {
        model: "llama3.2",
        messages: [{ role: "user", content: "hi" }],
        stream: false,
        options: { num_predict: 2 },
      })).text,
    );
    assert.deepEqual(chat.message, { role: "assistant", content: generatedText(2) });
    assert.equal(chat.eval_count, 2);
    const logprobs = ndjson(
      (await post(mock, "/api/generate", {
        model: "llama3.2",
        prompt: "x",
        logprobs: true,
        options: { num_predict: 2 },
      })).text,
    );
    assert.equal(logprobs[0].logprobs.length, 1);
    const missing = await post(mock, "/api/generate", { model: "nope", prompt: "x" });
    assert.equal(missing.status, 400);
    assert.match(JSON.parse(missing.text).error, /not found/);
    const tags = await (await fetch(`${mock.url}/api/tags`)).json();
    assert.deepEqual(tags.models.map((model: Json) => model.name), ["llama3.2"]);
  });
});

Deno.test("the OpenAI routes take the shape of the dialect's server", async () => {
  const body = { prompt: "p", max_tokens: 2, stream: true };
  await withMock({ dialect: "fireworks" }, async (mock) => {
    const chunks = sse((await post(mock, "/v1/completions", body)).text);
    assert.equal(chunks.length, 3);
    assert.equal(chunks[2].choices[0].finish_reason, "length");
    assert.equal(chunks[2].usage.completion_tokens, 2, "usage on the finish chunk, unasked");
  });
  await withMock({ dialect: "together" }, async (mock) => {
    const chunks = sse((await post(mock, "/v1/completions", body)).text);
    assert.deepEqual(chunks.slice(0, 2).map((chunk) => chunk.token.text), [" the", " of"]);
    assert.equal(chunks[2].usage.completion_tokens, 2);
  });
  await withMock({ dialect: "sglang" }, async (mock) => {
    const chunks = sse((await post(mock, "/v1/completions", body)).text);
    assert.equal(chunks[0].choices[0].text, "", "an empty chunk opens the stream");
    assert.equal(chunks.length, 4);
  });
  await withMock({ dialect: "llamacpp" }, async (mock) => {
    const chunks = sse((await post(mock, "/v1/completions", body)).text);
    assert.equal(chunks.at(-1).usage.completion_tokens, 2);
    assert.equal(chunks.at(-1).timings.predicted_n, 2);
    const list = await (await fetch(`${mock.url}/v1/models`)).json();
    assert.equal(list.data[0].owned_by, "llamacpp");
  });
  await assert.rejects(() => startMock({ dialect: "acme" }), UsageError);
});

Deno.test("stopEarly: a shorter reply unless ignore_eos or min_tokens asks for the full length", async () => {
  await withMock({ stopEarly: true, seed: 3 }, async (mock) => {
    const plain = JSON.parse(
      (await post(mock, "/v1/completions", { prompt: "p", max_tokens: 50 })).text,
    );
    assert.ok(plain.usage.completion_tokens < 50);
    assert.equal(plain.choices[0].finish_reason, "stop");
    assert.equal(plain.choices[0].text, generatedText(plain.usage.completion_tokens));
    for (const extra of [{ ignore_eos: true }, { min_tokens: 50 }]) {
      const full = JSON.parse(
        (await post(mock, "/v1/completions", { prompt: "p", max_tokens: 50, ...extra })).text,
      );
      assert.equal(full.usage.completion_tokens, 50, JSON.stringify(extra));
    }
    const tgi = sse(
      (await post(mock, "/generate_stream", { inputs: "p", parameters: { max_new_tokens: 50 } }))
        .text,
    );
    assert.ok(tgi.length < 50, "TGI has no ignore_eos");
    assert.equal(tgi.at(-1).details.finish_reason, "eos_token");
    const [record] = mock.records();
    assert.equal(record.maxTokens, 50);
    assert.equal(record.tokens, plain.usage.completion_tokens);
    assert.equal(record.tokensSent, record.tokens);
  });
  await withMock({ stopEarly: true, ignoreLengthControls: true, seed: 3 }, async (mock) => {
    const ignored = JSON.parse(
      (await post(mock, "/v1/completions", { prompt: "p", max_tokens: 50, ignore_eos: true })).text,
    );
    assert.ok(ignored.usage.completion_tokens < 50, "the server disregards ignore_eos");
  });
});
