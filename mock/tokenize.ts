/**
 * The mock's `POST /tokenize`, in the shape of each server that has one, told apart by the
 * request body (the mock serves every dialect at once): llama.cpp (`{"content", "add_special"}`
 * → `{"tokens": [...]}`), vLLM and SGLang (`{"model", "prompt", "add_special_tokens"}` →
 * `{"count", "tokens", "max_model_len"}`) and TGI (`{"inputs"}` → `[{"id", "text", "start",
 * "stop"}]`). Counts use the mock's tokenizer, with the special tokens it adds (BOS) where the
 * server adds them: by default on vLLM, SGLang and TGI, only with `add_special: true` on
 * llama.cpp, as those servers do.
 *
 * @module
 */
import type { Tokenizer } from "../load/tokenizer.ts";

/** The context length the mock reports to vLLM-style clients. */
const MAX_MODEL_LEN = 131_072;

/** Stands for each special token the tokenizer adds (the mock does not track their ids). */
const SPECIAL_ID = 1;

/** A reply of the tokenize route: status and JSON body. */
export interface TokenizeReply {
  /** HTTP status. */
  readonly status: number;
  /** JSON body. */
  readonly body: string;
}

/**
 * Answers one tokenize request, or says with a 400 why it cannot.
 *
 * @example
 * ```ts
 * tokenizeReply({ content: "Pad Pad", add_special: true }, tokenizer).body; // {"tokens":[1,…]}
 * ```
 */
export function tokenizeReply(body: unknown, tokenizer: Tokenizer): TokenizeReply {
  const fields = (typeof body === "object" && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  if (typeof fields.content === "string") {
    const ids = idsOf(tokenizer, fields.content, fields.add_special === true);
    return ok({ tokens: ids });
  }
  if (typeof fields.prompt === "string") {
    const ids = idsOf(tokenizer, fields.prompt, fields.add_special_tokens !== false);
    return ok({ count: ids.length, max_model_len: MAX_MODEL_LEN, tokens: ids });
  }
  if (typeof fields.inputs === "string") {
    const ids = idsOf(tokenizer, fields.inputs, true);
    let start = 0;
    return ok(ids.map((id, i) => {
      const text = i < tokenizer.specialTokens ? "" : tokenizer.decode([id]);
      const token = { id, text, start, stop: start + text.length };
      start += text.length;
      return token;
    }));
  }
  return {
    status: 400,
    body: JSON.stringify({
      error: "Expected a JSON body with content (llama.cpp), prompt (vLLM, SGLang) or inputs (TGI)",
    }),
  };
}

function idsOf(tokenizer: Tokenizer, text: string, special: boolean): number[] {
  const specials = special ? new Array<number>(tokenizer.specialTokens).fill(SPECIAL_ID) : [];
  return [...specials, ...tokenizer.encode(text)];
}

function ok(body: unknown): TokenizeReply {
  return { status: 200, body: JSON.stringify(body) };
}
