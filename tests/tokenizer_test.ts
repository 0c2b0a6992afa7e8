import assert from "node:assert/strict";
import { UsageError } from "../lib/errors.ts";
import { loadTokenizer, TIKTOKEN_ENCODINGS } from "../lib/tokenizer.ts";

Deno.test("tiktoken encodings count, encode and decode", async () => {
  for (const name of TIKTOKEN_ENCODINGS) {
    const tokenizer = await loadTokenizer(name);
    assert.equal(tokenizer.name, name);
    const text = "Hello, world! Héllo 世界 🚀";
    const ids = tokenizer.encode(text);
    assert.equal(tokenizer.count(text), ids.length);
    assert.equal(tokenizer.decode(ids), text);
    assert.equal(tokenizer.decode([...ids]), text);
    assert.equal(tokenizer.count(""), 0);
    assert.equal(tokenizer.count("Hello, world"), 3);
  }
});

Deno.test("the two encodings differ", async () => {
  const o200k = await loadTokenizer("o200k_base");
  const cl100k = await loadTokenizer("cl100k_base");
  assert.notDeepEqual([...o200k.encode("Hello world")], [...cl100k.encode("Hello world")]);
});

Deno.test("special-token markup in text counts as ordinary text", async () => {
  const tokenizer = await loadTokenizer("cl100k_base");
  const text = "before <|endoftext|> after";
  assert.ok(tokenizer.count(text) > 3);
  assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
});

Deno.test("one instance per name; free() drops it from the cache", async () => {
  const first = await loadTokenizer("o200k_base");
  assert.equal(await loadTokenizer("o200k_base"), first);
  first.free();
  const second = await loadTokenizer("o200k_base");
  assert.notEqual(second, first);
  assert.equal(second.count("Hello, world"), 3);
});

Deno.test("an unknown name is a usage error naming the choices", async () => {
  await assert.rejects(() => loadTokenizer("p99k_base"), {
    name: "UsageError",
    message:
      "Invalid --tokenizer 'p99k_base': expected o200k_base, cl100k_base, server or a path to a Hugging Face tokenizer.json",
  });
  await assert.rejects(() => loadTokenizer("./no/such/tokenizer.json"), UsageError);
});

const FIXTURE_DIR = new URL("./testdata/hf_tokenizer", import.meta.url).pathname;
const FIXTURE = `${FIXTURE_DIR}/tokenizer.json`;

Deno.test("a Hugging Face tokenizer.json loads from the file or its folder", async () => {
  for (const spec of [FIXTURE, FIXTURE_DIR]) {
    const tokenizer = await loadTokenizer(spec);
    assert.equal(tokenizer.name, spec);
    assert.equal(tokenizer.count("Pad Pad Pad"), 3);
    assert.deepEqual(tokenizer.encode(" the of and").length, 3);
    const text = "Generate a Django application, héllo 世界 🚀";
    const ids = tokenizer.encode(text);
    assert.ok(ids.length > 20, "unmerged words fall apart into byte-level tokens");
    assert.equal(tokenizer.count(text), ids.length);
    assert.equal(tokenizer.decode(ids), text);
    assert.equal(tokenizer.decode([]), "");
    assert.equal(await loadTokenizer(spec), tokenizer, "one load per spec");
    tokenizer.free();
    assert.notEqual(await loadTokenizer(spec), tokenizer, "free() forgets it");
  }
});

Deno.test("a tokenizer_config.json beside it is read; a bad file is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(FIXTURE, `${dir}/tokenizer.json`);
    await Deno.writeTextFile(
      `${dir}/tokenizer_config.json`,
      '{"clean_up_tokenization_spaces": true}',
    );
    const tokenizer = await loadTokenizer(dir);
    assert.equal(tokenizer.decode(tokenizer.encode("a , b")), "a , b", "no clean-up on decode");
    const cases: [string, string, RegExp][] = [
      ["empty", "", /the folder has no tokenizer\.json/],
      ["broken", "{not json", /is not JSON/],
      ["other", '{"vocab": {}}', /is not a Hugging Face tokenizer\.json \(it has no "model"\)/],
    ];
    for (const [name, text, message] of cases) {
      await Deno.mkdir(`${dir}/${name}`);
      if (text !== "") await Deno.writeTextFile(`${dir}/${name}/tokenizer.json`, text);
      await assert.rejects(() => loadTokenizer(`${dir}/${name}`), (error: Error) => {
        assert.ok(error instanceof UsageError, error.message);
        assert.match(error.message, /^Cannot load --tokenizer '.+': /);
        assert.match(error.message, message);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const BOS_FIXTURE = `${FIXTURE_DIR}/llama3_bos/tokenizer.json`;

Deno.test("a Llama-3-style post-processor adds its BOS token to prompt counts only", async () => {
  const plain = await loadTokenizer(FIXTURE);
  const bos = await loadTokenizer(BOS_FIXTURE);
  assert.equal(plain.specialTokens, 0);
  assert.equal(bos.specialTokens, 1);
  for (const text of ["Pad", "Pad Pad Pad", "Generate a Django application"]) {
    assert.equal(bos.count(text), plain.count(text), "text and output counts stay bare");
    assert.equal(bos.countPrompt(text), plain.count(text) + 1, text);
    assert.equal(plain.countPrompt(text), plain.count(text));
  }
  const tiktoken = await loadTokenizer("o200k_base");
  assert.equal(tiktoken.specialTokens, 0);
  assert.equal(tiktoken.countPrompt("Hello, world"), 3);
});

Deno.test("tokenizer_config.json's add_bos_token decides over the post-processor", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, string, number][] = [
      [BOS_FIXTURE, '{"add_bos_token": false}', 0],
      [BOS_FIXTURE, '{"add_eos_token": true}', 2],
      [FIXTURE, '{"add_bos_token": true, "add_eos_token": false}', 1],
      [FIXTURE, '{"bos_token": "<s>"}', 0],
    ];
    for (const [i, [source, config, special]] of cases.entries()) {
      await Deno.mkdir(`${dir}/${i}`);
      await Deno.copyFile(source, `${dir}/${i}/tokenizer.json`);
      await Deno.writeTextFile(`${dir}/${i}/tokenizer_config.json`, config);
      const tokenizer = await loadTokenizer(`${dir}/${i}`);
      assert.equal(tokenizer.specialTokens, special, config);
      assert.equal(tokenizer.countPrompt("Pad Pad"), 2 + special, config);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
