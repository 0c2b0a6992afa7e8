/**
 * NVIDIA Triton's generate extension (TensorRT-LLM ensemble or BLS models):
 * `/v2/models/{model}/generate` answers with one JSON body, `/generate_stream` with SSE events
 * `data: {"text_output": ...}`. It reports no token counts, so the local tokenizer counts the
 * text; a reply that repeats the prompt first (the ensemble's default) is cut back to the
 * generated part. No chat, no logprobs, one completion per request.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample } from "./types.ts";
import { createEchoTracker, parseObject, textOr, throwIfError } from "./_shared.ts";

/**
 * Builds the Triton generate provider. The body names the ensemble's inputs: `text_input`,
 * `max_tokens`, `temperature`, `stream`, and empty `bad_words`/`stop_words`, which TensorRT-LLM
 * ensembles require to be present.
 *
 * @example
 * ```ts
 * const triton = createTritonGenerateProvider({
 *   model: "ensemble", chat: false, stream: true, temperature: 1,
 * });
 * triton.request({ prompt: "Hi", maxTokens: 8 }).path; // "/v2/models/ensemble/generate_stream"
 * ```
 */
export function createTritonGenerateProvider(settings: ProviderOptions): Provider {
  const path = `/v2/models/${encodeURIComponent(settings.model)}/generate` +
    (settings.stream ? "_stream" : "");
  const echo = createEchoTracker();

  function request(sample: Sample) {
    if (!settings.stream) echo.sent(sample.prompt);
    const body = {
      text_input: sample.prompt,
      max_tokens: sample.maxTokens,
      temperature: settings.temperature,
      stream: settings.stream,
      bad_words: "",
      stop_words: "",
    };
    return { path, body: JSON.stringify(body), stream: settings.stream };
  }

  function textOf(data: string): string {
    const payload = parseObject(data);
    throwIfError(payload);
    if (typeof payload.text_output !== "string") {
      throw new Error(`Expected text_output, got ${data.slice(0, 80)}`);
    }
    return textOr(payload.text_output);
  }

  function parseEvent(data: string): Chunk {
    return { text: textOf(data), reasoning: "" };
  }

  function parseBody(body: string): Chunk {
    return { text: echo.strip(textOf(body)), reasoning: "" };
  }

  return { name: "triton-generate", framing: "sse", request, parseEvent, parseBody };
}
