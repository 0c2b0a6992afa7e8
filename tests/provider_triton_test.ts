import assert from "node:assert/strict";
import { createTritonGenerateProvider } from "../providers/triton_generate.ts";
import { createTritonInferProvider } from "../providers/triton_infer.ts";
import { loadTokenizer } from "../load/tokenizer.ts";
import {
  parseRecordedStream,
  runDialect,
  testdata,
  tokenSources,
  totals,
} from "./_dialect_harness.ts";

const settings = { model: "ensemble", temperature: 1, chat: false, stream: true };

Deno.test("triton-generate request body: text_input, max_tokens and the empty word lists", () => {
  const spec = createTritonGenerateProvider(settings).request({ prompt: "Hi", maxTokens: 6 });
  assert.equal(spec.path, "/v2/models/ensemble/generate_stream");
  assert.equal(
    spec.body,
    '{"text_input":"Hi","max_tokens":6,"temperature":1,"stream":true,"bad_words":"",' +
      '"stop_words":""}',
  );
  const whole = createTritonGenerateProvider({ ...settings, model: "my model", stream: false });
  assert.equal(
    whole.request({ prompt: "Hi", maxTokens: 6 }).path,
    "/v2/models/my%20model/generate",
  );
});

Deno.test("triton-generate stream: text_output pieces, no counts", () => {
  const sum = totals(
    parseRecordedStream(
      createTritonGenerateProvider(settings),
      "triton-generate/generate_stream.txt",
    ),
  );
  assert.equal(sum.text, " Blue sky.");
  assert.equal(sum.usage, undefined);
  assert.equal(sum.logprobTokens, undefined);
});

Deno.test("triton-generate body: the echoed prompt and <s> marker are cut off", () => {
  const provider = createTritonGenerateProvider({ ...settings, stream: false });
  provider.request({ prompt: "Something else", maxTokens: 3 });
  provider.request({ prompt: "What colour is the sky?", maxTokens: 3 });
  assert.equal(provider.parseBody(testdata("triton-generate/generate.json")).text, " Blue sky.");
  // Once its reply is read, a prompt is forgotten: another reply is taken as it comes.
  assert.equal(
    provider.parseBody(testdata("triton-generate/generate.json")).text,
    "<s> What colour is the sky? Blue sky.",
  );
  assert.throws(() => provider.parseBody('{"error":"unexpected inference input"}'), /unexpected/);
});

Deno.test("triton-infer request body: KServe v2 tensors", () => {
  const provider = createTritonInferProvider({ ...settings, stream: false });
  const spec = provider.request({ prompt: "Hi", maxTokens: 6 });
  assert.equal(spec.path, "/v2/models/ensemble/infer");
  assert.equal(spec.stream, false);
  assert.deepEqual(JSON.parse(spec.body), {
    inputs: [
      { name: "text_input", datatype: "BYTES", shape: [1, 1], data: [["Hi"]] },
      { name: "max_tokens", datatype: "INT32", shape: [1, 1], data: [[6]] },
      { name: "bad_words", datatype: "BYTES", shape: [1, 1], data: [[""]] },
      { name: "stop_words", datatype: "BYTES", shape: [1, 1], data: [[""]] },
      { name: "temperature", datatype: "FP32", shape: [1, 1], data: [[1]] },
    ],
  });
  assert.throws(() => createTritonInferProvider(settings), /cannot stream/);
});

Deno.test("triton-infer body: text_output found among outputs, echo cut off", () => {
  const provider = createTritonInferProvider({ ...settings, stream: false });
  provider.request({ prompt: "What colour is the sky?", maxTokens: 3 });
  assert.equal(provider.parseBody(testdata("triton-infer/infer.json")).text, " Blue sky.");
  const nested =
    '{"outputs":[{"name":"text_output","datatype":"BYTES","shape":[1,1],"data":[["x"]]}]}';
  assert.equal(provider.parseBody(nested).text, "x");
  assert.throws(() => provider.parseBody('{"outputs":[]}'), /text_output/);
});

Deno.test("triton end to end: generate (both ways) and infer, counted by the tokenizer", async () => {
  const cases = [
    ["triton-generate", [], "/v2/models/ensemble/generate_stream"],
    ["triton-generate", ["--no-stream"], "/v2/models/ensemble/generate"],
    ["triton-infer", ["--no-stream"], "/v2/models/ensemble/infer"],
  ] as const;
  for (const [provider, extra, path] of cases) {
    const { run, records } = await runDialect(
      { dialect: provider, models: ["ensemble"] },
      ["--provider", provider, ...extra],
    );
    assert.equal(records[0].path, path);
    assert.deepEqual(tokenSources(run), { tokenizer: 3 }, `${provider} ${extra}`);
    // The mock echoes the prompt in whole replies; counted right, that is still 12 tokens.
    assert.match(run.out, /Num Tokens\s+: 12\.0/, `${provider} ${extra}`);
    assert.doesNotMatch(run.out, /mismatch/i);
  }
});

Deno.test("triton end to end with --tokenizer tokenizer.json: prompt and output counted by it", async () => {
  const tokenizer = new URL("./testdata/hf_tokenizer/tokenizer.json", import.meta.url).pathname;
  const { run, records } = await runDialect(
    { dialect: "triton-generate", models: ["ensemble"] },
    ["--provider", "triton-generate", "--tokenizer", tokenizer, "-p", "100"],
  );
  const local = await loadTokenizer(tokenizer);
  assert.equal(local.count((records[0].body as { text_input: string }).text_input), 100);
  assert.deepEqual(tokenSources(run), { tokenizer: 3 });
  assert.match(run.out, /Num Tokens\s+: 12\.0/);
  assert.match(run.out, /Prompt Tokens\s+: 100/);
});
