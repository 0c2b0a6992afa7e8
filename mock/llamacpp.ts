/**
 * The mock server's llama.cpp native route, `POST /completion`, as `llama-server` answers it:
 * `n_predict` caps the length, `ignore_eos` keeps generating. A stream sends
 * `data: {"index", "content", "tokens", "stop": false, "id_slot"}` per token (plus
 * `completion_probabilities` with `n_probs`) and a last event with `stop: true`, `stop_type`,
 * `tokens_predicted`, `tokens_evaluated` and `timings`; there is no `[DONE]`. A body is that last
 * event with the whole `content`.
 *
 * @module
 */
import {
  asObject,
  type CountTokens,
  countWords,
  generatedText,
  JSON_TYPE,
  MOCK_WORDS,
  type ParsedRequest,
  readLength,
  SSE_TYPE,
  sseEvent,
  WORD_IDS,
  WORD_LOGPROBS,
} from "./wire.ts";

/** Length when a request gives no `n_predict` (llama.cpp's own default is unlimited). */
const DEFAULT_PREDICT = 128;

/** Probability entry of each word, as `completion_probabilities` lists it. */
const PROBABILITIES: readonly string[] = MOCK_WORDS.map((word, i) =>
  JSON.stringify({
    id: WORD_IDS[i],
    token: word,
    logprob: WORD_LOGPROBS[i],
    bytes: [...new TextEncoder().encode(word)],
    top_logprobs: [],
  })
);

/**
 * Reads a llama.cpp `/completion` request, or returns why it is invalid. `countTokens` counts the
 * prompt for `tokens_evaluated` (default: whitespace-separated words).
 */
export function parseLlamacppRequest(
  body: unknown,
  options: { model: string; countTokens?: CountTokens },
): ParsedRequest | string {
  const fields = asObject(body);
  if (typeof fields === "string") return fields;
  if (typeof fields.prompt !== "string") return '"prompt" must be provided';
  const maxTokens = readLength(
    fields.n_predict === -1 ? undefined : fields.n_predict,
    "n_predict",
    DEFAULT_PREDICT,
  );
  if (typeof maxTokens === "string") return maxTokens;
  const stream = fields.stream === true;
  const probs = typeof fields.n_probs === "number" && fields.n_probs > 0;
  const promptTokens = (options.countTokens ?? countWords)(fields.prompt);
  const model = JSON.stringify(options.model);
  return {
    model: options.model,
    maxTokens,
    stream,
    fullLength: fields.ignore_eos === true,
    promptKey: fields.prompt,
    promptParts: [fields.prompt],
    promptTokens,
    reply: (common) => {
      const n = common.tokens;
      const cached = common.cachedPromptTokens ?? 0;
      const event = (k: number) => {
        const i = k % MOCK_WORDS.length;
        const probabilities = probs ? `,"completion_probabilities":[${PROBABILITIES[i]}]` : "";
        return sseEvent(
          `{"index":0,"content":"${MOCK_WORDS[i]}","tokens":[${WORD_IDS[i]}],"stop":false,` +
            `"id_slot":0${probabilities}}`,
        );
      };
      const final = (content: string) =>
        `{"index":0,"content":${JSON.stringify(content)},"tokens":[],"id_slot":0,"stop":true,` +
        `"model":${model},"tokens_predicted":${n},"tokens_evaluated":${promptTokens},` +
        `"stop_type":"${common.finishReason === "length" ? "limit" : "eos"}","stopping_word":"",` +
        `"tokens_cached":${cached + n},"truncated":${common.truncated === true},` +
        `"timings":{"cache_n":${cached},"prompt_n":${promptTokens - cached},` +
        `"prompt_ms":1,"predicted_n":${n},"predicted_ms":1}}`;
      return {
        tokens: n,
        stream,
        contentType: stream ? SSE_TYPE : JSON_TYPE,
        streamParts: () => ({
          head: "",
          // An empty reply's one write is the final event alone.
          cycle: common.empty ? [""] : MOCK_WORDS.map((_, i) => event(i)),
          tail: sseEvent(final("")),
        }),
        tokenEvent: (k) => common.empty ? "" : event(k),
        json: () => final(common.empty ? "" : generatedText(n)),
      };
    },
  };
}

/** A llama.cpp error body: `{"error": {"code", "message", "type"}}`. */
export function llamacppErrorBody(message: string, status: number): string {
  return JSON.stringify({ error: { code: status, message, type: "invalid_request_error" } });
}
