/**
 * One dataset preparation in a process of its own, for `deno task bench dataset-prepare`: reads
 * a `--dataset` file and pools its prompts as a run does before the load (`readDataset`, then
 * `datasetPool` counting each row under o200k_base), and prints one JSON line with the time it
 * took and the process's peak resident memory (`VmHWM`) before and after. A process of its own,
 * so the peak is this preparation's and no sampler can miss it.
 *
 * Usage: deno run -A tests/bench/dataset_prepare.ts FILE LIMIT [shuffle]
 *
 * @module
 */
import { datasetFormat, readDataset } from "../../load/dataset.ts";
import { datasetPool } from "../../load/pool_builder.ts";
import { createRandom } from "../../load/random.ts";
import { loadTokenizer } from "../../load/tokenizer.ts";

/** The process's peak resident memory so far, in KB (`VmHWM`); NaN off Linux. */
async function peakRssKb(): Promise<number> {
  try {
    const status = await Deno.readTextFile("/proc/self/status");
    return Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

const [path, limit, shuffle] = Deno.args;
const tokenizer = await loadTokenizer("o200k_base");
const before = await peakRssKb();
const start = performance.now();
const read = await readDataset(path, {
  limit: Number(limit),
  ...(shuffle === "shuffle" ? { shuffle: createRandom(1) } : {}),
});
const { pool } = datasetPool(
  [{ path, weight: 1, format: datasetFormat(path), read }],
  tokenizer,
  { rowMaxTokens: true, maxTokens: 64, chat: false },
);
const elapsedMs = performance.now() - start;
console.log(JSON.stringify({
  elapsedMs,
  read: read.read,
  prompts: pool.prompts.length,
  beforeKb: before,
  peakKb: await peakRssKb(),
}));
