/**
 * Dataset files (`--dataset`) read into rows: JSONL (`prompt` or OpenAI `messages` per line),
 * ShareGPT JSON (`conversations` of `from`/`value` turns), CSV (columns named by
 * `--dataset-field`, read with `csv-parse`) and Parquet (read with `hyparquet`). Files are
 * streamed (JSONL line by line, CSV record by record, Parquet in chunks of rows), so a file of a
 * million rows holds only the rows kept: reading stops at the limit, and a shuffled read keeps a
 * reservoir sample of at most the limit. ShareGPT files, one JSON array, are streamed element by
 * element with `@streamparser/json`.
 * A row that cannot be read as the format says is a `UsageError` naming the file and line; a
 * row whose prompt is empty, or a conversation without a human turn, is dropped and counted.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { fileLines } from "./lines.ts";
import { parse as parseCsv } from "csv-parse";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { JSONParser } from "@streamparser/json";
import { UsageError } from "../common/errors.ts";
import type { Random } from "./random.ts";
import type { ChatMessage } from "../providers/types.ts";

/** One row of a dataset: a prompt, or a chat history, and what the row asks of the reply. */
export interface DatasetRow {
  /** The prompt text; for a `messages` row, the contents joined by blank lines. */
  readonly prompt: string;
  /** The chat history of a `messages` row, sent as given with `--chat`. */
  readonly messages?: readonly ChatMessage[];
  /** The row's own `max_tokens`, when it has one. */
  readonly maxTokens?: number;
  /** The row's `id`, when it has one. */
  readonly id?: string;
  /** Image files the row names (JSONL `images`), as written: relative to the dataset's folder. */
  readonly images?: readonly string[];
}

/** The dataset file formats, told apart by the file's extension. */
export type DatasetFormat = "jsonl" | "sharegpt" | "csv" | "parquet";

/** Which CSV columns (or JSONL keys) hold the prompt and `max_tokens` (`--dataset-field`). */
export interface DatasetFields {
  /** Column of the prompt; default `prompt`. */
  readonly prompt?: string;
  /** Column of `max_tokens`; default `max_tokens`. */
  readonly maxTokens?: string;
}

/** Options of {@linkcode readDataset}. */
export interface ReadDatasetOptions {
  /** Keep at most this many rows: the first ones, or a uniform sample with `shuffle`. */
  readonly limit: number;
  /** Shuffles: a reservoir sample of `limit` rows over the whole file, in random order. */
  readonly shuffle?: Random;
  /** Column names, for CSV and JSONL. */
  readonly fields?: DatasetFields;
  /**
   * `--dataset-sessions`: a ShareGPT row keeps its whole conversation as `messages` (human turns
   * as `user`, the others as `assistant`, `system` as is) for a multi-turn session.
   */
  readonly sessions?: boolean;
}

/** What reading one file gave. */
export interface DatasetRead {
  /** The rows kept, in the order the run sends them. */
  readonly rows: DatasetRow[];
  /** Rows read from the file (kept, dropped, or passed over by the reservoir). */
  readonly read: number;
  /** Rows dropped, by reason. */
  readonly dropped: { readonly empty: number; readonly unreadable: number };
}

/** Extensions of each format. */
const EXTENSIONS: Readonly<Record<string, DatasetFormat>> = {
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".json": "sharegpt",
  ".csv": "csv",
  ".parquet": "parquet",
};

/** Parquet rows decoded at a time: memory holds one such chunk beside the rows kept. */
const PARQUET_CHUNK_ROWS = 4096;

/**
 * The format of a dataset file, from its extension. Throws a `UsageError` for any other.
 *
 * @example
 * ```ts
 * datasetFormat("chats.jsonl"); // "jsonl"
 * ```
 */
export function datasetFormat(path: string): DatasetFormat {
  const dot = path.lastIndexOf(".");
  const format = dot < 0 ? undefined : EXTENSIONS[path.slice(dot).toLowerCase()];
  if (format === undefined) {
    throw new UsageError(
      `Cannot read --dataset '${path}': unknown file type, expected a name ending in .jsonl ` +
        `or .ndjson (prompt or messages per line), .json (ShareGPT), .csv or .parquet`,
    );
  }
  return format;
}

