import assert from "node:assert/strict";
import { inspectServer, resolveTarget } from "../run/target.ts";
import { UsageError } from "../common/errors.ts";
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

Deno.test("an unlisted -m names the models the server lists, and is a usage error without --provider", async () => {
  await withMock({ dialect: "llamacpp", models: ["tiny.gguf"] }, async (mock) => {
    await assert.rejects(
      () => resolveTarget(runConfig(["-H", mock.url, "-m", "llama-3-8b"])),
      new UsageError(
        "llama-3-8b is not among the models the server lists: tiny.gguf: pass one of them " +
          "with -m/--model, or --provider to send llama-3-8b anyway",
      ),
    );
  });
});

Deno.test("with --provider, an unlisted -m is a warning that names the model the server answers as", async () => {
  await withMock(
    { dialect: "llamacpp", models: ["tiny.gguf"], ttftMs: 0, itlMs: 0 },
    async (mock) => {
      for (const chat of [[], ["--chat"]]) {
        const config = runConfig([
          "-H",
          mock.url,
          "-m",
          "llama-3-8b",
          "--provider",
          "llamacpp",
          ...chat,
        ]);
        const target = await resolveTarget(config);
        const facts = await inspectServer(config, target);
        assert.deepEqual(facts.warnings, [
          "llama-3-8b is not among the models the server lists: tiny.gguf; the server answers as " +
          "tiny.gguf, so the results are tiny.gguf's, whatever -m says",
        ]);
        assert.equal(facts.serverDialect, "llamacpp");
      }
      // One small request per check, before any load; none when the model is listed.
      assert.equal(mock.records().length, 2);
      assert.ok(mock.records().every((record) => record.maxTokens === 1));
      const listed = runConfig(["-H", mock.url, "-m", "tiny.gguf", "--provider", "llamacpp"]);
      assert.deepEqual((await inspectServer(listed, await resolveTarget(listed))).warnings, []);
      assert.equal(mock.records().length, 2);
    },
  );
  await withMock({ dialect: "vllm" }, async (mock) => {
    // vLLM-like servers answer under the asked name: only the first half of the warning.
    const config = runConfig(["-H", mock.url, "-m", "other", "--provider", "vllm"]);
    const facts = await inspectServer(config, await resolveTarget(config));
    assert.deepEqual(facts.warnings, [
      "other is not among the models the server lists: mock-model",
    ]);
  });
});

/** Serves `handler` on a free port of 127.0.0.1 and records every request's headers. */
function recordingServer(handler: (request: Request, url: string) => Response) {
  const seen: { path: string; headers: Record<string, string> }[] = [];
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (request): Response => {
    seen.push({
      path: new URL(request.url).pathname,
      headers: Object.fromEntries(request.headers),
    });
    return handler(request, `http://127.0.0.1:${server.addr.port}`);
  });
  return { server, seen, url: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("discovery refuses a redirect to another origin and sends it no credentials", async () => {
  const other = recordingServer(() => Response.json({ data: [{ id: "m", owned_by: "vllm" }] }));
  const origin = recordingServer(() =>
    new Response(null, { status: 302, headers: { location: `${other.url}/v1/models` } })
  );
  try {
    for (const transport of ["http1", "node", "fetch"]) {
      const config = runConfig([
        "-H",
        origin.url,
        "-k",
        "sk-secret",
        "--header",
        "X-Api-Key: k-secret",
        "--transport",
        transport,
      ]);
      await assert.rejects(() => resolveTarget(config), (error: Error) => {
        assert.ok(error instanceof UsageError, transport);
        assert.equal(
          error.message,
          `${origin.url}/v1/models redirects to ${other.url}/v1/models, another origin: llmload ` +
            `follows redirects within ${origin.url} only, so no credentials go there; pass ` +
            `-H/--host ${other.url} if that is the server`,
        );
        assert.doesNotMatch(error.message, /secret/);
        return true;
      });
      // With -m and --provider the run still inspects the server: the same refusal.
      const given = runConfig([
        "-H",
        origin.url,
        "-m",
        "m",
        "--provider",
        "vllm",
        "--header",
        "X-Api-Key: k-secret",
        "--transport",
        transport,
      ]);
      const resolved = await resolveTarget(given);
      await assert.rejects(() => inspectServer(given, resolved), UsageError);
    }
    assert.equal(other.seen.length, 0, "nothing, so no credential, reached the other origin");
    assert.ok(origin.seen.some((request) => request.headers["x-api-key"] === "k-secret"));
  } finally {
    await origin.server.shutdown();
    await other.server.shutdown();
  }
});

Deno.test("discovery follows a same-origin redirect and says so in one line", async () => {
  const origin = recordingServer((request, url) =>
    new URL(request.url).pathname === "/v1/models"
      ? new Response(null, { status: 307, headers: { location: "/api/v1/models" } })
      : Response.json({ data: [{ id: `m-at-${new URL(url).port}`, owned_by: "vllm" }] })
  );
  try {
    for (const transport of ["http1", "node", "fetch"]) {
      const lines: string[] = [];
      const target = await resolveTarget(
        runConfig(["-H", origin.url, "-k", "sk-secret", "--transport", transport]),
        { log: (line) => lines.push(line) },
      );
      assert.equal(target.provider, "vllm");
      assert.equal(target.model, `m-at-${new URL(origin.url).port}`);
      assert.deepEqual(lines, [
        `${origin.url}/v1/models redirects to ${origin.url}/api/v1/models (same origin): followed`,
      ]);
    }
    const followed = origin.seen.filter((request) => request.path === "/api/v1/models");
    assert.equal(followed.length, 3);
    assert.ok(followed.every((request) => request.headers.authorization === "Bearer sk-secret"));
  } finally {
    await origin.server.shutdown();
  }
});
