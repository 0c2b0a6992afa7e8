/**
 * Optional programs that some tests spawn (shellcheck, Prometheus, Chromium, a shell…): one place
 * finds them without throwing, and a test that needs a missing one is skipped with a line naming
 * the Debian package to install. A fresh clone then passes `deno task test` with none of them.
 * Private to the tests.
 *
 * @module
 */
import fs from "node:fs";

/** How to find one optional program and check that it runs. */
export interface ToolSpec {
  /** The Debian package that installs it. */
  readonly debianPackage: string;
  /** Arguments of a quick run that exits 0 when the program works. */
  readonly probeArgs: readonly string[];
  /** Absolute paths tried before `PATH`, for programs that tests start by path. */
  readonly paths?: readonly string[];
}

/** Every optional program a test spawns, by the name it is run as. */
export const TOOLS = {
  shellcheck: { debianPackage: "shellcheck", probeArgs: ["--version"] },
  promtool: { debianPackage: "prometheus", probeArgs: ["--version"] },
  prometheus: { debianPackage: "prometheus", probeArgs: ["--version"] },
  // playwright starts Chromium by path, so the path itself must hold a working browser.
  chromium: {
    debianPackage: "chromium",
    probeArgs: ["--headless", "--no-sandbox", "--version"],
    paths: ["/usr/bin/chromium"],
  },
  bash: { debianPackage: "bash", probeArgs: ["-c", "exit 0"] },
  // dash, Debian's sh, has no --version.
  sh: { debianPackage: "dash", probeArgs: ["-c", "exit 0"] },
  curl: { debianPackage: "curl", probeArgs: ["--version"] },
  mkfifo: { debianPackage: "coreutils", probeArgs: ["--version"] },
  tmux: { debianPackage: "tmux", probeArgs: ["-V"] },
  openssl: { debianPackage: "openssl", probeArgs: ["version"] },
  // Debian keeps the server's programs off PATH, in one folder per major version.
  initdb: { debianPackage: "postgresql", probeArgs: ["--version"], paths: postgresPaths("initdb") },
  pg_ctl: { debianPackage: "postgresql", probeArgs: ["--version"], paths: postgresPaths("pg_ctl") },
  srun: { debianPackage: "slurm-wlm", probeArgs: ["--version"] },
  // Exits 0 only while a Slurm controller answers: an installed but stopped Slurm is missing.
  sinfo: { debianPackage: "slurm-wlm", probeArgs: ["-h"] },
} as const satisfies Record<string, ToolSpec>;

/** Where Debian's `postgresql` puts `program`, newest major version first. */
function postgresPaths(program: string): string[] {
  return [17, 16, 15, 14, 13].map((major) => `/usr/lib/postgresql/${major}/bin/${program}`);
}

/** The name of an optional program in {@link TOOLS}. */
export type ToolName = keyof typeof TOOLS;

/**
 * The absolute path of a working `name`: the first of `spec.paths`, then of the `PATH`
 * directories (`searchPath`, by default this process's `PATH`), that is an executable file and
 * exits 0 when run with `spec.probeArgs`. `undefined` when there is none; never throws, also
 * without permission to read or run.
 *
 * @example
 * ```ts
 * findTool("shellcheck", { debianPackage: "shellcheck", probeArgs: ["--version"] });
 * // "/usr/bin/shellcheck", or undefined
 * ```
 */
export function findTool(
  name: string,
  spec: ToolSpec,
  options: { readonly searchPath?: string } = {},
): string | undefined {
  let searchPath = options.searchPath;
  try {
    searchPath ??= Deno.env.get("PATH") ?? "";
  } catch {
    searchPath = "";
  }
  const separator = Deno.build.os === "windows" ? ";" : ":";
  const candidates = [
    ...(spec.paths ?? []),
    ...searchPath.split(separator).filter((dir) => dir !== "").map((dir) => `${dir}/${name}`),
  ];
  return candidates.find((path) => isExecutableFile(path) && runs(path, spec.probeArgs));
}

function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

function runs(path: string, args: readonly string[]): boolean {
  try {
    const output = new Deno.Command(path, {
      args: [...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return output.success;
  } catch {
    return false;
  }
}

const found = new Map<ToolName, string | undefined>();

/** The path of the optional program `name` on this machine, looked up once per test process. */
export function toolPath(name: ToolName): string | undefined {
  if (!found.has(name)) found.set(name, findTool(name, TOOLS[name]));
  return found.get(name);
}

/**
 * `test` with `ignore` set when one of `tools` is missing, and a line printed that says which
 * and what to install, so a skipped test is never silent.
 *
 * @example
 * ```ts
 * Deno.test(needing(["shellcheck"], { name: "install.sh passes shellcheck", fn }));
 * // prints "skipped: install.sh passes shellcheck: needs shellcheck (Debian package shellcheck)"
 * ```
 */
export function needing(
  tools: readonly ToolName[],
  test: Deno.TestDefinition,
): Deno.TestDefinition {
  if (test.ignore) return test;
  const missing = tools.filter((tool) => toolPath(tool) === undefined);
  if (missing.length === 0) return test;
  const needs = missing.map((tool) => `${tool} (Debian package ${TOOLS[tool].debianPackage})`);
  console.warn(`skipped: ${test.name}: needs ${needs.join(" and ")}`);
  return { ...test, ignore: true };
}

/**
 * Loads playwright-core. At load it checks for WSL by testing whether
 * /proc/sys/fs/binfmt_misc/WSLInterop exists, and Deno grants paths under /proc/sys only with
 * --allow-all, which `deno task test` does not give. No Linux host this runs on is WSL, so that
 * one check is answered "no" while the module loads.
 */
export async function loadPlaywright(): Promise<typeof import("playwright-core")> {
  const existsSync = fs.existsSync;
  fs.existsSync = (path: fs.PathLike) =>
    String(path).startsWith("/proc/sys/fs/binfmt_misc/") ? false : existsSync(path);
  try {
    return await import("playwright-core");
  } finally {
    fs.existsSync = existsSync;
  }
}

/**
 * Opens a self-contained report file in headless Chromium with the network cut off: every
 * request other than the file itself is aborted and its URL kept in `fetched`. The caller closes
 * `browser`.
 */
export async function openOffline(path: string, viewport: { width: number; height: number }) {
  const { chromium } = await loadPlaywright();
  const browser = await chromium.launch({
    executablePath: toolPath("chromium"),
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"],
  });
  const tab = await browser.newPage({ viewport });
  const fetched: string[] = [];
  await tab.route("**/*", (route) => {
    const url = route.request().url();
    if (!url.startsWith("file:")) fetched.push(url);
    return url.startsWith("file:") ? route.continue() : route.abort();
  });
  await tab.goto(`file://${path}`);
  return { browser, tab, fetched };
}
