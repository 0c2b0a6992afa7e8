/**
 * The single-binary build (tools/compile.ts): every Worker module and asset the source opens at
 * run time is embedded, the argument list is what the issue asks for, a missing runtime stops the
 * build with a DENORT_BIN message, and the argument list builds here with deno standing in for
 * denort (which this machine cannot download), embedding what it must.
 *
 * @module
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import denoJson from "../deno.json" with { type: "json" };
import {
  assetName,
  compileArgs,
  ENTRY_POINT,
  explainCompileFailure,
  INCLUDES,
  TARGETS,
} from "../tools/compile.ts";

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = fileURLToPath(ROOT);
/** Where the program's code lives; tests/ and tools/ are not part of the binary. */
const SOURCE_ROOTS = [
  ENTRY_POINT,
  ...["cli", "common", "load", "mock", "options", "output", "providers", "request", "run"],
  ...["stats", "transport"],
];
const MODULE_EXTENSIONS = /\.(ts|tsx|js|mjs|mts|jsx)$/;

/** A path relative to the repository root, with forward slashes on every OS. */
function repoPath(url: URL): string {
  return relative(ROOT_PATH, fileURLToPath(url)).replaceAll("\\", "/");
}

/** Every file under the source roots, as repository paths. */
function sourceFiles(): Promise<string[]> {
  return filesOf(SOURCE_ROOTS);
}

/** Every file at or under the given repository paths. */
async function filesOf(roots: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  async function walk(path: string) {
    const info = await Deno.stat(new URL(path, ROOT));
    if (info.isFile) return void files.push(path);
    for await (const entry of Deno.readDir(new URL(path, ROOT))) {
      // Editors' and atomic writers' temporary files are not part of the source.
      if (entry.name.startsWith(".") || entry.name.endsWith(".tmp")) continue;
      await walk(`${path}/${entry.name}`);
    }
  }
  for (const root of roots) await walk(root);
  return files.sort();
}

/** True when `path` is an include entry or lies inside an included directory. */
function isIncluded(path: string): boolean {
  return INCLUDES.some((entry) => {
    const dir = entry.replace(/\/+$/, "");
    return path === dir || path.startsWith(`${dir}/`);
  });
}

/** What one source file opens relative to itself at run time. */
interface RuntimeReference {
  readonly file: string;
  readonly line: number;
  /** The repository path it opens, or the directory prefix of a computed name. */
  readonly path?: string;
  /** Set when the reference cannot be checked from the text. */
  readonly problem?: string;
}

/**
 * Finds `new URL("...", import.meta.url)` (Workers, assets), `import.meta.resolve("...")` and
 * `import.meta.dirname`/`filename` in one file's text.
 */
