/**
 * The mock server's `/v1/embeddings` route, as vLLM and OpenAI answer it: one vector per input,
 * of the asked `dimensions` (default {@link MOCK_EMBEDDING_DIMENSIONS}), deterministic in the
 * input's text and of unit length, and `usage.prompt_tokens` summed over the inputs. Pure.
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

/** Dimensions of the mock's embeddings when a request asks for none. */
export const MOCK_EMBEDDING_DIMENSIONS = 64;

/**
 * Reads an embeddings request (`input`: a string or a non-empty array of strings, `dimensions`
 * optional), or returns why it is invalid.
 */
export function parseEmbeddingsRequest(
  body: unknown,
  options: TextRouteOptions,
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  const named = requestModel(fields, options.models);
  if (typeof named === "string") return named;
  const input = typeof fields.input === "string" ? [fields.input] : nonEmptyTexts(fields.input);
  if (input === undefined) {
    return "Cannot read input: expected a string or a non-empty array of strings";
  }
  const dimensions = readLength(fields.dimensions, "dimensions", MOCK_EMBEDDING_DIMENSIONS);
  if (typeof dimensions === "string") return dimensions;
  const counts = input.map((text) => options.countTokens(text));
  const promptTokens = counts.reduce((sum, count) => sum + count, 0);
  const { model } = named;
  return {
    model,
    maxTokens: 0,
    stream: false,
    fullLength: true,
    promptTokens,
    contextTokens: Math.max(...counts),
    inputs: input.length,
    reply: () =>
      jsonReply(JSON.stringify({
        object: "list",
        data: input.map((text, index) => ({
          object: "embedding",
          index,
          embedding: mockEmbedding(text, dimensions),
        })),
        model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      })),
  };
}

/** The mock's embedding of `text`: `dimensions` numbers fixed by the text, of unit length. */
export function mockEmbedding(text: string, dimensions: number): number[] {
  const hash = textHash(text);
  const vector = Array.from({ length: dimensions }, (_, i) => hashedUnit(hash, i) * 2 - 1);
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
  return vector.map((value) => Math.round((value / norm) * 1e6) / 1e6);
}
