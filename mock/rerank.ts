/**
 * The mock server's `/v1/rerank` route, as vLLM and Jina answer it: each document scored
 * against the query (a deterministic score in (0, 1) fixed by both texts), `results` best first,
 * cut to `top_n` when asked, and `usage` counting the query once per document, as a
 * cross-encoder reads each query and document pair. Pure.
 *
 * @module
 */
import {
  asObject,
  hashedUnit,
  jsonReply,
  nonEmptyTexts,
  type ParsedRequest,
  readLength,
  requestModel,
  textHash,
  type TextRouteOptions,
} from "./wire.ts";

/**
 * Reads a rerank request (`query` a string, `documents` a non-empty array of strings, `top_n`
 * optional), or returns why it is invalid.
 */
export function parseRerankRequest(
  body: unknown,
  options: TextRouteOptions,
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  const named = requestModel(fields, options.models);
  if (typeof named === "string") return named;
  const query = fields.query;
  if (typeof query !== "string") return "Cannot read query: expected a string";
  const documents = nonEmptyTexts(fields.documents);
  if (documents === undefined) {
    return "Cannot read documents: expected a non-empty array of strings";
  }
  const topN = readLength(fields.top_n, "top_n", documents.length);
  if (typeof topN === "string") return topN;
  const queryTokens = options.countTokens(query);
  const pairs = documents.map((text) => queryTokens + options.countTokens(text));
  const promptTokens = pairs.reduce((sum, count) => sum + count, 0);
  const { model } = named;
  return {
    model,
    maxTokens: 0,
    stream: false,
    fullLength: true,
    promptTokens,
    contextTokens: Math.max(...pairs),
    documents: documents.length,
    reply: (common) =>
      jsonReply(JSON.stringify({
        id: common.id,
        model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
        results: rankDocuments(query, documents).slice(0, topN),
      })),
  };
}

/** Every document's index and score against `query`, best first (ties in document order). */
export function rankDocuments(
  query: string,
  documents: readonly string[],
): { index: number; relevance_score: number }[] {
  return documents
    .map((text, index) => ({ index, relevance_score: hashedUnit(textHash(`${query}\n${text}`)) }))
    .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
}
