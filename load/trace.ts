/**
 * Trace replay input (`--trace FILE`): the Mooncake JSONL trace (`timestamp` in ms,
 * `input_length`, `output_length`, optional `hash_ids` of 512-token blocks) and the Azure LLM
 * inference trace CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`, the timestamp a datetime such
 * as `2023-11-16 18:15:46.6805900`). Rows are streamed into compact typed arrays, so a
 * million-row trace costs tens of megabytes, not a million objects; the parsers of one row are
 * pure. Any bad row is a `UsageError` naming the file, the line and what was expected.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { parse as parseCsv } from "csv-parse";
import { UsageError } from "../common/errors.ts";
import { fileLines } from "./lines.ts";

/** Tokens in one `hash_ids` block of a Mooncake trace. */
export const TRACE_BLOCK_TOKENS = 512;

/** The trace formats `--trace` reads. */
export type TraceFormat = "mooncake" | "azure";

/** The CSV header of the Azure LLM inference traces. */
export const AZURE_COLUMNS = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"] as const;

/** One request of a trace, as a parser returns it. */
export interface TraceRow {
  /** When it was sent, in ms on the trace's own clock. */
  readonly timestamp: number;
  /** Prompt tokens. */
  readonly inputLength: number;
  /** Generated tokens: the request's `max_tokens`. */
  readonly outputLength: number;
  /** Ids of the 512-token blocks its prompt starts with (Mooncake `hash_ids`); empty if none. */
  readonly hashIds: ArrayLike<number>;
}

/**
 * The requests of a trace (or of one shard's share of it), column by column. Plain typed
 * arrays, so it posts to a Worker as is.
 */
export interface Trace {
  /** Number of requests. */
  readonly count: number;
  /** Send offset of each request in ms after the replayed slice's start, at speed 1. */
  readonly offsets: Float64Array;
  /** Prompt tokens of each request. */
  readonly inputLengths: Uint32Array;
  /** `max_tokens` of each request. */
  readonly outputLengths: Uint32Array;
  /** Request `i`'s block ids are `blockIds[blockStarts[i] .. blockStarts[i + 1]]`. */
  readonly blockStarts: Uint32Array;
  /** The block ids of every request, one after the other. */
  readonly blockIds: Int32Array;
}

/** Which part of a trace to replay: offsets from the trace's first timestamp, in ms. */
export interface TraceWindow {
  /** First offset replayed (inclusive). */
  readonly startMs: number;
  /** Offset where the replay ends (exclusive); absent for the end of the trace. */
  readonly endMs?: number;
}

/**
 * The format of a trace file: `.jsonl` (or `.json`) is Mooncake, `.csv` is Azure; any other
 * name is told by its first character (`{` starts a JSON line).
 *
 * @example
 * ```ts
 * traceFormat("trace.jsonl", ""); // "mooncake"
 * traceFormat("data.txt", "TIMESTAMP,ContextTokens,GeneratedTokens"); // "azure"
 * ```
 */
export function traceFormat(path: string, start: string): TraceFormat {
  if (/\.jsonl?$/i.test(path)) return "mooncake";
  if (/\.csv$/i.test(path)) return "azure";
  return start.trimStart().startsWith("{") ? "mooncake" : "azure";
}

/** Where a row came from, for messages. */
interface Place {
  readonly file: string;
  readonly line: number;
}

function invalid(place: Place, problem: string): UsageError {
  return new UsageError(`Invalid --trace file '${place.file}' line ${place.line}: ${problem}`);
}

/** A token count of a row: a whole number of at least 1. */
function length(value: unknown, field: string, place: Place): number {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < 1 || number > 2 ** 31) {
    throw invalid(
      place,
      `${field} is ${describe(value)}, expected a whole number of tokens of at least 1`,
    );
  }
  return number;
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  const text = JSON.stringify(value) ?? String(value);
  return `'${text.length > 40 ? `${text.slice(0, 40)}...` : text}'`;
}

/**
 * Parses one line of a Mooncake JSONL trace, e.g.
 * `{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47]}`.
 * Throws a `UsageError` naming `place` for anything else.
 */
