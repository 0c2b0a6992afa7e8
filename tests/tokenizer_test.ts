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
      "Invalid --tokenizer 'p99k_base': expected o200k_base, cl100k_base or a path to a Hugging Face tokenizer.json",
  });
  await assert.rejects(() => loadTokenizer("./no/such/tokenizer.json"), UsageError);
});

Deno.test("an existing path is recognised, but tokenizer.json is not supported yet", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/tokenizer.json`;
    await Deno.writeTextFile(file, "{}");
    for (const spec of [file, dir]) {
      await assert.rejects(() => loadTokenizer(spec), (error: Error) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^Cannot load --tokenizer '.+': .*not available yet/);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
