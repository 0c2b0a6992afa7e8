import assert from "node:assert/strict";
import { resolveTarget } from "../lib/target.ts";
import { UsageError } from "../lib/errors.ts";
import { PROVIDER_NAMES, providerForHost, providerForOwner } from "../providers/mod.ts";
import { withMock } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";

/** A host where nothing listens: a test that reaches the network fails loudly. */
const NOWHERE = "http://127.0.0.1:9";

Deno.test("--provider wins over the host name and /v1/models", async () => {
  const target = await resolveTarget(
    runConfig(["-H", "https://api.fireworks.ai/inference", "-m", "m", "--provider", "vllm"]),
  );
  assert.deepEqual(target, {
    model: "m",
    modelReason: "given by --model",
    provider: "vllm",
    providerReason: "given by --provider",
  });
  await withMock({ ownedBy: "sglang" }, async (mock) => {
    const fromFlag = await resolveTarget(runConfig(["-H", mock.url, "--provider", "tgi"]));
    assert.equal(fromFlag.provider, "tgi");
  });
});

Deno.test("the host name picks fireworks, together, openai and anyscale", async () => {
  const cases = [
    ["https://api.fireworks.ai/inference", "fireworks", "fireworks.ai"],
    ["https://api.together.xyz", "together", "together"],
    ["https://api.openai.com", "openai", "openai.com"],
    ["https://api.endpoints.anyscale.com", "anyscale", "anyscale"],
  ];
  for (const [host, provider, rule] of cases) {
    const target = await resolveTarget(runConfig(["-H", host, "-m", "m"]));
    assert.equal(target.provider, provider, host);
    assert.equal(target.providerReason, `host name ${new URL(host).hostname} matches ${rule}`);
  }
  assert.equal(providerForHost("notopenai.com"), undefined, "a domain, not a suffix of a word");
  assert.equal(providerForHost("localhost"), undefined);
});

Deno.test("otherwise /v1/models owned_by names the server", async () => {
  const owners = [
    ["vllm", "vllm"],
    ["sglang", "sglang"],
    ["fireworks", "fireworks"],
    ["llamacpp", "llamacpp"],
    ["library", "ollama"],
    ["openai", "openai"],
  ];
  for (const [ownedBy, provider] of owners) {
    await withMock({ ownedBy }, async (mock) => {
      const target = await resolveTarget(runConfig(["-H", mock.url]));
      assert.equal(target.provider, provider, ownedBy);
      assert.equal(target.providerReason, `/v1/models says mock-model is owned_by '${ownedBy}'`);
      assert.equal(target.model, "mock-model");
      assert.equal(target.modelReason, "first of 1 from /v1/models");
    });
  }
  assert.equal(providerForOwner("VLLM"), "vllm");
});

Deno.test("with -m, the owned_by of that model counts, not the first one's", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
    // A bare array, as Together's /v1/models answers.
    Response.json([
      { id: "a", owned_by: "someone" },
      { id: "b", owned_by: "fireworks" },
    ]));
  try {
    const host = `http://127.0.0.1:${server.addr.port}`;
    const target = await resolveTarget(runConfig(["-H", host, "-m", "b"]));
    assert.equal(target.provider, "fireworks");
    assert.equal(target.modelReason, "given by --model");
    await assert.rejects(
      () => resolveTarget(runConfig(["-H", host])),
      /owned_by 'someone', which names no known server; pass --provider with one of openai,/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("an unknown owned_by is a usage error that lists every provider", async () => {
  await withMock({ ownedBy: "acme-inference" }, async (mock) => {
    await assert.rejects(() => resolveTarget(runConfig(["-H", mock.url])), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(
        error.message,
        /^Cannot tell which API dialect http:\/\/127\.0\.0\.1:\d+ speaks/,
      );
      assert.match(error.message, /owned_by 'acme-inference'/);
      assert.ok(error.message.endsWith(PROVIDER_NAMES.join(", ")));
      return true;
    });
  });
});

Deno.test("an unreachable /v1/models names the flags that would avoid it", async () => {
  await assert.rejects(
    () => resolveTarget(runConfig(["-H", NOWHERE, "-m", "m"])),
    /Cannot reach http:\/\/127\.0\.0\.1:9\/v1\/models to guess the provider .*pass --provider$/,
  );
  await assert.rejects(
    () => resolveTarget(runConfig(["-H", NOWHERE])),
    /to pick a model .*pass -m\/--model and --provider$/,
  );
});

Deno.test("Triton and TGI need no /v1/models: their default model is used", async () => {
  for (const provider of ["triton-infer", "triton-generate", "tgi"]) {
    const extra = provider === "triton-infer" ? ["--no-stream"] : [];
    const target = await resolveTarget(
      runConfig(["-H", NOWHERE, "--provider", provider, ...extra]),
    );
    assert.equal(target.model, provider === "tgi" ? "tgi" : "ensemble");
    assert.match(target.modelReason, new RegExp(`^default of ${provider}`));
  }
});

Deno.test("modes a dialect cannot serve are refused before the run", async () => {
  const refused = [
    [["--provider", "triton-infer"], "The triton-infer dialect has no streaming: pass --no-stream"],
    [["--provider", "triton-generate", "--chat"], "The triton-generate dialect has no chat route"],
    [["--provider", "ollama", "-n", "2"], "cannot generate 2 completions per request"],
    [["--provider", "triton-generate", "--logprobs", "1"], "returns no logprobs"],
  ] as const;
  for (const [args, message] of refused) {
    await assert.rejects(
      () => resolveTarget(runConfig(["-H", NOWHERE, "-m", "m", ...args])),
      (error: Error) => error instanceof UsageError && error.message.includes(message),
      args.join(" "),
    );
  }
  const probing = await resolveTarget(
    runConfig(["-H", NOWHERE, "-m", "m", "--provider", "triton-infer"]),
    { checkModes: false },
  );
  assert.equal(probing.provider, "triton-infer");
});
