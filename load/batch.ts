/**
 * The texts of one embeddings or rerank request: several prompts drawn at once (`--mode
 * embeddings` sends `--embeddings-batch-size` inputs, `--mode rerank` `--num-documents`
 * documents), gathered into one sample with their summed local token count. Pure.
 *
 * @module
 */
import type { Sample } from "../providers/types.ts";

/** One drawn prompt and its tokens by the local tokenizer, when known. */
export interface DrawnText {
  /** The drawn sample; its `prompt` is the text. */
  readonly sample: Sample;
  /** Its tokens by the local tokenizer. */
  readonly promptTokens?: number;
}

/**
 * Draws `size` prompts into one sample whose `inputs` they are (`maxTokens` 0: nothing is
 * generated), with the sum of their local token counts, or `undefined` when any is unknown.
 *
 * @example
 * ```ts
 * const batch = drawBatch(() => ({ sample: { prompt: "hi", maxTokens: 0 }, promptTokens: 1 }), 4);
 * batch.sample.inputs?.length; // 4
 * batch.promptTokens; // 4
 * ```
 */
export function drawBatch(
  draw: () => DrawnText,
  size: number,
): { sample: Sample; promptTokens?: number } {
  const inputs = new Array<string>(size);
  let tokens: number | undefined = 0;
  for (let i = 0; i < size; i++) {
    const drawn = draw();
    inputs[i] = drawn.sample.prompt;
    tokens = tokens === undefined || drawn.promptTokens === undefined
      ? undefined
      : tokens + drawn.promptTokens;
  }
  return { sample: { prompt: inputs[0] ?? "", inputs, maxTokens: 0 }, promptTokens: tokens };
}
