/**
 * Builds the single-file llmload binary with `deno compile`: `deno task compile` for this machine,
 * `deno task compile:all` for every release target. The argument list lives here and only here,
 * so the tests prove exactly what the task and the release workflow build.
 *
 * Usage: `deno run --allow-read --allow-run --allow-env=DENORT_BIN tools/compile.ts
 * [--all | --target <triple>] [--output <path>]`
 *
 * @module
 */
import { parseArgs, stripVTControlCharacters } from "node:util";

/** The program's entry point, relative to the repository root. */
export const ENTRY_POINT = "main.ts";

/**
 * What the binary may do, and no more. Each one was found necessary by running llmload without
 * it (tests/compile_test.ts does it again): net to reach the target and serve the mock; read for
 * tiktoken's WASM, `--config`, `--prompt-text @file` and `./llmload.conf`; write for `--json`,
 * `--summary-file` and `--html`; env for `LLMLOAD_*` and `OPENAI_API_KEY`. Nothing needs sys or
 * run.
 */
export const PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  // Only to read the open-file limit (`ulimit -n`) before a run: Deno keeps /proc/self/limits
  // behind --allow-all.
  "--allow-run=sh",
];

/**
 * Files `deno compile` cannot find by following imports: Worker modules (started through
 * `new URL(...)`) and assets read at run time. tests/compile_test.ts fails when the source
 * starts one that is missing here.
 */
export const INCLUDES: readonly string[] = [
  "load/worker.ts",
  "load/clock_worker.ts",
  // The dashboard page's files, read by output/html_report.ts for --serve and --html.
  "output/dashboard",
];

/** A platform the release ships a binary for. */
export interface Target {
  /** The `deno compile --target` triple. */
  readonly triple: string;
  /** `uname -s` of the platform, or `Windows`. */
  readonly os: "Linux" | "Darwin" | "Windows";
  /** `uname -m` of the platform as install.sh normalises it. */
  readonly arch: "x86_64" | "aarch64";
}

/** Every release target, in the order `compile:all` builds them. */
export const TARGETS: readonly Target[] = [
  { triple: "x86_64-unknown-linux-gnu", os: "Linux", arch: "x86_64" },
  { triple: "aarch64-unknown-linux-gnu", os: "Linux", arch: "aarch64" },
  { triple: "x86_64-apple-darwin", os: "Darwin", arch: "x86_64" },
  { triple: "aarch64-apple-darwin", os: "Darwin", arch: "aarch64" },
  { triple: "x86_64-pc-windows-msvc", os: "Windows", arch: "x86_64" },
];

/** Where `deno task compile` writes the binary for this machine. */
export const HOST_OUTPUT = "dist/llmload";

/**
 * The release asset name of a target: `llmload-<triple>`, with `.exe` for Windows.
 *
 * @example
 * ```ts
 * assetName("aarch64-apple-darwin"); // "llmload-aarch64-apple-darwin"
 * ```
 */
export function assetName(triple: string): string {
  return `llmload-${triple}${triple.includes("windows") ? ".exe" : ""}`;
}

/**
 * The full `deno compile` argument list (without the `deno` executable itself).
 *
 * @example
 * ```ts
 * compileArgs({ output: "dist/llmload" });
 * // ["compile", "--frozen", "--allow-net", ..., "--output", "dist/llmload", "main.ts"]
 * ```
 */
export function compileArgs(options: { output: string; target?: string }): string[] {
  return [
    "compile",
    "--frozen",
    ...PERMISSIONS,
    // Only the npm packages the program imports; works because deno.json sets
    // "nodeModulesDir": "none" (with a node_modules folder the whole folder is embedded).
    "--exclude-unused-npm",
    ...INCLUDES.flatMap((path) => ["--include", path]),
    ...(options.target === undefined ? [] : ["--target", options.target]),
    "--output",
    options.output,
    ENTRY_POINT,
  ];
}

/**
 * Explains a failed `deno compile` when the cause is its runtime (denort) that could not be
 * downloaded or found; `undefined` for any other failure, whose own message says enough.
 */
