/**
 * Images in the mock's chat and responses requests: how many image parts a request carries
 * (`image_url` in chat content, `input_image` in Responses API input) and the prompt tokens the
 * mock counts for each. Pure.
 *
 * @module
 */

/**
 * Prompt tokens the mock adds for each image, whatever its size: the 85 tokens OpenAI charges
 * for a low-detail image. A real server's count depends on the size and the model.
 */
export const IMAGE_TOKENS = 85;

const IMAGE_PART_TYPES: ReadonlySet<unknown> = new Set(["image_url", "input_image"]);

/** Image parts in chat `messages` or Responses API `input` (a string input has none). */
export function countImageParts(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let images = 0;
  for (const message of messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      if (IMAGE_PART_TYPES.has((part as { type?: unknown } | null)?.type)) images++;
    }
  }
  return images;
}
