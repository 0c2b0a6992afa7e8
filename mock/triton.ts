/**
 * The mock server's Triton routes, as a TensorRT-LLM ensemble answers them:
 * `POST /v2/models/{model}/generate` and `/generate_stream` (the generate extension: a JSON body
 * `{"text_input", "max_tokens", ...}`, replies with `text_output`, streams as SSE events of
 * `{"model_name", "model_version", "text_output", ...}` with no end marker), and
 * `POST /v2/models/{model}/infer` (KServe v2 tensors in and out). Non-streamed replies repeat the
 * prompt before the generated text, as an ensemble without `exclude_input_in_output` does.
 * Nothing reports token counts.
 *
 * @module
 */
import {
  asObject,
  generatedText,
  JSON_TYPE,
  MOCK_WORDS,
  type MockReply,
  type ParsedRequest,
  readLength,
  SSE_TYPE,
  sseEvent,
} from "./wire.ts";

/** Length when a request gives no `max_tokens`. */
const DEFAULT_MAX_TOKENS = 128;

/** Reads a Triton generate request, or returns why it is invalid. */
export function parseTritonGenerate(
  body: unknown,
  options: { stream: boolean; model: string },
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  if (typeof fields.text_input !== "string") {
    return "expected 'text_input' in the request";
  }
  const maxTokens = readLength(fields.max_tokens, "max_tokens", DEFAULT_MAX_TOKENS);
  if (typeof maxTokens === "string") return maxTokens;
  const prompt = fields.text_input;
  const stream = options.stream;
  return {
    model: options.model,
    maxTokens,
    stream,
    fullLength: false,
    reply: (common) => {
      const head = `{"model_name":${JSON.stringify(options.model)},"model_version":"1",` +
        `"sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":`;
      return {
        tokens: common.tokens,
        stream,
        contentType: stream ? SSE_TYPE : JSON_TYPE,
        streamParts: () => ({
          head: "",
          cycle: MOCK_WORDS.map((word) => sseEvent(`${head}"${word}"}`)),
          tail: "",
        }),
        tokenEvent: (k) => sseEvent(`${head}"${MOCK_WORDS[k % MOCK_WORDS.length]}"}`),
        json: () => `${head}${JSON.stringify(prompt + generatedText(common.tokens))}}`,
      };
    },
  };
}

interface Tensor {
  name?: unknown;
  data?: unknown;
}

/** Reads a KServe v2 infer request with TensorRT-LLM's inputs, or returns why it is invalid. */
export function parseTritonInfer(
  body: unknown,
  options: { model: string },
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  if (!Array.isArray(fields.inputs)) return "expected an 'inputs' array in the request";
  const inputs = fields.inputs as Tensor[];
  const value = (name: string) => {
    const tensor = inputs.find((input) => input?.name === name);
    return Array.isArray(tensor?.data) ? tensor.data.flat(Infinity)[0] : undefined;
  };
  const prompt = value("text_input");
  if (typeof prompt !== "string") return "expected a BYTES input 'text_input'";
  const maxTokens = readLength(value("max_tokens"), "max_tokens", DEFAULT_MAX_TOKENS);
  if (typeof maxTokens === "string") return maxTokens;
  const model = JSON.stringify(options.model);
  return {
    model: options.model,
    maxTokens,
    stream: false,
    fullLength: false,
    reply: (common): MockReply => ({
      tokens: common.tokens,
      stream: false,
      contentType: JSON_TYPE,
      streamParts: () => ({ head: "", cycle: null, tail: "" }),
      tokenEvent: () => "",
      json: () =>
        `{"model_name":${model},"model_version":"1","outputs":[{"name":"text_output",` +
        `"datatype":"BYTES","shape":[1,1],` +
        `"data":[${JSON.stringify(prompt + generatedText(common.tokens))}]}]}`,
    }),
  };
}

/** A Triton error body: `{"error": "..."}`. */
export function tritonErrorBody(message: string): string {
  return JSON.stringify({ error: message });
}
