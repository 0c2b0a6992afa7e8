/**
 * Value parser of `--images WxH[,WxH...]`, the sizes of the images generated for chat requests.
 * Pure; throws `Rejected` with the accepted forms, as `options/parsers.ts`.
 *
 * @module
 */
import { Rejected } from "./parsers.ts";

/** Largest width or height of a generated image, in pixels. */
export const MAX_IMAGE_SIDE = 8192;

/** One image size, in pixels. */
export interface ImageSize {
  /** Width in pixels, 1 to {@link MAX_IMAGE_SIDE}. */
  readonly width: number;
  /** Height in pixels, 1 to {@link MAX_IMAGE_SIDE}. */
  readonly height: number;
}

const SIZE = /^(\d+)x(\d+)$/i;

/**
 * Parses a comma-separated list of `WxH` sizes (`512x512,1024x768`).
 *
 * @example
 * ```ts
 * imageSizes("512x512,64x32"); // [{ width: 512, height: 512 }, { width: 64, height: 32 }]
 * ```
 */
export function imageSizes(value: string | boolean): readonly ImageSize[] {
  const expected = `sizes WxH[,WxH...] of 1 to ${MAX_IMAGE_SIDE} pixels a side, such as ` +
    `512x512 or 512x512,1024x768`;
  if (typeof value !== "string" || value.trim() === "") throw new Rejected(expected);
  return value.split(",").map((part) => {
    const match = SIZE.exec(part.trim());
    const width = Number(match?.[1]);
    const height = Number(match?.[2]);
    const fits = (side: number) => side >= 1 && side <= MAX_IMAGE_SIDE;
    if (match === null || !fits(width) || !fits(height)) throw new Rejected(expected);
    return { width, height };
  });
}