export function parseMooncakeLine(line: string, place: Place): TraceRow {
  const expected = `expected a JSON object such as {"timestamp": 0, "input_length": 512, ` +
    `"output_length": 64, "hash_ids": [0]}`;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw invalid(place, `not JSON, ${expected}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(place, `not a JSON object, ${expected}`);
  }
  const row = value as Record<string, unknown>;
  const timestamp = row.timestamp;
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp) || timestamp < 0) {
    throw invalid(
      place,
      `timestamp is ${describe(timestamp)}, expected a number of milliseconds >= 0`,
    );
  }
  const hashIds = row.hash_ids ?? [];
  if (
    !Array.isArray(hashIds) ||
    !hashIds.every((id) => Number.isInteger(id) && id >= 0 && id < 2 ** 31)
  ) {
    throw invalid(
      place,
      `hash_ids is ${describe(row.hash_ids)}, expected a list of whole numbers >= 0`,
    );
  }
  return {
    timestamp,
    inputLength: length(row.input_length, "input_length", place),
    outputLength: length(row.output_length, "output_length", place),
    hashIds,
  };
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/;

/**
 * Milliseconds of an Azure trace `TIMESTAMP` such as `2023-11-16 18:15:46.6805900` (read as
 * UTC; only differences matter), or `undefined` for text of another shape.
 *
 * @example
 * ```ts
 * parseAzureTimestamp("1970-01-01 00:00:01.5"); // 1500
 * ```
 */
export function parseAzureTimestamp(text: string): number | undefined {
  const match = DATETIME.exec(text.trim());
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const whole = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(whole);
  // Date.UTC rolls 2023-02-30 over into March: refuse instead.
  if (date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return whole + (match[7] === undefined ? 0 : Number(`0.${match[7]}`) * 1000);
}

/** Parses one record of an Azure trace CSV (by column name). */
export function parseAzureRecord(record: Readonly<Record<string, string>>, place: Place): TraceRow {
  const timestamp = parseAzureTimestamp(record.TIMESTAMP ?? "");
  if (timestamp === undefined) {
    throw invalid(
      place,
      `TIMESTAMP is ${describe(record.TIMESTAMP)}, expected a date and time such as ` +
        `2023-11-16 18:15:46.6805900`,
    );
  }
  return {
    timestamp,
    inputLength: length(record.ContextTokens, "ContextTokens", place),
    outputLength: length(record.GeneratedTokens, "GeneratedTokens", place),
    hashIds: [],
  };
}

/** Rows of a trace as they are read, before the window is applied. */
type RowStream = AsyncIterable<{ row: TraceRow; line: number }>;

/**
 * Reads a trace file into a {@link Trace}: the rows inside `window`, their offsets counted from
 * the window's start. Rows must be in time order; reading stops at the window's end. Throws a
 * `UsageError` (one line: file, line, what was expected) for an unreadable file, a bad row, rows
 * out of order, or a window without any row.
 */
export async function readTrace(
  file: string,
  options: { window?: TraceWindow } = {},
): Promise<Trace> {
  const window = options.window ?? { startMs: 0 };
  let start: string;
  try {
    const handle = await Deno.open(file);
    try {
      const buffer = new Uint8Array(256);
      const read = await handle.read(buffer);
      start = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
    } finally {
      handle.close();
    }
  } catch (error) {
    throw new UsageError(`Cannot read --trace file '${file}': ${(error as Error).message}`);
  }
  const format = traceFormat(file, start);
  const rows = format === "mooncake" ? mooncakeRows(file) : azureRows(file);
  const builder = createTraceBuilder();
  let first: number | undefined;
  let previous = -Infinity;
  let seen = 0;
  for await (const { row, line } of rows) {
    seen++;
    if (row.timestamp < previous) {
      throw invalid(
        { file, line },
        `timestamp ${row.timestamp} ms is before the previous row's ${previous} ms, expected ` +
          `rows in time order`,
      );
    }
    previous = row.timestamp;
    first ??= row.timestamp;
    const offset = row.timestamp - first;
    if (offset < window.startMs) continue;
    if (window.endMs !== undefined && offset >= window.endMs) break;
    builder.add(row, offset - window.startMs);
  }
  if (seen === 0) {
    throw new UsageError(
      `Invalid --trace file '${file}': no requests in it, expected ${
        format === "mooncake" ? "JSON lines" : `a CSV header ${AZURE_COLUMNS.join(",")} and rows`
      }`,
    );
  }
  const trace = builder.build();
  if (trace.count === 0) {
    throw new UsageError(
      `Invalid --trace-window for '${file}': no request of the trace falls inside it (the ` +
        `trace spans ${(previous - first!) / 1000}s), expected a window within that`,
    );
  }
  return trace;
}