/** A row as read, or why it was dropped. */
type Parsed = DatasetRow | "empty" | "unreadable";

/**
 * Reads a dataset file into at most `limit` rows. Throws a `UsageError` naming the file and the
 * line (or conversation) for a file that cannot be opened or a row that is not what the format
 * says.
 *
 * @example
 * ```ts
 * const { rows } = await readDataset("prompts.jsonl", { limit: 1000 });
 * rows[0].prompt;
 * ```
 */
export async function readDataset(
  path: string,
  options: ReadDatasetOptions,
): Promise<DatasetRead> {
  const format = datasetFormat(path);
  await checkReadable(path);
  const fields = options.fields ?? {};
  const keep = createKeeper(options.limit, options.shuffle);
  const dropped = { empty: 0, unreadable: 0 };
  let read = 0;
  for await (const parsed of parsedRows(path, format, fields, options.sessions ?? false)) {
    read++;
    if (typeof parsed === "string") dropped[parsed]++;
    else if (!keep.offer(parsed)) break;
  }
  return { rows: keep.rows(), read, dropped };
}

async function checkReadable(path: string): Promise<void> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("it is not a file");
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new UsageError(`Cannot read --dataset '${path}': ${reason}, expected a readable file`);
  }
}

function parsedRows(
  path: string,
  format: DatasetFormat,
  fields: DatasetFields,
  sessions: boolean,
): AsyncGenerator<Parsed> {
  switch (format) {
    case "jsonl":
      return jsonlRows(path, fields);
    case "sharegpt":
      return shareGptRows(path, sessions);
    case "csv":
      return csvRows(path, fields);
    case "parquet":
      return parquetRows(path, fields);
  }
}

async function* jsonlRows(path: string, fields: DatasetFields): AsyncGenerator<Parsed> {
  let line = 0;
  for await (const text of fileLines(path)) {
    line++;
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw rowErrorAt(`${path}:${line}`, "is not JSON, expected one JSON object per line");
    }
    yield jsonRow(value, { where: `${path}:${line}`, fields });
  }
}

/**
 * A JSONL row: an object with `prompt` (a string) or `messages` (OpenAI chat messages), and
 * optionally `max_tokens`, `id` and `images` (image file paths). Pure; throws a `UsageError`
 * naming `where`.
 */
function jsonRow(
  value: unknown,
  options: { where: string; fields?: DatasetFields },
): Parsed {
  const { where } = options;
  const promptKey = options.fields?.prompt ?? "prompt";
  if (!isObject(value)) throw rowErrorAt(where, 'is not an object, expected {"prompt": ...}');
  const maxTokens = maxTokensOf(value[options.fields?.maxTokens ?? "max_tokens"], where);
  const id = value.id === undefined ? undefined : String(value.id);
  const images = imagesOf(value.images, where);
  const extra = {
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(id ? { id } : {}),
    ...(images ? { images } : {}),
  };
  if (value[promptKey] !== undefined) {
    const prompt = value[promptKey];
    if (typeof prompt !== "string") {
      throw rowErrorAt(where, `has a ${promptKey} that is not a string, expected text`);
    }
    return prompt.trim() === "" ? "empty" : { prompt, ...extra };
  }
  if (value.messages !== undefined) {
    const messages = messagesOf(value.messages, where);
    if (messages.every((message) => message.content.trim() === "")) return "empty";
    return { prompt: messages.map((m) => m.content).join("\n\n"), messages, ...extra };
  }
  throw rowErrorAt(
    where,
    `has no prompt, expected a "${promptKey}" string or a "messages" array (OpenAI chat format)`,
  );
}

function messagesOf(value: unknown, where: string): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw rowErrorAt(where, "has messages that are not a non-empty array of {role, content}");
  }
  return value.map((message, index) => {
    if (
      !isObject(message) || typeof message.role !== "string" ||
      typeof message.content !== "string"
    ) {
      throw rowErrorAt(
        where,
        `has a message ${index + 1} that is not {"role": string, "content": string}`,
      );
    }
    return { role: message.role, content: message.content };
  });
}

