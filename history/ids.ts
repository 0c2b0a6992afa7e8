/**
 * Run ids, git-style: each run gets 16 random hex digits, is shown by the shortest prefix (at
 * least 7 digits) that no other stored run shares, and is found by any prefix that is unique.
 * Pure but for {@link newRunId}'s random source.
 *
 * @module
 */

/** Digits of a full id. */
export const ID_LENGTH = 16;

/** Digits shown at the least, as git shows commits. */
const SHORT_LENGTH = 7;

const HEX_PREFIX = /^[0-9a-f]{1,16}$/;

/** A new random id of {@link ID_LENGTH} lower-case hex digits. */
export function newRunId(
  random: (bytes: Uint8Array) => Uint8Array = crypto.getRandomValues.bind(crypto),
): string {
  const bytes = random(new Uint8Array(ID_LENGTH / 2));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The short form of each id: its shortest prefix of at least 7 digits that no other id shares.
 *
 * @example
 * ```ts
 * shortIds(["3f9c2a10aa", "3f9c2a1bbb"]); // Map { "3f9c2a10aa" => "3f9c2a10", ... }
 * ```
 */
export function shortIds(ids: readonly string[]): Map<string, string> {
  const sorted = [...ids].sort();
  const short = new Map<string, string>();
  sorted.forEach((id, index) => {
    const shared = Math.max(
      commonPrefix(id, sorted[index - 1] ?? ""),
      commonPrefix(id, sorted[index + 1] ?? ""),
    );
    short.set(id, id.slice(0, Math.max(SHORT_LENGTH, shared + 1)));
  });
  return short;
}

/** Whether `text` can be an id prefix (1 to 16 hex digits, any case); returns it lower-cased. */
export function idPrefix(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  return HEX_PREFIX.test(lower) ? lower : undefined;
}

function commonPrefix(a: string, b: string): number {
  let length = 0;
  while (length < a.length && a[length] === b[length]) length++;
  return length;
}
