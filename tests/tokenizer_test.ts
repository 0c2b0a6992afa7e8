import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import type { MockServer } from "../mock/server.ts";
import { loadTokenizer, TIKTOKEN_ENCODINGS } from "../load/tokenizer.ts";
import { metricMean, runDialect, tokenSources } from "./_dialect_harness.ts";
import { runAgainst, withMock } from "./_harness.ts";

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

Deno.test("the mock's POST /tokenize answers in each server's shape, BOS where it adds one", async () => {
  await withMock({ tokenizer: BOS_FIXTURE }, async (mock) => {
    const post = async (body: unknown) => {
      const response = await fetch(`${mock.url}/tokenize`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      return { status: response.status, json: await response.json() };
    };
    const llamacpp = await post({ content: "Pad Pad the", add_special: true });
    assert.equal(llamacpp.json.tokens.length, 4);
    assert.equal((await post({ content: "Pad Pad the" })).json.tokens.length, 3);
    const vllm = await post({ model: "mock-model", prompt: "Pad Pad the" });
    assert.equal(vllm.json.count, 4);
    assert.equal(vllm.json.tokens.length, 4);
    assert.equal(typeof vllm.json.max_model_len, "number");
    const bare = await post({ prompt: "Pad Pad the", add_special_tokens: false });
    assert.equal(bare.json.count, 3);
    const tgi = await post({ inputs: "Pad Pad" });
    assert.deepEqual(tgi.json.map((token: { text: string }) => token.text), ["", "Pad", " Pad"]);
    assert.deepEqual(tgi.json.at(-1), { id: tgi.json.at(-1).id, text: " Pad", start: 3, stop: 7 });
    assert.equal((await post({ text: "Pad" })).status, 400);
  });
});

Deno.test("--tokenizer server builds -p prompts the server counts exactly, per dialect", async () => {
  const fixture = await loadTokenizer(BOS_FIXTURE);
  for (const provider of ["vllm", "sglang", "llamacpp", "tgi"]) {
    const { run, records } = await runDialect(
      { tokenizer: BOS_FIXTURE, dialect: provider },
      ["--provider", provider, "--tokenizer", "server", "-p", "40"],
      { requests: 2 },
    );
    assert.doesNotMatch(run.out, /Prompt tokens mismatch/, provider);
    assert.equal(metricMean(run, "prompt_tokens"), 40, provider);
    const generation = records.filter((record) => record.path !== "/tokenize");
    assert.equal(generation.length, 2, provider);
    for (const record of generation) {
      const body = record.body as { prompt?: string; inputs?: string };
      assert.equal(fixture.countPrompt(body.prompt ?? body.inputs ?? ""), 40, provider);
    }
  }
});

Deno.test("--tokenizer server is a usage error before the load where there is no endpoint", async () => {
  await withMock({}, async (mock) => {
    await assert.rejects(
      () => runAgainst(mock, ["--provider", "openai", "--tokenizer", "server", "-t", "5s"]),
      {
        name: "UsageError",
        message:
          "Cannot use --tokenizer server: the openai API has no tokenize endpoint (vllm, sglang, " +
          "tgi and llamacpp have one); pass --tokenizer with the model's tokenizer.json or a " +
          "tiktoken encoding",
      },
    );
    await assert.rejects(
      () => runAgainst(mock, ["--tokenizer", "server", "--prompt-randomize", "-t", "5s"]),
      { name: "UsageError", message: /^Cannot use --prompt-randomize with --tokenizer server/ },
    );
    assert.equal(mock.records().filter((r) => r.path !== "/v1/models").length, 0, "no load");
  });
  await withServer({ tokenize: false }, async (server) => {
    await assert.rejects(
      () => runAgainst(server, ["--provider", "vllm", "--tokenizer", "server", "-t", "5s"]),
      {
        name: "UsageError",
        message:
          /^Cannot use --tokenizer server: Cannot count tokens with POST \/tokenize: HTTP 404;/,
      },
    );
    assert.equal(server.completions(), 0, "no load");
  });
});

Deno.test("--tokenizer server counts output without usage by the endpoint, after the timing", async () => {
  await withServer({ tokenize: true, outputDelayMs: 1000 }, async (server) => {
    const run = await runAgainst(server, [
      "--provider",
      "vllm",
      "--tokenizer",
      "server",
      "-u",
      "1",
      "-o",
      "5",
      "-p",
      "13",
      "--warmup",
      "0",
      "--max-requests",
      "2",
      "-t",
      "20s",
    ]);
    assert.equal(run.exitCode, 0, [...run.log, run.out].join("\n"));
    assert.deepEqual(tokenSources(run), { tokenizer: 2 });
    // The server's count: two per word, where a local tokenizer would count one.
    assert.equal(metricMean(run, "num_tokens"), 10);
    const latency = metricMean(run, "total_latency");
    assert.ok(latency !== undefined && latency < 1000, `the 1 s count is not timed: ${latency}`);
    assert.equal(server.completions(), 2);
  });
});

/** A vLLM-like server whose streams carry no usage and whose `/tokenize` counts 2 per word. */
interface TestServer {
  readonly url: string;
  completions(): number;
}

async function withServer(
  options: { tokenize: boolean; outputDelayMs?: number },
  body: (server: TestServer & MockServer) => Promise<void>,
): Promise<void> {
  let completions = 0;
  const words = (text: string) => text.split(/\s+/).filter((word) => word !== "").length;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/v1/models") {
      return Response.json({ data: [{ id: "m", object: "model", owned_by: "vllm" }] });
    }
    if (path === "/tokenize" && options.tokenize) {
      const { prompt, add_special_tokens: special } = await request.json();
      // Output is counted without special tokens; only those calls wait.
      if (!special) await new Promise((wake) => setTimeout(wake, options.outputDelayMs ?? 0));
      return Response.json({ count: 2 * words(prompt) + (special ? 1 : 0), tokens: [] });
    }
    if (path === "/v1/completions") {
      completions++;
      const { max_tokens: tokens } = await request.json();
      const events = Array.from(
        { length: tokens },
        () => `data: ${JSON.stringify({ choices: [{ index: 0, text: " word" }] })}\n\n`,
      );
      return new Response(events.join("") + "data: [DONE]\n\n", {
        headers: { "content-type": "text/event-stream" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const fake = { url, port: server.addr.port, completions: () => completions } as
      & TestServer
      & MockServer;
    await body(fake);
  } finally {
    await server.shutdown();
  }
}
