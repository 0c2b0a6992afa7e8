/**
 * NVIDIA Triton's KServe v2 inference protocol: `POST /v2/models/{model}/infer` with named input
 * tensors, one JSON reply with output tensors. It cannot stream (the run refuses streaming
 * before it starts), reports no token counts (the local tokenizer counts `text_output`), and a
 * reply that repeats the prompt is cut back to the generated part.
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample } from "./types.ts";
import { createEchoTracker, parseObject, throwIfError } from "./_shared.ts";

interface WireTensor {
  name?: string;
  data?: unknown[];
}

/**
 * Builds the Triton infer provider. Inputs follow the TensorRT-LLM ensemble: `text_input`
 * (BYTES), `max_tokens` (INT32; very old ensembles declared UINT32), `bad_words` and
 * `stop_words` (empty BYTES), `temperature` (FP32), each of shape `[1, 1]`.
 *
 * @example
 * ```ts
 * const triton = createTritonInferProvider({
 *   model: "ensemble", chat: false, stream: false, temperature: 1,
 * });
 * triton.request({ prompt: "Hi", maxTokens: 8 }).path; // "/v2/models/ensemble/infer"
 * ```
 */
export function createTritonInferProvider(settings: ProviderOptions): Provider {
  if (settings.stream) {
    throw new Error("triton-infer cannot stream: the KServe v2 infer API has no streaming");
  }
  const path = `/v2/models/${encodeURIComponent(settings.model)}/infer`;
  const echo = createEchoTracker();

  function request(sample: Sample) {
    echo.sent(sample.prompt);
    const body = {
      inputs: [
        tensor("text_input", "BYTES", sample.prompt),
        tensor("max_tokens", "INT32", sample.maxTokens),
        tensor("bad_words", "BYTES", ""),
        tensor("stop_words", "BYTES", ""),
        tensor("temperature", "FP32", settings.temperature),
      ],
    };
    return { path, body: JSON.stringify(body), stream: false };
  }

  function parseEvent(): Chunk {
    throw new Error("triton-infer replies are never streamed");
  }

  function parseBody(body: string): Chunk {
    const reply = parseObject(body);
    throwIfError(reply);
    const outputs = Array.isArray(reply.outputs) ? reply.outputs as WireTensor[] : [];
    const output = outputs.find((entry) => entry?.name === "text_output");
    // KServe v2 allows the data of a [1, 1] tensor flat (["x"]) or nested ([["x"]]).
    const value = output?.data?.flat(Infinity)[0];
    if (typeof value !== "string") {
      throw new Error(`Expected a text_output tensor, got ${body.slice(0, 80)}`);
    }
    return { text: echo.strip(value), reasoning: "" };
  }

  return { name: "triton-infer", framing: "sse", request, parseEvent, parseBody };
}

function tensor(name: string, datatype: string, value: string | number) {
  return { name, datatype, shape: [1, 1], data: [[value]] };
}
