/**
 * The bounded buffer between the live views and the database: rows wait here in batches, one
 * batch is written at a time, a failed write is retried with a doubling pause, and rows that
 * cannot wait (the buffer is full) or could not be written by the end are counted, never
 * silently dropped. Whatever the database does, `push` returns at once, so the load never waits.
 *
 * @example
 * ```ts
 * const queue = new PushQueue((batch) => insert(batch.table, batch.rows));
 * queue.push("events", [{ time: new Date(), text: "started" }]);
 * const tally = await queue.drain(10_000);
 * ```
 *
 * @module
 */

/** Rows of one table, written in one statement. */
export interface Batch<T extends string = string> {
  /** The table. */
  readonly table: T;
  /** Its rows, each a plain object of column values. */
  readonly rows: readonly object[];
}

/** What became of the pushed rows, as the results' `pg` section reports it. */
export interface PushTally {
  /** Rows written. */
  written: number;
  /** Rows not written: dropped from a full buffer, or still waiting when time ran out. */
  lost: number;
  /** Writes that failed and were tried again (or given up at the end). */
  failedWrites: number;
  /** The last write error's message (secrets masked), when a write failed. */
  lastError?: string;
}

/** Sizes and pauses of a {@link PushQueue}. */
export interface PushQueueOptions {
  /** Rows the buffer holds; beyond it the oldest rows are dropped and counted. Default 200,000. */
  readonly maxRows?: number;
  /** Rows per statement at most. Default 2,000 (Postgres takes at most 65,535 parameters). */
  readonly batchRows?: number;
  /** First pause after a failed write, in ms; it doubles up to `maxPauseMs`. Default 250. */
  readonly firstPauseMs?: number;
  /** Longest pause between retries, in ms. Default 5,000. */
  readonly maxPauseMs?: number;
  /** Turns a write error into the text the tally keeps (masking secrets). Default `String`. */
  readonly describe?: (error: unknown) => string;
}

/** Writes batches one at a time, in order, retrying until drained. */
export class PushQueue<T extends string = string> {
  readonly #write: (batch: Batch<T>) => Promise<void>;
  readonly #maxRows: number;
  readonly #batchRows: number;
  readonly #firstPauseMs: number;
  readonly #maxPauseMs: number;
  readonly #describe: (error: unknown) => string;
  readonly #batches: Batch<T>[] = [];
  #buffered = 0;
  #tally: PushTally = { written: 0, lost: 0, failedWrites: 0 };
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  /** A queue that hands each batch to `write`; a rejection means "not written, try again". */
  constructor(write: (batch: Batch<T>) => Promise<void>, options: PushQueueOptions = {}) {
    this.#write = write;
    this.#maxRows = Math.max(1, options.maxRows ?? 200_000);
    this.#batchRows = Math.max(1, options.batchRows ?? 2_000);
    this.#firstPauseMs = options.firstPauseMs ?? 250;
    this.#maxPauseMs = options.maxPauseMs ?? 5_000;
    this.#describe = options.describe ?? String;
  }

  /** Rows waiting to be written. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Queues `rows` of `table` and returns at once; after {@link drain} they are counted lost. */
  push(table: T, rows: readonly object[]): void {
    if (rows.length === 0) return;
    if (this.#closed) {
      this.#tally.lost += rows.length;
      return;
    }
    for (let start = 0; start < rows.length; start += this.#batchRows) {
      this.#batches.push({ table, rows: rows.slice(start, start + this.#batchRows) });
    }
    this.#buffered += rows.length;
    this.#dropOverflow();
    this.#running ??= this.#run();
  }

  /**
   * Waits until every queued row is written or `timeoutMs` has passed, then stops: what is
   * still waiting is counted lost. Returns the tally; later pushes only count as lost.
   */
  async drain(timeoutMs: number): Promise<PushTally> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeUp = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.race([this.#running ?? Promise.resolve(), timeUp]);
    clearTimeout(timer);
    this.#closed = true;
    this.#wake?.();
    this.#tally.lost += this.#buffered;
    this.#batches.length = 0;
    this.#buffered = 0;
    return { ...this.#tally };
  }

  /**
   * Drops the oldest waiting rows until the buffer fits: the newest seconds are the ones a live
   * dashboard shows. The batch being written (the first) is left to its write.
   */
  #dropOverflow() {
    while (this.#buffered > this.#maxRows && this.#batches.length > 1) {
      const batch = this.#batches[1];
      const cut = Math.min(this.#buffered - this.#maxRows, batch.rows.length);
      if (cut === batch.rows.length) this.#batches.splice(1, 1);
      else this.#batches[1] = { table: batch.table, rows: batch.rows.slice(cut) };
      this.#buffered -= cut;
      this.#tally.lost += cut;
    }
  }

  async #run() {
    let pauseMs = this.#firstPauseMs;
    while (this.#batches.length > 0 && !this.#closed) {
      const batch = this.#batches[0];
      try {
        await this.#write(batch);
      } catch (error) {
        this.#tally.failedWrites++;
        this.#tally.lastError = this.#describe(error);
        await this.#pause(pauseMs);
        pauseMs = Math.min(this.#maxPauseMs, pauseMs * 2);
        continue;
      }
      pauseMs = this.#firstPauseMs;
      if (this.#closed) return;
      this.#batches.shift();
      this.#buffered -= batch.rows.length;
      this.#tally.written += batch.rows.length;
    }
    this.#running = undefined;
  }

  /** Sleeps `ms`, or less when the queue is closed. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
