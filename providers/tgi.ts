/**
 * Hugging Face Text Generation Inference (TGI). Completions use its native routes: `/generate`
 * (one JSON body) and `/generate_stream` (SSE, one token per event, the last one carrying
 * `generated_text` and `details`). `--chat` uses TGI's OpenAI-compatible Messages API at
 * `/v1/chat/completions`. TGI has no way to ignore the end-of-sequence token. `POST /tokenize`
 * (`{"inputs"}` → `[{"id", "text", "start", "stop"}]`) counts for `--tokenizer server`; it
 * always adds the special tokens a prompt gets, so it cannot count output text bare (TGI reports
 * generated tokens itself, so output counts never need it).
 *
 * @module
 */
import type { Chunk, Provider, ProviderOptions, Sample, TokenizeSpec } from "./types.ts";
import {
  type ContextSource,
  numberOr,
  parseObject,
  type Payload,
  textOr,
  throwIfError,
  usageOf,
} from "./_shared.ts";

/**
 * TGI's `GET /info`: `max_total_tokens` bounds prompt + `max_new_tokens`, `max_input_tokens`
 * (before TGI 2.0 `max_input_length`) the prompt alone.
 */
export const TGI_CONTEXT: readonly ContextSource[] = [
  { path: "/info", field: ["max_total_tokens"], bounds: "total", kind: "limit" },
  { path: "/info", field: ["max_input_tokens"], bounds: "prompt", kind: "limit" },
  { path: "/info", field: ["max_input_length"], bounds: "prompt", kind: "limit" },
];
import { createOpenAIProvider } from "./openai.ts";
import { fastPath, ignored, object, PLAIN } from "./_fast_json.ts";

interface WireToken {
  text?: string;
  special?: boolean;
}

interface WireDetails {
  generated_tokens?: number;
  input_length?: number;
  prefill?: unknown[];
  tokens?: unknown[];
}

/**
 * Builds the TGI provider. Requests send `parameters.max_new_tokens` and `details: true` (the
 * final count comes back in `details.generated_tokens`); a temperature of 0 is sent as greedy
 * decoding because TGI rejects a temperature that is not strictly positive. `--logprobs N` asks
 * for `top_n_tokens`.
 *
 * @example
 * ```ts
 * const tgi = createTgiProvider({ model: "tgi", chat: false, stream: true, temperature: 1 });
 * tgi.request({ prompt: "Hi", maxTokens: 8 }).path; // "/generate_stream"
 * ```
 */
export function createTgiProvider(settings: ProviderOptions): Provider {
  if (settings.chat) {
    return { ...createOpenAIProvider(settings, { name: "tgi" }), tokenize: TGI_TOKENIZE };
  }
  const path = settings.stream ? "/generate_stream" : "/generate";
  const sampling = settings.temperature > 0
    ? { do_sample: true, temperature: settings.temperature }
    : { do_sample: false };
  const topTokens = settings.logprobs ? { top_n_tokens: settings.logprobs } : {};

  function request(sample: Sample) {
    const body = {
      inputs: sample.prompt,
      parameters: {
        max_new_tokens: sample.maxTokens,
        ...sampling,
        details: true,
        ...topTokens,
      },
    };
    return { path, body: JSON.stringify(body), stream: settings.stream };
  }

  function parseEvent(data: string): Chunk | null {
    const event = parseObject(data);
    throwIfError(event);
    const token = event.token as WireToken | undefined;
    if (token === undefined || token === null) {
      throw new Error(`Expected a token event, got ${data.slice(0, 80)}`);
    }
    const details = event.details as WireDetails | null | undefined;
    return {
      // The end-of-sequence token arrives as a special token ("</s>"): generated, not text.
      text: token.special ? "" : textOr(token.text),
      reasoning: "",
      logprobTokens: 1,
      usage: details ? usageOf(details.input_length, details.generated_tokens) : undefined,
    };
  }

  function parseBody(body: string): Chunk {
    const reply: Payload = parseObject(body);
    throwIfError(reply);
    if (typeof reply.generated_text !== "string") {
      throw new Error(`Expected generated_text, got ${body.slice(0, 80)}`);
    }
    const details = reply.details as WireDetails | null | undefined;
    const prefill = details?.prefill?.length ? details.prefill.length : undefined;
    return {
      text: reply.generated_text,
      reasoning: "",
      logprobTokens: Array.isArray(details?.tokens) ? details.tokens.length : undefined,
      usage: details
        ? usageOf(numberOr(details.input_length) ?? prefill, details.generated_tokens)
        : undefined,
    };
  }

  return {
    name: "tgi",
    framing: "sse",
    request,
    parseEvent,
    fastEvent: tgiFastEvent,
    parseBody,
    tokenize: TGI_TOKENIZE,
  };
}

/**
 * TGI's fast path: a token event, `{"index":1,"token":{"id":…,"text":" Blue","logprob":…,
 * "special":false},"generated_text":null,"details":null}`, matched (see `_fast_json.ts`); the
 * last event (with `details`), special tokens and errors go to the full parse.
 */
const tgiFastEvent = fastPath(
  object(
    `"token":${object(`"text":${PLAIN}`, [ignored(["text", "special"]), '"special":false'])}`,
    [ignored(["token", "details", "error"]), '"details":null'],
  ),
  (match): Chunk => ({ text: match[1], reasoning: "", logprobTokens: 1, usage: undefined }),
);

const TGI_TOKENIZE: TokenizeSpec = {
  path: "/tokenize",
  body: (text) => JSON.stringify({ inputs: text }),
  count(reply) {
    if (!Array.isArray(reply)) throw new Error("Expected an array of tokens in the reply");
    return reply.length;
  },
};
