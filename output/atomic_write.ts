/**
 * Replaces a file's content all at once: the bytes go to a temporary file beside it that is
 * then renamed over it, so a failed or interrupted write never leaves a truncated file. A path
 * that exists but is not a regular file (`/dev/null`, a FIFO, `/dev/stdout`) is written in place:
 * renaming over it would replace the device itself.
 *
 * @module
 */

/**
 * Writes `bytes` to `path` atomically; errors name the file and what it held (`what`).
 *
 * @example
 * ```ts
 * await writeFileAtomic("results.json", new TextEncoder().encode("{}"), "results");
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, what: string) {
  try {
    const existing = await Deno.stat(path).catch(() => undefined);
    if (existing && !existing.isFile) return await Deno.writeFile(path, bytes);
    const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      await Deno.writeFile(temp, bytes, { createNew: true });
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot write ${what} to '${path}': ${reason}`, { cause: error });
  }
}
