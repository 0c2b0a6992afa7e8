import assert from "node:assert/strict";
import { createProvider } from "../providers/mod.ts";
import { runRequest } from "../request/run_request.ts";
import type { RequestContext } from "../request/run_request.ts";
import { createTransport } from "../transport/mod.ts";
import { loadTokenizer } from "../load/tokenizer.ts";
import type { Provider } from "../providers/types.ts";
import type { RequestRecord } from "../request/types.ts";
import { withMock } from "./_harness.ts";

/** The provider with every `usage` removed, as a server that never reports it. */
function withoutUsage(provider: Provider): Provider {
  return {
    ...provider,
    // Its fast path would bypass the wrapper: every event takes the full parse.
    fastEvent: undefined,
    parseEvent(data) {
      const chunk = provider.parseEvent(data);
      return chunk && { ...chunk, usage: undefined };
    },
    parseBody: (body) => ({ ...provider.parseBody(body), usage: undefined }),
  };
}

async function measure(
  url: string,
  provider: Provider,
  maxTokens: number,
): Promise<RequestRecord> {
  const tokenizer = await loadTokenizer("o200k_base");
  const transport = createTransport("node");
  const context: RequestContext = {
    provider,
    transport,
    host: url,
    headers: { "content-type": "application/json" },
    timeoutMs: 10_000,
    localPromptTokens: 99,
    countTokens: (text) => Promise.resolve(tokenizer.count(text)),
  };
  try {
    const outcome = await runRequest(context, { prompt: "one two three", maxTokens });
    assert.ok(outcome.ok, outcome.ok ? "" : outcome.failure.message);
    return outcome.record;
  } finally {
    transport.close();
  }
}

Deno.test("output tokens come from usage, else logprobs, else the local tokenizer", async () => {
  await withMock({ ttftMs: 0, itlMs: 1 }, async (mock) => {
    const settings = { model: "mock-model", chat: false, stream: true, temperature: 1 };
    const logprobs = createProvider("vllm", { ...settings, logprobs: 0 });
    const usage = await measure(mock.url, logprobs, 7);
    assert.deepEqual([usage.outputTokens, usage.tokenSource, usage.promptTokens], [7, "usage", 3]);
    const fromLogprobs = await measure(mock.url, withoutUsage(logprobs), 7);
    assert.deepEqual(
      [fromLogprobs.outputTokens, fromLogprobs.tokenSource, fromLogprobs.promptTokens],
      [7, "logprobs", 99],
      "without usage the server's prompt count is unknown: the local count stands in",
    );
    const plain = withoutUsage(createProvider("vllm", settings));
    const fromTokenizer = await measure(mock.url, plain, 7);
    assert.deepEqual([fromTokenizer.outputTokens, fromTokenizer.tokenSource], [7, "tokenizer"]);
  });
});

Deno.test("usage wins over one-token-per-event counting (TGI) and over the tokenizer", async () => {
  await withMock({ ttftMs: 0, itlMs: 1, stopEarly: true, seed: 2 }, async (mock) => {
    const tgi = createProvider("tgi", { model: "tgi", chat: false, stream: true, temperature: 1 });
    const record = await measure(mock.url, tgi, 40);
    assert.equal(record.tokenSource, "usage");
    assert.ok(record.outputTokens < 40, "TGI stopped early and its details say how many");
    const events = await measure(mock.url, withoutUsage(tgi), 40);
    assert.equal(events.tokenSource, "logprobs", "each TGI event is exactly one token");
    assert.ok(events.outputTokens < 40);
  });
});

Deno.test("--show-response's hook receives each reply's generated text", async () => {
  await withMock({ ttftMs: 0, itlMs: 1 }, async (mock) => {
    const shown: string[] = [];
    const transport = createTransport("fetch");
    const provider = createProvider("vllm", {
      model: "mock-model",
      chat: true,
      stream: true,
      temperature: 1,
    });
    try {
      const outcome = await runRequest({
        provider,
        transport,
        host: mock.url,
        headers: { "content-type": "application/json" },
        timeoutMs: 10_000,
        countTokens: () => Promise.resolve(0),
        onResponse: (text) => shown.push(text),
      }, { prompt: "p", maxTokens: 3 });
      assert.ok(outcome.ok);
      assert.deepEqual(shown, [" the of and"]);
    } finally {
      transport.close();
    }
  });
});