/** A row's `images`: absent, or an array of non-empty file paths. */
function imagesOf(value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((path) => typeof path !== "string" || path === "")) {
    throw rowErrorAt(where, 'has images that are not an array of file paths, such as ["cat.png"]');
  }
  return value.length === 0 ? undefined : value;
}

function maxTokensOf(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "string"
    ? Number(value.trim())
    : typeof value === "bigint"
    ? Number(value)
    : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < 1) {
    throw rowErrorAt(
      where,
      `has max_tokens ${JSON.stringify(value)}, expected a whole number >= 1`,
    );
  }
  return number;
}

/**
 * The conversations of a ShareGPT file, streamed with `@streamparser/json`: each element of the
 * top-level array is parsed and handed on as soon as its bytes are read, and the parser keeps
 * none of them (`keepStack: false`), so memory holds one read chunk and one conversation beside
 * the rows kept; stopping early (a `--dataset-limit`) closes the file.
 */
async function* shareGptRows(path: string, sessions: boolean): AsyncGenerator<Parsed> {
  const expected = `expected a ShareGPT JSON array of {"conversations": [...]}`;
  // A string buffer builds long values in place of concatenating them: a quarter faster here.
  const parser = new JSONParser({ paths: ["$.*"], keepStack: false, stringBufferSize: 65536 });
  let conversations: unknown[] = [];
  let parsed = 0;
  parser.onValue = ({ value }) => {
    parsed++;
    conversations.push(value);
  };
  let opened = false;
  let index = 0;
  const file = await Deno.open(path);
  for await (const chunk of file.readable) {
    if (!opened) {
      const first = chunk.findIndex((byte) => !JSON_WHITESPACE.has(byte));
      if (first < 0) continue;
      if (chunk[first] !== OPEN_BRACKET) {
        throw new UsageError(`Cannot read --dataset '${path}': not an array, ${expected}`);
      }
      opened = true;
    }
    try {
      parser.write(chunk);
    } catch (error) {
      throw new UsageError(
        `Cannot read --dataset '${path}': not JSON in conversation ${parsed + 1} ` +
          `(${(error as Error).message}), ${expected}`,
      );
    }
    const ready = conversations;
    conversations = [];
    for (const value of ready) {
      const row = shareGptRow(value, `${path}: conversation ${++index}`);
      yield sessions && typeof row !== "string"
        ? {
          ...row,
          messages: shareGptMessages((value as { conversations: unknown[] }).conversations),
        }
        : row;
    }
  }
  if (!opened || !parser.isEnded) {
    throw new UsageError(
      `Cannot read --dataset '${path}': ${opened ? "the JSON ends early" : "empty"}, ${expected}`,
    );
  }
}

/** Bytes JSON allows around values: space, tab, line feed, carriage return. */
const JSON_WHITESPACE: ReadonlySet<number> = new Set([0x20, 0x09, 0x0a, 0x0d]);
/** `[`, the first byte of a JSON array. */
const OPEN_BRACKET = 0x5b;

/**
 * A ShareGPT conversation: its first human turn is the prompt. One without a human turn is
 * `"unreadable"` (ShareGPT dumps have such rows); one that is not a conversation throws. Pure.
 */
function shareGptRow(value: unknown, where: string): Parsed {
  if (!isObject(value) || !Array.isArray(value.conversations)) {
    throw rowErrorAt(where, `has no "conversations" array, expected ShareGPT rows`);
  }
  const human = value.conversations.find((turn) =>
    isObject(turn) && (turn.from === "human" || turn.from === "user")
  );
  if (!isObject(human) || typeof human.value !== "string") return "unreadable";
  if (human.value.trim() === "") return "empty";
  const id = value.id === undefined ? undefined : String(value.id);
  return { prompt: human.value, ...(id ? { id } : {}) };
}

/** The turns of a ShareGPT conversation (already read by `shareGptRow`) as chat messages. */
function shareGptMessages(conversations: unknown[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const turn of conversations) {
    if (!isObject(turn) || typeof turn.value !== "string") continue;
    const role = turn.from === "human" || turn.from === "user"
      ? "user"
      : turn.from === "system"
      ? "system"
      : "assistant";
    messages.push({ role, content: turn.value });
  }
  return messages;
}

