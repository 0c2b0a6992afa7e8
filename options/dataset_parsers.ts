/**
 * Value parsers of the `--dataset*` options: a file with an optional mix weight, and the
 * column mapping. Pure; they throw `Rejected` with the accepted forms, as `options/parsers.ts`.
 *
 * @module
 */
import { Rejected } from "./parsers.ts";

/** One `--dataset FILE[:WEIGHT]`: the file and its share of the mix. */
export interface DatasetChoice {
  /** Path of the dataset file. */
  readonly path: string;
  /** Relative share of requests drawn from it; default 1. */
  readonly weight: number;
}

/**
 * Parses `FILE` or `FILE:WEIGHT` (a weight > 0). A colon followed by something that is not a
 * number stays part of the path, so `C:\data.jsonl` reads as a path.
 *
 * @example
 * ```ts
 * datasetChoice("chats.jsonl:3"); // { path: "chats.jsonl", weight: 3 }
 * ```
 */
export function datasetChoice(value: string | boolean): DatasetChoice {
  if (typeof value !== "string" || value.trim() === "") {
    throw new Rejected("a file, optionally with :WEIGHT, such as chats.jsonl:2");
  }
  const match = /^(.+):([^:\\/]*)$/.exec(value.trim());
  if (match && /^[\d.eE+-]+$/.test(match[2])) {
    const weight = Number(match[2]);
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new Rejected("a weight > 0 after the colon, such as chats.jsonl:2");
    }
    return { path: match[1], weight };
  }
  return { path: value.trim(), weight: 1 };
}

/** Which columns hold the prompt and `max_tokens` (`--dataset-field`). */
export interface DatasetFieldMap {
  /** Column of the prompt. */
  readonly prompt?: string;
  /** Column of `max_tokens`. */
  readonly maxTokens?: string;
}

const FIELD_FORM = "prompt=COLUMN and/or max_tokens=COLUMN, separated by commas";

/**
 * Parses `prompt=COLUMN,max_tokens=COLUMN` (either part may be left out).
 *
 * @example
 * ```ts
 * datasetFields("prompt=question,max_tokens=limit"); // { prompt: "question", maxTokens: "limit" }
 * ```
 */
export function datasetFields(value: string | boolean): DatasetFieldMap {
  if (typeof value !== "string" || value.trim() === "") throw new Rejected(FIELD_FORM);
  const fields: { prompt?: string; maxTokens?: string } = {};
  for (const part of value.split(",")) {
    const [name, column, ...rest] = part.split("=").map((piece) => piece.trim());
    if (rest.length > 0 || !column) throw new Rejected(FIELD_FORM);
    if (name === "prompt") fields.prompt = column;
    else if (name === "max_tokens") fields.maxTokens = column;
    else throw new Rejected(`${FIELD_FORM} (no field '${name}')`);
  }
  return fields;
}
