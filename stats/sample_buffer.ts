/**
 * A growable buffer of raw samples for the shard thread: appending writes one slot of a
 * preallocated `Float64Array`, and the store doubles only when full, so recording costs no
 * allocation per sample.
 *
 * @example
 * ```ts
 * const buffer = new SampleBuffer();
 * buffer.push(1500);
 * buffer.push(1700);
 * console.log(buffer.take()); // Float64Array [1500, 1700]; the buffer is empty again
 * ```
 *
 * @module
 */

/** Slots a buffer starts with: ~4 KB, a few hundred samples per 250 ms before it grows. */
const INITIAL_CAPACITY = 512;

/** Samples in arrival order, handed over in one exact-size copy; the store is kept for reuse. */
export class SampleBuffer {
  #values = new Float64Array(INITIAL_CAPACITY);
  #length = 0;

  /** Samples held. */
  get length(): number {
    return this.#length;
  }

  /** Appends one sample. */
  push(value: number): void {
    if (this.#length === this.#values.length) this.#grow();
    this.#values[this.#length++] = value;
  }

  /**
   * The samples held, in order, as a fresh array the size of its contents (safe to post or keep:
   * it shares nothing with the buffer), and empties the buffer.
   */
  take(): Float64Array {
    // One copy of what was filled, rather than handing the store over: the store is kept, so the
    // buffer needs no new capacity (and no growth) next period.
    const taken = this.#values.slice(0, this.#length);
    this.#length = 0;
    return taken;
  }

  #grow(): void {
    const grown = new Float64Array(this.#values.length * 2);
    grown.set(this.#values);
    this.#values = grown;
  }
}