function runtimeReferences(file: string, text: string): RuntimeReference[] {
  // Comment lines (JSDoc, //) may quote the pattern; blank them and keep the line numbers.
  text = text.split("\n").map((line) => /^\s*(\*|\/\*|\/\/)/.test(line) ? "" : line).join("\n");
  const found: RuntimeReference[] = [];
  const base = new URL(file, ROOT);
  const lineOf = (index: number) => text.slice(0, index).split("\n").length;
  const literal = /new\s+URL\(\s*(["'`])((?:(?!\1)[^\\]|\\.)*)\1\s*,\s*import\.meta\.url\s*\)/g;
  for (const match of text.matchAll(literal)) {
    // A template literal with ${...}: its fixed start names the directory that must be embedded.
    const fixed = match[1] === "`" ? match[2].split("${")[0] : match[2];
    const computed = fixed !== match[2];
    const resolved = repoPath(new URL(computed ? fixed.replace(/[^/]*$/, "") : fixed, base));
    found.push({ file, line: lineOf(match.index), path: resolved.replace(/\/$/, "") });
  }
  const computed = /new\s+URL\(\s*([^"'`\s)][^,)]*),\s*import\.meta\.url\s*\)/g;
  for (const match of text.matchAll(computed)) {
    found.push({
      file,
      line: lineOf(match.index),
      problem: `new URL(${match[1]}, import.meta.url) names its file at run time`,
    });
  }
  for (const match of text.matchAll(/import\.meta\.resolve\(\s*(["'])([^"']*)\1\s*\)/g)) {
    found.push({ file, line: lineOf(match.index), path: repoPath(new URL(match[2], base)) });
  }
  for (const match of text.matchAll(/import\.meta\.(dirname|filename)\b/g)) {
    found.push({
      file,
      line: lineOf(match.index),
      problem: `import.meta.${match[1]} builds a path the include check cannot follow`,
    });
  }
  return found;
}

/** Local files in the module graph of `root` (modules and imported JSON/text). */
async function moduleGraph(root: string): Promise<Set<string>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string }[];
  };
  return new Set(
    info.modules.filter((m) => m.specifier.startsWith("file:")).map((m) =>
      repoPath(new URL(m.specifier))
    ),
  );
}

/** Runs `deno task <args>` at the repository root with extra environment variables. */
async function denoTask(args: string[], env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Reads deno compile's "Embedded Files" tree into paths: `load/worker.ts`, and `dir/*` for
 * a directory embedded whole.
 */
function embeddedPaths(report: string): string[] {
  const lines = stripVTControlCharacters(report).split("\n");
  const start = lines.findIndex((line) => line.trim() === "Embedded Files");
  const paths: string[] = [];
  const stack: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const match = line.match(/^([│ ]*)[├└]─[─┬] (.+?)(?: \([^()]*\))?$/);
    if (!match) {
      if (paths.length > 0 && line.trim() === "") break;
      continue;
    }
    const depth = match[1].length / 2;
    stack.length = depth;
    stack.push(match[2]);
    paths.push(stack.join("/"));
  }
  return paths;
}

Deno.test("every Worker module and asset the source opens through import.meta is embedded", async () => {
  const problems: string[] = [];
  let references = 0;
  for (const file of await sourceFiles()) {
    if (!MODULE_EXTENSIONS.test(file)) continue;
    for (const ref of runtimeReferences(file, await Deno.readTextFile(new URL(file, ROOT)))) {
      references++;
      if (ref.problem) {
        problems.push(
          `${ref.file}:${ref.line}: ${ref.problem}; use a literal new URL("./file", ` +
            `import.meta.url) or a template whose fixed start names an included directory`,
        );
      } else if (!isIncluded(ref.path!)) {
        problems.push(
          `${ref.file}:${ref.line} opens ${ref.path}, which deno compile will not embed: add ` +
            `"${ref.path}" to INCLUDES in tools/compile.ts`,
        );
      }
    }
  }
  assert.deepEqual(problems, []);
  // The shard Worker is one of them; finding none would mean the scan itself is broken.
  assert.ok(references >= 1, "found no new URL(..., import.meta.url) at all");
});

Deno.test("every Worker entry and every non-module file in the source is embedded", async () => {
  const roots = [ENTRY_POINT, ...INCLUDES.filter((path) => MODULE_EXTENSIONS.test(path))];
  const graphs = await Promise.all(roots.map(moduleGraph));
  const reachable = new Set(graphs.flatMap((graph) => [...graph]));
  const problems: string[] = [];
  for (const file of await sourceFiles()) {
    if (reachable.has(file) || isIncluded(file)) continue;
    if (!MODULE_EXTENSIONS.test(file)) {
      problems.push(`${file} is an asset no import reaches: add it (or its folder) to INCLUDES`);
    } else if (
      /reference\s+lib="deno\.worker"/.test(await Deno.readTextFile(new URL(file, ROOT)))
    ) {
      problems.push(`${file} is a Worker entry: add it to INCLUDES in tools/compile.ts`);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(reachable.has("load/shard.ts"), "the module graph walk found no shard code");
});

Deno.test("the compile argument list has the flags the release relies on", async () => {
  const args = compileArgs({ output: "dist/llmload", target: TARGETS[0].triple });
  assert.equal(args[0], "compile");
  assert.ok(args.includes("--frozen"), "--frozen: the lockfile decides the npm versions");
  assert.ok(args.includes("--exclude-unused-npm"));
  assert.equal(denoJson.nodeModulesDir, "none", "--exclude-unused-npm needs nodeModulesDir none");
  assert.equal(args.at(-1), ENTRY_POINT);
  assert.equal(`./${ENTRY_POINT}`, denoJson.exports);
  // --allow-run only for `sh` (the open-file limit); never for any command.
  assert.ok(!args.includes("--allow-run"), "--allow-run must name its command");
  for (const broad of ["-A", "--allow-all", "--allow-ffi", "--allow-sys"]) {
    assert.ok(!args.some((arg) => arg.split("=")[0] === broad), `${broad} is not needed`);
  }
  for (const path of INCLUDES) {
    assert.ok(args.join(" ").includes(`--include ${path}`));
    await Deno.stat(new URL(path, ROOT)); // throws when an include names a file that is gone
  }
  assert.deepEqual(args.slice(args.indexOf("--target"), args.indexOf("--target") + 2), [
    "--target",
    TARGETS[0].triple,
  ]);
  assert.ok(!compileArgs({ output: "x" }).includes("--target"), "host build: no --target");
  assert.equal(assetName("x86_64-pc-windows-msvc"), "llmload-x86_64-pc-windows-msvc.exe");
  assert.equal(assetName("aarch64-apple-darwin"), "llmload-aarch64-apple-darwin");
  assert.match(denoJson.tasks.compile, /tools\/compile\.ts$/);
  assert.match(denoJson.tasks["compile:all"], /tools\/compile\.ts --all$/);
});

// Captured on a machine without access to dl.deno.land (deno 2.9.6).
const DOWNLOAD_FAILURE = `\x1b[0m\x1b[32mCompile\x1b[0m main.ts to dist/llmload
\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file 'dist/llmload.tmp-da398d6b595f8b9c'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known

Stack backtrace:
   0: <unknown>
`;

Deno.test("a runtime that cannot be downloaded or found is explained with DENORT_BIN", () => {
  const download = explainCompileFailure(DOWNLOAD_FAILURE, {
    target: "x86_64-unknown-linux-gnu",
    denoVersion: "2.9.6",
  });
  assert.equal(
    download?.split("\n")[0],
    "Cannot compile llmload: deno compile could not download its runtime from " +
      "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip " +
      "(failed to lookup address information: Name or service not known)",
  );
  assert.match(download!, /DENORT_BIN=\/path\/to\/denort \(it must be denort 2\.9\.6 for x86_64-/);

  const missing = explainCompileFailure(
    "error: Writing deno compile executable\n\nCaused by:\n    0: Could not find denort at '/opt/denort'\n",
    { target: "aarch64-apple-darwin", denoVersion: "2.9.6" },
  );
  assert.equal(
    missing,
    "Cannot compile llmload: DENORT_BIN is set to '/opt/denort' but no file is there; point it " +
      "at an unzipped denort 2.9.6 for aarch64-apple-darwin, or unset it to let deno compile " +
      "download the runtime",
  );
  // Anything else (a type error, a bad lockfile) speaks for itself.
  assert.equal(explainCompileFailure("error: Type checking failed."), undefined);
});

Deno.test("deno task compile stops with a DENORT_BIN message when the runtime is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llmload-compile-" });
  try {
    const missing = `${dir}/no-such-denort`;
    const result = await denoTask(["compile", "--output", `${dir}/llmload`], {
      DENORT_BIN: missing,
    });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(
      result.stderr.includes(`Cannot compile llmload: DENORT_BIN is set to '${missing}'`),
      result.stderr,
    );

    const all = await denoTask(["compile:all"], { DENORT_BIN: missing });
    assert.equal(all.code, 2);
    assert.match(all.stderr, /Cannot build --all with DENORT_BIN set/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the compile argument list builds here, with deno standing in for denort, and embeds the Workers, assets and tiktoken", async () => {
  // The output is deno itself plus llmload's embedded files: not a working llmload, but deno
  // compile has resolved, type-checked and embedded everything by then, which is what we check.
  // Always for the Linux target, whose payload is appended to the file as is, so any stand-in
  // works on every OS; macOS and Windows payloads go into executable sections instead.
  const dir = await Deno.makeTempDir({ prefix: "llmload-compile-" });
  try {
    const output = `${dir}/llmload`;
    const target = "x86_64-unknown-linux-gnu";
    const result = await denoTask(["compile", "--target", target, "--output", output], {
      DENORT_BIN: Deno.execPath(),
    });
    assert.equal(result.code, 0, result.stderr);
    const embedded = embeddedPaths(result.stderr);
    const covers = (path: string) =>
      embedded.some((entry) =>
        entry === path || (entry.endsWith("/*") && path.startsWith(entry.slice(0, -1)))
      );
    for (const path of [ENTRY_POINT, ...await filesOf(INCLUDES)]) {
      assert.ok(covers(path), `${path} is not embedded; embedded: ${embedded.join(", ")}`);
    }
    assert.ok(
      embedded.some((path) => /^\.deno_compile_node_modules\/[^/]+\/tiktoken\//.test(path)),
      `tiktoken (and its WASM) is not embedded; embedded: ${embedded.join(", ")}`,
    );
    assert.ok((await Deno.stat(output)).size > (await Deno.stat(Deno.execPath())).size);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the include scanner sees literal, template and computed references", () => {
  const refs = runtimeReferences(
    "output/server.ts",
    [
      'new Worker(new URL("../load/worker.ts", import.meta.url), { type: "module" });',
      'await Deno.readTextFile(new URL("./dashboard/index.html", import.meta.url));',
      "await Deno.readFile(new URL(`./dashboard/${name}`, import.meta.url));",
      "new URL(name, import.meta.url);",
      'import.meta.resolve("../providers/mod.ts");',
      "join(import.meta.dirname!, 'x');",
      ' * Read through `new URL("./dashboard/...", import.meta.url)`, a comment line.',
      '// new URL("./gone.ts", import.meta.url)',
    ].join("\n"),
  );
  assert.deepEqual(refs.map((ref) => ref.path ?? ref.problem?.split(" ")[0]), [
    "load/worker.ts",
    "output/dashboard/index.html",
    "output/dashboard",
    "new",
    "providers/mod.ts",
    "import.meta.dirname",
  ]);
  assert.deepEqual(refs.map((ref) => ref.line), [1, 2, 3, 4, 5, 6]);
});

Deno.test("the Embedded Files report is read into paths", () => {
  const report = [
    "Compile main.ts to dist/llmload",
    "",
    "Embedded Files",
    "",
    "llmload",
    "├─┬ .deno_compile_node_modules (25.17MB - 23.58MB unique)",
    "│ └─┬ localhost (25.17MB - 23.58MB unique)",
    "│   └── tiktoken/1.0.22/* (22.5MB - 20.92MB unique)",
    "├── deno.json (997B)",
    "├─┬ load (40.42KB)",
    "│ └── worker.ts (1.71KB)",
    "├─┬ output (400KB)",
    "│ └─┬ dashboard (1KB)",
    "│   └── index.html (1KB)",
    "└── providers/* (9.74KB)",
    "",
    "Files: 24.06MB",
  ].join("\n");
  assert.deepEqual(embeddedPaths(report), [
    ".deno_compile_node_modules",
    ".deno_compile_node_modules/localhost",
    ".deno_compile_node_modules/localhost/tiktoken/1.0.22/*",
    "deno.json",
    "load",
    "load/worker.ts",
    "output",
    "output/dashboard",
    "output/dashboard/index.html",
    "providers/*",
  ]);
});