async function* mooncakeRows(file: string): RowStream {
  let line = 0;
  for await (const text of fileLines(file)) {
    line++;
    if (text.trim() === "") continue;
    yield { row: parseMooncakeLine(text, { file, line }), line };
  }
}

async function* azureRows(file: string): RowStream {
  const parser = createReadStream(file).pipe(parseCsv({
    columns(header: string[]) {
      const missing = AZURE_COLUMNS.filter((name) => !header.includes(name));
      if (missing.length > 0) {
        throw invalid(
          { file, line: 1 },
          `the header has no ${missing.join(", ")}, expected ${AZURE_COLUMNS.join(",")} (the ` +
            `Azure LLM inference trace)`,
        );
      }
      return header;
    },
    info: true,
    skip_empty_lines: true,
    trim: true,
  }));
  try {
    for await (const { record, info } of parser) {
      yield { row: parseAzureRecord(record, { file, line: info.lines }), line: info.lines };
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Invalid --trace file '${file}': ${(error as Error).message}`);
  } finally {
    parser.destroy();
  }
}

/** Collects rows into growing typed arrays. */
function createTraceBuilder() {
  let count = 0;
  let blocks = 0;
  let offsets = new Float64Array(1024);
  let inputLengths = new Uint32Array(1024);
  let outputLengths = new Uint32Array(1024);
  let blockStarts = new Uint32Array(1025);
  let blockIds = new Int32Array(1024);
  return {
    add(row: TraceRow, offset: number) {
      if (count === offsets.length) {
        offsets = grown(offsets, count * 2);
        inputLengths = grown(inputLengths, count * 2);
        outputLengths = grown(outputLengths, count * 2);
        blockStarts = grown(blockStarts, count * 2 + 1);
      }
      while (blocks + row.hashIds.length > blockIds.length) {
        blockIds = grown(blockIds, blockIds.length * 2);
      }
      offsets[count] = offset;
      inputLengths[count] = row.inputLength;
      outputLengths[count] = row.outputLength;
      blockIds.set(row.hashIds, blocks);
      blocks += row.hashIds.length;
      blockStarts[++count] = blocks;
    },
    build(): Trace {
      return {
        count,
        offsets: offsets.slice(0, count),
        inputLengths: inputLengths.slice(0, count),
        outputLengths: outputLengths.slice(0, count),
        blockStarts: blockStarts.slice(0, count + 1),
        blockIds: blockIds.slice(0, blocks),
      };
    },
  };
}

function grown<T extends Float64Array | Uint32Array | Int32Array>(array: T, size: number): T {
  const next = new (array.constructor as new (size: number) => T)(size);
  next.set(array);
  return next;
}

/**
 * Shard `shardIndex`'s share of a trace: requests `k ≡ shardIndex (mod shardCount)`, as QPS
 * mode splits its timeline, so the shards' sends interleave into the trace's.
 *
 * @example
 * ```ts
 * shardTrace(trace, 1, 2).count; // requests 1, 3, 5, ... of the trace
 * ```
 */
export function shardTrace(trace: Trace, shardIndex: number, shardCount: number): Trace {
  const builder = createTraceBuilder();
  for (let i = shardIndex; i < trace.count; i += shardCount) {
    builder.add({
      timestamp: 0,
      inputLength: trace.inputLengths[i],
      outputLength: trace.outputLengths[i],
      hashIds: blocksOf(trace, i),
    }, trace.offsets[i]);
  }
  return builder.build();
}

/** The block ids request `index` of `trace` starts with. */
export function blocksOf(trace: Trace, index: number): Int32Array {
  return trace.blockIds.subarray(trace.blockStarts[index], trace.blockStarts[index + 1]);
}
