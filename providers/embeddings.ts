/**
 * The OpenAI embeddings dialect (`POST /v1/embeddings`), which vLLM, SGLang, llama.cpp, Ollama,
 * Together, Fireworks and Hugging Face TEI's OpenAI route all speak: a batch of inputs in, one
 * vector per input and the prompt tokens in `usage` out. Never streamed.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample } from "./types.ts";
import { numberOr, parseObject, throwIfError, usageOf } from "./_shared.ts";

/**
 * Builds an embeddings provider under the dialect's name. Each request embeds the sample's
 * `inputs` (its prompt alone when it has none) as floats, with `dimensions` when asked for.
 *
 * @example
 * ```ts
 * const provider = createEmbeddingsProvider({ model: "m", chat: false, stream: false, temperature: 0 }, "vllm");
 * provider.request({ prompt: "", inputs: ["a", "b"], maxTokens: 0 }).path; // "/v1/embeddings"
 * ```
 */
export function createEmbeddingsProvider(options: ProviderOptions, name: string): Provider {
  const dimensions = options.dimensions === undefined ? {} : { dimensions: options.dimensions };

  function request(sample: Sample) {
    const body = {
      model: options.model,
      input: sample.inputs ?? [sample.prompt],
      encoding_format: "float",
      ...dimensions,
    };
    return { path: "/v1/embeddings", body: JSON.stringify(body), stream: false };
  }

  return {
    name,
    framing: "sse",
    request,
    parseEvent: notStreamed,
    parseBody: parseEmbeddingsBody,
  };
}

/**
 * Reads an embeddings reply: `data` must hold one entry per input with its `embedding` (floats,
 * or a base64 string); prompt tokens come from `usage.prompt_tokens`, and no tokens are
 * generated. Throws on any other body, quoting a server's error report.
 */
export function parseEmbeddingsBody(body: string): Chunk {
  const payload = parseObject(body);
  throwIfError(payload);
  const data = payload.data;
  if (!Array.isArray(data) || data.length === 0) {
    throw new Error(`Expected embeddings in data[], got ${body.slice(0, 80)}`);
  }
  for (const entry of data) {
    const vector = (entry as { embedding?: unknown } | null)?.embedding;
    if (!Array.isArray(vector) && typeof vector !== "string") {
      throw new Error(`Expected an embedding in each data[] entry, got ${body.slice(0, 80)}`);
    }
  }
  const usage = payload.usage as { prompt_tokens?: unknown } | undefined;
  return {
    text: "",
    reasoning: "",
    usage: usageOf(numberOr(usage?.prompt_tokens), 0),
  };
}

/** The parser of streamed events of a dialect that never streams. */
export function notStreamed(): never {
  throw new Error("This API does not stream: its reply is one JSON body");
}