async function* csvRows(path: string, fields: DatasetFields): AsyncGenerator<Parsed> {
  const parser = createReadStream(path).pipe(
    parseCsv({ columns: true, bom: true, skip_empty_lines: true }),
  );
  const promptColumn = fields.prompt ?? "prompt";
  const maxTokensColumn = fields.maxTokens;
  let checked = false;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      const where = `${path}:${parser.info.lines}`;
      if (!checked) {
        checkColumns(path, Object.keys(record), [promptColumn, maxTokensColumn]);
        checked = true;
      }
      yield jsonRow(
        { ...record, prompt: record[promptColumn] },
        { where, fields: { maxTokens: maxTokensColumn ?? "max_tokens" } },
      );
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const lines = (error as { lines?: number }).lines;
    throw new UsageError(
      `Cannot read --dataset '${path}'${lines === undefined ? "" : ` at line ${lines}`}: ` +
        `${(error as Error).message}, expected CSV with a header row`,
    );
  }
}

async function* parquetRows(path: string, fields: DatasetFields): AsyncGenerator<Parsed> {
  const file = await asyncBufferFromFile(path);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new UsageError(
      `Cannot read --dataset '${path}': not a Parquet file (${(error as Error).message}), ` +
        `expected Parquet with a prompt column`,
    );
  }
  const promptColumn = fields.prompt ?? "prompt";
  const maxTokensColumn = fields.maxTokens ?? "max_tokens";
  const columns = metadata.schema.slice(1).map((column) => column.name);
  checkColumns(path, columns, [promptColumn, fields.maxTokens]);
  const wanted = [promptColumn, maxTokensColumn, "id"].filter((name) => columns.includes(name));
  const total = Number(metadata.num_rows);
  for (let start = 0; start < total; start += PARQUET_CHUNK_ROWS) {
    let records: Record<string, unknown>[];
    try {
      records = await parquetReadObjects({
        file,
        metadata,
        columns: wanted,
        rowStart: start,
        rowEnd: Math.min(start + PARQUET_CHUNK_ROWS, total),
      });
    } catch (error) {
      throw new UsageError(
        `Cannot read --dataset '${path}' at row ${start + 1}: ${(error as Error).message}, ` +
          `expected Parquet (uncompressed or snappy)`,
      );
    }
    for (let index = 0; index < records.length; index++) {
      const record = records[index];
      yield jsonRow(
        { ...record, prompt: record[promptColumn] ?? "" },
        { where: `${path}: row ${start + index + 1}`, fields: { maxTokens: maxTokensColumn } },
      );
    }
  }
}

function checkColumns(path: string, columns: string[], wanted: (string | undefined)[]): void {
  for (const column of wanted) {
    if (column !== undefined && !columns.includes(column)) {
      throw new UsageError(
        `Cannot read --dataset '${path}': no column '${column}', expected one of ` +
          `${
            columns.join(", ")
          } (map columns with --dataset-field prompt=COLUMN,max_tokens=COLUMN)`,
      );
    }
  }
}

/** Keeps the first `limit` rows, or with `shuffle` a reservoir sample of them in random order. */
function createKeeper(limit: number, shuffle?: Random) {
  const kept: DatasetRow[] = [];
  let seen = 0;
  return {
    /** Offers a row; `false` once no later row can be kept (the read may stop). */
    offer(row: DatasetRow): boolean {
      seen++;
      if (kept.length < limit) kept.push(row);
      else if (shuffle) {
        // Algorithm R: the row replaces a kept one with probability limit / seen.
        const slot = shuffle.int(0, seen - 1);
        if (slot < limit) kept[slot] = row;
      }
      return shuffle !== undefined || kept.length < limit;
    },
    rows(): DatasetRow[] {
      if (shuffle) {
        for (let i = kept.length - 1; i > 0; i--) {
          const j = shuffle.int(0, i);
          [kept[i], kept[j]] = [kept[j], kept[i]];
        }
      }
      return kept;
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function rowErrorAt(where: string, problem: string): UsageError {
  return new UsageError(`Invalid --dataset row at ${where}: it ${problem}`);
}
