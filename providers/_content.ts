/**
 * A user message's text and images as an ordered list of parts, which each API then spells its
 * own way (chat `image_url` parts, responses `input_image` parts). Private to `providers/`.
 *
 * @module
 */
import type { ChatMessage, ImagesPosition, Sample } from "./types.ts";

/** One part of a user message: a piece of text or one image's `data:` URL. */
export type ContentPart = { readonly text: string } | { readonly image: string };

/**
 * The parts of a message of `text` with `images`: `before` puts every image ahead of the text,
 * `after` behind it, `interleave` cuts the text at word boundaries into one more piece than
 * there are images, of about equal length, with one image between each two.
 *
 * @example
 * ```ts
 * contentParts("a b", ["data:1"], "interleave"); // [{ text: "a" }, { image: "data:1" }, { text: " b" }]
 * ```
 */
export function contentParts(
  text: string,
  images: readonly string[],
  position: ImagesPosition = "before",
): ContentPart[] {
  const pictures = images.map((image) => ({ image }));
  if (position === "before") return [...pictures, { text }];
  if (position === "after") return [{ text }, ...pictures];
  const pieces = cutText(text, images.length + 1);
  return pieces.flatMap((piece, i) => (i < pictures.length ? [{ text: piece }, pictures[i]] : [{
    text: piece,
  }]));
}

/**
 * The messages of a sample (its history, or its prompt as one user message), with its images
 * in the last user message as parts that `spell` writes the way the API takes them.
 */
export function messagesWithImages(
  sample: Sample,
  position: ImagesPosition | undefined,
  spell: (part: ContentPart) => unknown,
): readonly unknown[] {
  const messages: readonly ChatMessage[] = sample.messages ??
    [{ role: "user", content: sample.prompt }];
  const images = sample.images;
  if (images === undefined || images.length === 0) return messages;
  const last = messages.findLastIndex((message) => message.role === "user");
  return messages.map((message, i) =>
    i !== last
      ? message
      : { role: message.role, content: contentParts(message.content, images, position).map(spell) }
  );
}

/** `text` cut into `count` pieces of about equal length, each cut at the space nearest its mark. */
function cutText(text: string, count: number): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (let i = 1; i < count; i++) {
    const target = Math.max(from, Math.round((text.length * i) / count));
    const after = text.indexOf(" ", target);
    const before = text.lastIndexOf(" ", target);
    const cut = before > from && (after === -1 || target - before <= after - target)
      ? before
      : after === -1
      ? text.length
      : after;
    pieces.push(text.slice(from, cut));
    from = cut;
  }
  pieces.push(text.slice(from));
  return pieces;
}
