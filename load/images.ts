/**
 * The images of `--images`: PNGs of the asked sizes, encoded once before the load by `fast-png`
 * and kept as base64 `data:` URLs, then handed out a few per request. Each image is seeded
 * noise, so it compresses as little as a photo and two images are never the same bytes (a
 * server that caches images by hash cannot skip the work).
 *
 * @module
 */
import { encode } from "fast-png";
import { dirname, resolve } from "node:path";
import { UsageError } from "../common/errors.ts";
import { fileErrorReason } from "../options/files.ts";
import type { ImageSize } from "../options/chat_parsers.ts";
import type { Random } from "./random.ts";

/**
 * One PNG of each size, filled with noise drawn from `random`, as `data:image/png;base64,...`.
 *
 * @example
 * ```ts
 * const [url] = createImages([{ width: 64, height: 64 }], createRandom(1));
 * url.startsWith("data:image/png;base64,"); // true
 * ```
 */
export function createImages(sizes: readonly ImageSize[], random: Random): string[] {
  return sizes.map(({ width, height }) => {
    const pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < pixels.length; i += 3) {
      const rgb = Math.floor(random.next() * 0x1000000);
      pixels[i] = rgb >> 16;
      pixels[i + 1] = (rgb >> 8) & 0xff;
      pixels[i + 2] = rgb & 0xff;
    }
    const png = encode({ width, height, data: pixels, channels: 3 });
    return `data:image/png;base64,${png.toBase64()}`;
  });
}

/**
 * Hands out `perRequest` images per call, taking the images in turn (request k gets images
 * `k·n, k·n+1, ...` modulo their number), so every size is sent equally often.
 */
export function createImagePicker(images: readonly string[], perRequest: number): () => string[] {
  let next = 0;
  return function pickImages() {
    const picked = new Array<string>(perRequest);
    for (let j = 0; j < perRequest; j++) {
      picked[j] = images[next];
      next = (next + 1) % images.length;
    }
    return picked;
  };
}

/** Media types of the image files a dataset row may name, by extension. */
const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

/**
 * The image files a row of `dataset` names (paths relative to the dataset's folder), read now,
 * before the run, as `data:` URLs of their media type. A file that cannot be read, or whose
 * extension is not an image's, is a `UsageError`.
 */
export function readImageFiles(paths: readonly string[], from: { dataset: string }): string[] {
  return paths.map((path) => {
    const full = resolve(dirname(from.dataset), path);
    const type = IMAGE_TYPES[full.slice(full.lastIndexOf(".") + 1).toLowerCase()];
    const problem = (why: string) =>
      new UsageError(`Cannot use --dataset '${from.dataset}': image '${path}' ${why}`);
    if (type === undefined) throw problem("is not a .png, .jpg, .jpeg, .gif or .webp file");
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(full);
    } catch (error) {
      throw problem(`cannot be read (${fileErrorReason(error)}), expected a readable image file`);
    }
    return `data:${type};base64,${bytes.toBase64()}`;
  });
}
