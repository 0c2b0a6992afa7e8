import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import { resolveMockOptions } from "../mock/options.ts";
import { checkContext, largestMaxTokens, planRun } from "../run/plan.ts";
import { runAgainst, withMock } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";

const quiet = () => {};

/** The default -p 512 -o 64 against a server whose context is 512 tokens per request. */
const DEFAULTS_OVER_512 =
  "Prompt 512 + max_tokens 64 = 576 tokens exceed the server's context of 512";

Deno.test("the mock enforces --context with each server's own error", async () => {
  assert.equal(resolveMockOptions({ context: "512" }).context, 512);
  assert.equal(resolveMockOptions({}).context, undefined);
  await withMock({ context: 20, dialect: "llamacpp", itlMs: 0, ttftMs: 0 }, async (mock) => {
    // llama.cpp refuses a prompt that fills the slot; a longer reply it cuts at the edge.
    const prompt = "word ".repeat(24);
    const over = await fetch(`${mock.url}/completion`, {
      method: "POST",
      body: JSON.stringify({ prompt, n_predict: 8 }),
    });
    assert.equal(over.status, 400);
    assert.match(
      (await over.json()).error.message,
      /^request \(\d+ tokens\) exceeds the available context size \(20 tokens\)/,
    );
    const fits = await fetch(`${mock.url}/completion`, {
      method: "POST",
      body: JSON.stringify({ prompt: "word ".repeat(16), n_predict: 8, stream: false }),
    });
    assert.equal(fits.status, 200);
    assert.equal((await fits.json()).truncated, true);
    const props = await (await fetch(`${mock.url}/props`)).json();
    assert.equal(props.default_generation_settings.n_ctx, 20);
    const models = await (await fetch(`${mock.url}/v1/models`)).json();
    assert.equal(models.data[0].meta.n_ctx_train, 20);
  });
  await withMock({ context: 20, dialect: "vllm" }, async (mock) => {
    const models = await (await fetch(`${mock.url}/v1/models`)).json();
    assert.equal(models.data[0].max_model_len, 20);
    const over = await fetch(`${mock.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "word ".repeat(16), max_tokens: 8 }),
    });
    assert.equal(over.status, 400);
    assert.match((await over.json()).error.message, /maximum context length is 20 tokens/);
    const tgi = await fetch(`${mock.url}/generate`, {
      method: "POST",
      body: JSON.stringify({ inputs: "word ".repeat(16), parameters: { max_new_tokens: 8 } }),
    });
    assert.equal(tgi.status, 422);
    await tgi.body?.cancel();
  });
});

Deno.test("-p 512 -o 64 against a 512-token llama.cpp slot fails before the load, with the numbers", async () => {
  await withMock({ context: 512, dialect: "llamacpp", models: ["tiny.gguf"] }, async (mock) => {
    await assert.rejects(
      () => planRun(runConfig(["-H", mock.url, "-t", "1s"]), quiet),
      (error: Error) => {
        assert.ok(error instanceof UsageError);
        assert.equal(
          error.message,
          `${DEFAULTS_OVER_512} (from /props default_generation_settings.n_ctx): lower -p/-o`,
        );
        return true;
      },
    );
    const run = await runAgainst(mock, ["-t", "2s"]).catch((error) => error);
    assert.ok(run instanceof UsageError, "the run sends no load");
    assert.equal(mock.records().length, 0, "not one generation request was sent");
  });
});

Deno.test("vLLM's max_model_len, Together's context_length and TGI's /info are read", async () => {
  const cases = [
    { dialect: "vllm", args: [], source: "/v1/models max_model_len" },
    { dialect: "sglang", args: [], source: "/v1/models max_model_len" },
    { dialect: "together", args: [], source: "/v1/models context_length" },
    { dialect: "vllm", args: ["--provider", "tgi"], source: "/info max_total_tokens" },
  ];
  for (const { dialect, args, source } of cases) {
    await withMock({ context: 512, dialect }, async (mock) => {
      await assert.rejects(
        () => planRun(runConfig(["-H", mock.url, ...args]), quiet),
        new UsageError(`${DEFAULTS_OVER_512} (from ${source}): lower -p/-o`),
        dialect,
      );
    });
  }
});

Deno.test("a run that fits the context starts, and one over TGI's prompt limit does not", async () => {
  await withMock({ context: 600, dialect: "vllm" }, async (mock) => {
    const plan = await planRun(runConfig(["-H", mock.url]), quiet);
    assert.equal(plan.localPromptTokens, 512);
    assert.deepEqual(plan.warnings, []);
  });
  const limits = [
    { tokens: 4096, bounds: "total", kind: "limit", source: "/info max_total_tokens" },
    { tokens: 500, bounds: "prompt", kind: "limit", source: "/info max_input_tokens" },
  ] as const;
  assert.throws(
    () => checkContext(runConfig([]), { limits, promptTokens: 512 }),
    new UsageError(
      "Prompt 512 tokens exceed the server's prompt limit of 500 (from /info max_input_tokens): " +
        "lower -p",
    ),
  );
});

Deno.test("the largest max_tokens of the distribution is checked, not its mean", () => {
  const uniform = runConfig([
    "-o",
    "64",
    "--max-tokens-distribution",
    "uniform",
    "--max-tokens-range",
    "0.5",
  ]);
  assert.equal(largestMaxTokens(uniform), 96);
  const limits = [{ tokens: 600, bounds: "total", kind: "limit", source: "s" }] as const;
  assert.throws(
    () => checkContext(uniform, { limits, promptTokens: 512 }),
    new UsageError(
      "Prompt 512 + max_tokens 96 (the largest -o draws) = 608 tokens exceed the server's " +
        "context of 600 (from s): lower -p/-o",
    ),
  );
  const capped = runConfig(["--max-tokens-distribution", "normal", "--max-tokens-cap", "80"]);
  assert.equal(largestMaxTokens(capped), 80);
  assert.deepEqual(checkContext(capped, { limits, promptTokens: 512 }), []);
  const uncapped = runConfig(["--max-tokens-distribution", "exponential"]);
  assert.equal(largestMaxTokens(uncapped), Infinity);
  assert.deepEqual(checkContext(uncapped, { limits, promptTokens: 512 }), [
    "-o exponential has no cap, and draws above 88 tokens do not fit the server's context of " +
    "600 (from s) beside the 512-token prompt: set --max-tokens-cap 88",
  ]);
  const trained = [{ tokens: 520, bounds: "total", kind: "trained", source: "t" }] as const;
  assert.deepEqual(checkContext(runConfig([]), { limits: trained, promptTokens: 512 }), [
    "Prompt 512 + max_tokens 64 = 576 tokens exceed the model's training context of 520 " +
    "(from t): lower -p/-o; the server may refuse such requests",
  ]);
});

Deno.test("llama.cpp's slot refuses a prompt that fills it and cuts longer replies: a warning", () => {
  const cuts = [{ tokens: 520, bounds: "total", kind: "cuts", source: "/props n_ctx" }] as const;
  assert.deepEqual(checkContext(runConfig([]), { limits: cuts, promptTokens: 500 }), [
    "Prompt 500 + max_tokens 64 = 564 tokens exceed the server's context of 520 " +
    "(from /props n_ctx): lower -p/-o; the server cuts such replies at its context (reported " +
    "as truncated), so they end short of max_tokens",
  ]);
  assert.throws(
    () => checkContext(runConfig([]), { limits: cuts, promptTokens: 520 }),
    new UsageError(
      "Prompt 520 + max_tokens 64 = 584 tokens exceed the server's context of 520 " +
        "(from /props n_ctx): lower -p/-o",
    ),
  );
});
