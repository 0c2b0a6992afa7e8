/**
 * Reading the text files options name (`--config`, `--prompt-text @file`): strict UTF-8, and a
 * short reason when reading fails, for a usage error.
 *
 * @module
 */

/** A file that is not valid UTF-8, with the offset of its first bad byte. */
export class InvalidUtf8Error extends Error {
  /** Always `"InvalidUtf8Error"`. */
  override name = "InvalidUtf8Error";
  /** Offset in bytes of the first byte that is not part of valid UTF-8. */
  readonly offset: number;

  /** An error for the bad byte at `offset`. */
  constructor(offset: number) {
    super(`not UTF-8 text: invalid byte at offset ${offset}`);
    this.offset = offset;
  }
}

/**
 * Reads a UTF-8 text file. Unlike `Deno.readTextFileSync`, which turns bad bytes into U+FFFD
 * and so would send a prompt the user never wrote, throws an {@link InvalidUtf8Error} naming
 * the offset of the first bad byte. A leading byte order mark is dropped.
 */
export function readUtf8File(path: string): string {
  const bytes = Deno.readFileSync(path);
  const offset = invalidUtf8Offset(bytes);
  if (offset !== undefined) throw new InvalidUtf8Error(offset);
  return new TextDecoder().decode(bytes);
}

/** Offset of the first byte of `bytes` that is not valid UTF-8 (Unicode table 3-7), if any. */
export function invalidUtf8Offset(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    // Length of the sequence and the range of its second byte; the others are 80..BF.
    let length = 0;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const byte = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return i + k;
    }
    i += length;
  }
  return undefined;
}

/** A short reason why reading a file failed, for a `UsageError` message. */
export function fileErrorReason(error: unknown): string {
  if (error instanceof InvalidUtf8Error) return error.message;
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  return error instanceof Error ? error.message : String(error);
}