export function explainCompileFailure(
  stderr: string,
  options: { target?: string; denoVersion?: string } = {},
): string | undefined {
  // deno prints colours even into a pipe; strip them so the patterns below see plain text.
  const text = stripVTControlCharacters(stderr);
  const version = options.denoVersion ?? Deno.version.deno;
  const target = options.target ?? hostTriple();
  const wanted = `denort ${version} for ${target}`;
  const missing = text.match(/Could not find denort at '([^']*)'/);
  if (missing) {
    return `Cannot compile llmload: DENORT_BIN is set to '${missing[1]}' but no file is there; ` +
      `point it at an unzipped ${wanted}, or unset it to let deno compile download the runtime`;
  }
  // deno's context line while it fetches the runtime; other failures (types, lockfile) lack it.
  if (!text.includes("Setting up base binary")) return undefined;
  const url = text.match(/https?:\/\/\S*denort\S*?\.zip/)?.[0] ??
    `https://dl.deno.land/release/v${version}/denort-${target}.zip`;
  // The last "N: ..." line under "Caused by:" is the innermost cause, e.g. the DNS failure.
  const causes = text.split("Stack backtrace:")[0].split("Caused by:")[1] ?? "";
  const reason = [...causes.matchAll(/^\s*\d+: (.+)$/gm)].at(-1)?.[1];
  return [
    `Cannot compile llmload: deno compile could not download its runtime from ${url}` +
    (reason ? ` (${reason.trim()})` : ""),
    `Download that zip where the network allows it, unzip it, and run again with ` +
    `DENORT_BIN=/path/to/denort (it must be ${wanted})`,
    "Release binaries are built by GitHub Actions (.github/workflows/release.yml)",
  ].join("\n");
}

/** The `deno compile --target` triple of the machine running this. */
export function hostTriple(): string {
  return Deno.build.target;
}

/** One build: where it goes and for which platform (`undefined`: this machine). */
interface Build {
  readonly output: string;
  readonly target?: string;
}

/** Reads the command line of this script; throws a usage message on a bad one. */
function planBuilds(args: string[], denortBin: string | undefined): Build[] {
  const { values } = parseArgs({
    args,
    options: {
      all: { type: "boolean", default: false },
      target: { type: "string" },
      output: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.all && (values.target !== undefined || values.output !== undefined)) {
    throw new Error("Cannot combine --all with --target or --output: --all builds every target");
  }
  if (values.target !== undefined && !TARGETS.some((t) => t.triple === values.target)) {
    const known = TARGETS.map((t) => t.triple).join(", ");
    throw new Error(`Cannot build for --target '${values.target}': expected one of ${known}`);
  }
  if (!values.all) return [{ output: values.output ?? HOST_OUTPUT, target: values.target }];
  if (denortBin) {
    // DENORT_BIN names one runtime, and deno compile would use it for every target unchecked.
    throw new Error(
      "Cannot build --all with DENORT_BIN set: it names the runtime of one platform; build one " +
        "target at a time with deno task compile --target <triple>",
    );
  }
  return TARGETS.map((t) => ({ output: `dist/${assetName(t.triple)}`, target: t.triple }));
}

/** Runs one `deno compile`, relaying its output; returns its stderr and success. */
async function compile(build: Build, root: URL): Promise<{ ok: boolean; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: compileArgs(build),
    cwd: root,
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    await Deno.stderr.write(chunk);
    chunks.push(decoder.decode(chunk, { stream: true }));
  }
  const status = await child.status;
  return { ok: status.success, stderr: chunks.join("") };
}

/** Builds what `args` asks for; resolves to the exit code. */
async function main(args: string[]): Promise<number> {
  const denortBin = Deno.env.get("DENORT_BIN") || undefined;
  let builds: Build[];
  try {
    builds = planBuilds(args, denortBin);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const root = new URL("../", import.meta.url);
  for (const build of builds) {
    const { ok, stderr } = await compile(build, root);
    if (!ok) {
      const explanation = explainCompileFailure(stderr, { target: build.target });
      console.error(`\n${explanation ?? `Cannot compile llmload: deno compile failed`}`);
      return 1;
    }
    console.error(`Built ${build.output}${build.target ? ` (${build.target})` : ""}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
