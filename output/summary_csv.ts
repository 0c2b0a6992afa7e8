/**
 * `--summary-file`: one CSV row per run, appended, with the seed's columns first so old
 * spreadsheets keep working, then percentiles and throughput the seed did not have.
 *
 * @module
 */

import { stringify } from "csv-stringify/sync";
import { formatPythonFloat, summaryEntries, type SummaryInfo } from "./report.ts";
import type { Results } from "./results.ts";
import type { Output } from "./types.ts";

const EXTRA_PERCENTILES = [["P50", "p50"], ["P90", "p90"], ["P99", "p99"]] as const;
// Enough for any header line; a first line longer than this is not ours anyway.
const HEADER_PROBE_BYTES = 64 * 1024;

/**
 * The CSV row of a run: the summary block's keys and values in the same order, then
 * `Failed Requests`, `Output Tokens Per Sec`, `Total Tokens Per Sec`, `P50/P90/P99 Itl`,
 * `P50/P90/P99 Tpot` (ms) and `Duration S`; with `--slo`, `Goodput Requests Per Sec`,
 * `Goodput Output Tokens Per Sec` and `Slo Attainment` (a share from 0 to 1); with `--mode
 * embeddings` or `rerank` then `Inputs Per Sec` or `Documents Per Sec`, and `Prompt Tokens Per
 * Sec`. Python's `None` is an empty cell, as the seed's
 * `csv.DictWriter` wrote it; so is a metric without samples.
 */
export function summaryRow(results: Results, info: SummaryInfo): Record<string, string> {
  const row: Record<string, string> = {};
  for (const [key, value] of summaryEntries(results, info)) row[key] = value ?? "";
  row["Failed Requests"] = String(results.requests.failed);
  row["Output Tokens Per Sec"] = formatPythonFloat(results.throughput.outputTokensPerSec);
  row["Total Tokens Per Sec"] = formatPythonFloat(results.throughput.totalTokensPerSec);
  for (const name of ["itl", "tpot"] as const) {
    const metric = results.metrics[name];
    const title = name[0].toUpperCase() + name.slice(1);
    for (const [label, key] of EXTRA_PERCENTILES) {
      row[`${label} ${title}`] = metric ? formatPythonFloat(metric[key]) : "";
    }
  }
  row["Duration S"] = formatPythonFloat(results.durationMs / 1000);
  const { goodput } = results;
  if (goodput) {
    row["Goodput Requests Per Sec"] = formatPythonFloat(goodput.requestsPerSec);
    row["Goodput Output Tokens Per Sec"] = formatPythonFloat(goodput.outputTokensPerSec);
    row["Slo Attainment"] = formatPythonFloat(goodput.attainment.all);
  }
  const { inputsPerSec, documentsPerSec, promptTokensPerSec } = results.throughput;
  if (inputsPerSec !== undefined) row["Inputs Per Sec"] = formatPythonFloat(inputsPerSec);
  if (documentsPerSec !== undefined) row["Documents Per Sec"] = formatPythonFloat(documentsPerSec);
  if (promptTokensPerSec !== undefined) {
    row["Prompt Tokens Per Sec"] = formatPythonFloat(promptTokensPerSec);
  }
  return row;
}

interface ExistingFile {
  /** First line without its line ending; `undefined` when the file is empty. */
  header?: string;
  /** Line ending the file uses. */
  lineEnding: "\n" | "\r\n";
  /** Whether the last byte is a newline, so an appended row starts on its own line. */
  endsWithNewline: boolean;
}

async function inspect(path: string): Promise<ExistingFile | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const size = (await file.stat()).size;
    if (size === 0) return { lineEnding: "\n", endsWithNewline: true };
    const probe = new Uint8Array(Math.min(size, HEADER_PROBE_BYTES));
    let filled = 0;
    while (filled < probe.length) {
      const n = await file.read(probe.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    const text = new TextDecoder().decode(probe.subarray(0, filled)).replace(/^\uFEFF/, "");
    const newline = text.indexOf("\n");
    const firstLine = newline === -1 ? text : text.slice(0, newline);
    const last = new Uint8Array(1);
    await file.seek(-1, Deno.SeekMode.End);
    await file.read(last);
    return {
      header: firstLine.replace(/\r$/, ""),
      // Keep a file written by the seed (Python's csv writes \r\n) consistent.
      lineEnding: firstLine.endsWith("\r") ? "\r\n" : "\n",
      endsWithNewline: last[0] === 0x0a,
    };
  } finally {
    file.close();
  }
}

function csvLines(rows: string[][], lineEnding: string): string {
  return stringify(rows, { record_delimiter: lineEnding === "\r\n" ? "windows" : "unix" });
}

/**
 * Appends one row to a CSV file, writing the header first when the file is new or empty. The
 * text goes out in a single append-mode write, so rows from concurrent runs never interleave.
 * Returns a warning when the file's header differs from the row's columns (the row is still
 * appended), else `undefined`.
 */
export async function appendSummaryRow(
  path: string,
  row: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  try {
    return await appendRow(path, row);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot append to summary file '${path}': ${reason}`, { cause: error });
  }
}

/**
 * Creates `path` holding `bytes`, unless it exists. Returns whether it created it. A hard link
 * makes the file appear with its whole content at once, so a concurrent run never finds it
 * empty and writes a second header.
 */
async function createWhole(path: string, bytes: Uint8Array): Promise<boolean> {
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeFile(temp, bytes, { createNew: true });
  try {
    await Deno.link(temp, path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  // No hard links on this file system (FAT, some network shares): an exclusive create leaves a
  // short window for a second header, but append mode still never loses a row.
  try {
    await Deno.writeFile(path, bytes, { createNew: true, append: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}

async function appendRow(
  path: string,
  row: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  const columns = Object.keys(row);
  const values = columns.map((column) => row[column]);
  const encoder = new TextEncoder();
  let existing = await inspect(path);
  if (existing === undefined) {
    if (await createWhole(path, encoder.encode(csvLines([columns, values], "\n")))) {
      return undefined;
    }
    existing = await inspect(path) ?? { lineEnding: "\n", endsWithNewline: true };
  }
  const { header, lineEnding, endsWithNewline } = existing;
  const rows = header === undefined ? [columns, values] : [values];
  const prefix = endsWithNewline ? "" : lineEnding;
  await Deno.writeFile(path, encoder.encode(prefix + csvLines(rows, lineEnding)), {
    append: true,
  });
  if (header === undefined) return undefined;
  const expected = csvLines([columns], "\n").replace(/\n$/, "");
  if (header === expected) return undefined;
  return `Summary file '${path}' has different columns than this run; the row was appended anyway`;
}

/** `--summary-file`: appends the run's row at the end of the run and says so on `log`. */
export function summaryCsvOutput(path: string, log: (line: string) => void): Output {
  return {
    name: "summary CSV",
    async finish({ results, info }) {
      const warning = await appendSummaryRow(path, summaryRow(results, info));
      if (warning) log(`Warning: ${warning}`);
      log(`Summary row appended to ${path}`);
    },
  };
}
