/**
 * The README's Slurm lines, run as written against a mock with a small `LOAD`: under `srun`
 * where Debian's slurm-wlm has a controller answering, and always with the tasks started as
 * `srun` starts them (each with its `SLURM_PROCID` and `SLURM_NTASKS`). The shards' files must
 * merge into the whole load.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Results } from "../output/results.ts";
import { completionRecords, withMock, withTempDir } from "./_harness.ts";
import { needing, toolPath } from "./_tools.ts";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const TASKS = 2;
const REQUESTS = 12;

/** The shell lines of the README's `Run under Slurm` block. */
function slurmLines(): { srun: string; merge: string } {
  const section = README.slice(README.indexOf("### Run under Slurm"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1].split("\n");
  const srun = block.find((line) => line.startsWith("srun -n "))!;
  const merge = block.find((line) => line.startsWith("llmload merge "))!;
  assert.ok(srun && merge, "the README's Slurm block has its srun and merge lines");
  return { srun, merge };
}

/** A folder with an `llmload` on PATH that runs this checkout, for the README's lines. */
async function llmloadShim(dir: string): Promise<string> {
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/llmload`,
    `#!/bin/sh\nexec "${Deno.execPath()}" run -A "${MAIN}" "$@"\n`,
  );
  await Deno.chmod(`${bin}/llmload`, 0o755);
  return `${bin}:${Deno.env.get("PATH") ?? ""}`;
}

async function sh(line: string, options: { cwd: string; env: Record<string, string> }) {
  const output = await new Deno.Command(toolPath("bash")!, {
    args: ["-c", line],
    cwd: options.cwd,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `${line}\n${text}`);
}

/** Runs the srun line through `start` (real srun, or tasks as srun starts them), then merges. */
async function runDocumented(
  start: (line: string, options: { cwd: string; env: Record<string, string> }) => Promise<void>,
) {
  await withMock({ ttftMs: 10, itlMs: 2 }, (mock) =>
    withTempDir(async (dir) => {
      const { srun, merge } = slurmLines();
      const env = {
        PATH: await llmloadShim(dir),
        HOME: dir,
        NO_COLOR: "1",
        TARGET: mock.url,
        LOAD: `--qps 20 -u 4 --max-requests ${REQUESTS} -t 20s --warmup 0 --max-tokens 4`,
        START: new Date(Date.now() + 15_000).toISOString(),
      };
      await Deno.mkdir(`${dir}/results`);
      await start(srun.replace(/^srun -n \d+ /, `srun -n ${TASKS} `), { cwd: dir, env });
      await sh(merge, { cwd: dir, env });
      const merged = JSON.parse(await Deno.readTextFile(`${dir}/results/merged.json`)) as Results;
      assert.equal(merged.requests.ok, REQUESTS);
      assert.deepEqual(merged.shards?.indices, [0, 1]);
      assert.equal(completionRecords(mock.records()).length, REQUESTS);
    }));
}

Deno.test(needing(["bash"], {
  name: "the README's srun line, tasks started as srun starts them, merges into the whole load",
  sanitizeResources: false,
  async fn() {
    await runDocumented(async (line, { cwd, env }) => {
      // srun runs the command after `srun -n N` once per task, with these two variables set.
      const command = line.replace(/^srun -n \d+ /, "");
      await Promise.all(Array.from({ length: TASKS }, (_, task) =>
        sh(command, {
          cwd,
          env: { ...env, SLURM_PROCID: String(task), SLURM_NTASKS: String(TASKS) },
        })));
    });
  },
}));

Deno.test(needing(["bash", "srun", "sinfo"], {
  name: "the README's srun line under a running Slurm merges into the whole load",
  sanitizeResources: false,
  async fn() {
    await runDocumented((line, options) => sh(line, options));
  },
}));
