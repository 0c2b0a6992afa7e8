/**
 * The rerank dialect (`POST /v1/rerank`) as Cohere, Jina, vLLM, llama.cpp and TEI-style servers
 * define it: a query and documents in (`top_n` optional), `results[{index, relevance_score}]`
 * out, best first. Never streamed.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample } from "./types.ts";
import { numberOr, parseObject, throwIfError, usageOf } from "./_shared.ts";
import { notStreamed } from "./embeddings.ts";

/**
 * Builds a rerank provider under the dialect's name. Each request ranks the sample's `inputs`
 * (its prompt alone when it has none) against `options.query`, asking for `top_n` when given.
 *
 * @example
 * ```ts
 * const provider = createRerankProvider(
 *   { model: "m", chat: false, stream: false, temperature: 0, query: "q" },
 *   "vllm",
 * );
 * provider.request({ prompt: "", inputs: ["a", "b"], maxTokens: 0 }).path; // "/v1/rerank"
 * ```
 */
export function createRerankProvider(options: ProviderOptions, name: string): Provider {
  const topN = options.topN === undefined ? {} : { top_n: options.topN };

  function request(sample: Sample) {
    const body = {
      model: options.model,
      query: options.query ?? "",
      documents: sample.inputs ?? [sample.prompt],
      ...topN,
    };
    return { path: "/v1/rerank", body: JSON.stringify(body), stream: false };
  }

  return { name, framing: "sse", request, parseEvent: notStreamed, parseBody: parseRerankBody };
}

/**
 * Reads a rerank reply: `results` must be entries with a numeric `index` and `relevance_score`;
 * prompt tokens come from `usage.prompt_tokens`, else `usage.total_tokens` (vLLM and Jina count
 * only the input), and no tokens are generated. Throws on any other body, quoting a server's
 * error report.
 */
export function parseRerankBody(body: string): Chunk {
  const payload = parseObject(body);
  throwIfError(payload);
  const results = payload.results;
  if (!Array.isArray(results)) {
    throw new Error(`Expected results[] in the rerank reply, got ${body.slice(0, 80)}`);
  }
  for (const result of results) {
    const entry = result as { index?: unknown; relevance_score?: unknown } | null;
    if (numberOr(entry?.index) === undefined || numberOr(entry?.relevance_score) === undefined) {
      throw new Error(
        `Expected index and relevance_score in each results[] entry, got ${body.slice(0, 80)}`,
      );
    }
  }
  const usage = payload.usage as { prompt_tokens?: unknown; total_tokens?: unknown } | undefined;
  const prompt = numberOr(usage?.prompt_tokens) ?? numberOr(usage?.total_tokens);
  return { text: "", reasoning: "", usage: usageOf(prompt, 0) };
}
