/**
 * install.sh against a fake release on 127.0.0.1: the asset for the platform is chosen (by the
 * real `uname`, and by a stand-in `uname` for the others), its SHA-256 is checked against
 * SHA256SUMS, a mismatch is refused, an unsupported platform is explained, and shellcheck has
 * nothing to say when it is installed. install.sh is a POSIX shell script, so not run on Windows.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { assetName, TARGETS } from "../tools/compile.ts";
import { needing, type ToolName, toolPath } from "./_tools.ts";

const INSTALL_SH = new URL("../install.sh", import.meta.url);
const ON_WINDOWS = Deno.build.os === "windows";
const UNIX_TARGETS = TARGETS.filter((target) => target.os !== "Windows");
const decoder = new TextDecoder();
/** install.sh runs under bash or sh and downloads with curl. */
const INSTALL_TOOLS: ToolName[] = ["bash", "sh", "curl"];

/** A fake binary: a script that says which asset it is. */
function fakeBinary(triple: string): string {
  return `#!/bin/sh\necho "fake llmload for ${triple}"\n`;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The files of a release as the release workflow writes them: binaries and SHA256SUMS. */
function releaseFiles(): Map<string, string> {
  const files = new Map(UNIX_TARGETS.map((t) => [assetName(t.triple), fakeBinary(t.triple)]));
  const sums = [...files].map(([name, body]) => `${sha256(body)}  ${name}\n`).join("");
  files.set("SHA256SUMS", sums);
  return files;
}

/** A release server on 127.0.0.1 and the paths it was asked for. */
interface ReleaseServer {
  readonly baseUrl: string;
  readonly requested: string[];
}

async function withReleaseServer(
  files: Map<string, string>,
  body: (server: ReleaseServer) => Promise<void>,
): Promise<void> {
  const requested: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const path = new URL(request.url).pathname;
      requested.push(path);
      const file = files.get(path.replace(/^\/download\//, ""));
      return file === undefined ? new Response("Not Found", { status: 404 }) : new Response(file);
    },
  );
  try {
    await body({ baseUrl: `http://127.0.0.1:${server.addr.port}/download`, requested });
  } finally {
    await server.shutdown();
  }
}

/** What one install.sh run did. */
interface InstallRun {
  readonly code: number;
  readonly stderr: string;
}

/**
 * Runs install.sh with `shell` in a clean environment; `uname` fakes `uname -s` and `uname -m`.
 */
async function install(
  dir: string,
  options: { baseUrl: string; args?: string[]; shell?: "bash" | "sh"; uname?: [string, string] },
): Promise<InstallRun> {
  let path = Deno.env.get("PATH") ?? "/usr/bin:/bin";
  if (options.uname) {
    const fakeBin = await Deno.makeTempDir({ dir, prefix: "uname-" });
    const [os, arch] = options.uname;
    await Deno.writeTextFile(
      `${fakeBin}/uname`,
      `#!/bin/sh\ncase "$1" in -m) echo '${arch}' ;; *) echo '${os}' ;; esac\n`,
      { mode: 0o755 },
    );
    path = `${fakeBin}:${path}`;
  }
  const output = await new Deno.Command(toolPath(options.shell ?? "bash")!, {
    args: [INSTALL_SH.pathname, ...(options.args ?? [])],
    clearEnv: true,
    env: { PATH: path, HOME: `${dir}/home`, LLMLOAD_INSTALL_BASE_URL: options.baseUrl },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return { code: output.code, stderr: decoder.decode(output.stderr) };
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "llmload-install-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test(needing(INSTALL_TOOLS, {
  name: "install.sh installs this machine's binary into PREFIX/bin after checking its SHA-256",
  ignore: ON_WINDOWS,
  fn: () =>
    withTempDir((dir) =>
      withReleaseServer(releaseFiles(), async (server) => {
        const result = await install(dir, {
          baseUrl: server.baseUrl,
          args: ["--prefix", `${dir}/opt`],
        });
        assert.equal(result.code, 0, result.stderr);
        // The script's own detection must agree with Deno's idea of this machine.
        const installed = `${dir}/opt/bin/llmload`;
        assert.equal(await Deno.readTextFile(installed), fakeBinary(Deno.build.target));
        assert.equal((await Deno.stat(installed)).mode! & 0o111, 0o111, "not executable");
        assert.deepEqual(server.requested, [
          "/download/SHA256SUMS",
          `/download/${assetName(Deno.build.target)}`,
        ]);
        assert.match(result.stderr, /is not on your PATH/);
        const run = await new Deno.Command(installed, { stdout: "piped" }).output();
        assert.equal(decoder.decode(run.stdout).trim(), `fake llmload for ${Deno.build.target}`);
      })
    ),
}));

Deno.test(needing(INSTALL_TOOLS, {
  name: "install.sh under a POSIX sh defaults to ~/.local/bin and replaces an older llmload",
  ignore: ON_WINDOWS,
  fn: () =>
    withTempDir((dir) =>
      withReleaseServer(releaseFiles(), async (server) => {
        await Deno.mkdir(`${dir}/home/.local/bin`, { recursive: true });
        await Deno.writeTextFile(`${dir}/home/.local/bin/llmload`, "old");
        const result = await install(dir, { baseUrl: server.baseUrl, shell: "sh" });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(
          await Deno.readTextFile(`${dir}/home/.local/bin/llmload`),
          fakeBinary(Deno.build.target),
        );
        assert.deepEqual([...Deno.readDirSync(`${dir}/home/.local/bin`)].map((e) => e.name), [
          "llmload",
        ]);
      })
    ),
}));

Deno.test(needing(INSTALL_TOOLS, {
  name: "install.sh maps every supported uname to its release asset",
  ignore: ON_WINDOWS,
  fn: () =>
    withTempDir((dir) =>
      withReleaseServer(releaseFiles(), async (server) => {
        const cases: [os: string, arch: string, triple: string][] = [
          ["Linux", "x86_64", "x86_64-unknown-linux-gnu"],
          ["Linux", "aarch64", "aarch64-unknown-linux-gnu"],
          ["Linux", "arm64", "aarch64-unknown-linux-gnu"],
          ["Darwin", "x86_64", "x86_64-apple-darwin"],
          ["Darwin", "arm64", "aarch64-apple-darwin"],
        ];
        assert.deepEqual(
          [...new Set(cases.map(([, , triple]) => triple))].sort(),
          UNIX_TARGETS.map((t) => t.triple).sort(),
          "every Linux and macOS release target needs a case",
        );
        await Promise.all(cases.map(async ([os, arch, triple], index) => {
          const prefix = `${dir}/p${index}`;
          const result = await install(dir, {
            baseUrl: server.baseUrl,
            args: [`--prefix=${prefix}`],
            uname: [os, arch],
          });
          assert.equal(result.code, 0, `${os} ${arch}: ${result.stderr}`);
          assert.equal(await Deno.readTextFile(`${prefix}/bin/llmload`), fakeBinary(triple));
        }));
      })
    ),
}));

Deno.test(needing(INSTALL_TOOLS, {
  name: "install.sh refuses a checksum mismatch, an unlisted asset and a failed download",
  ignore: ON_WINDOWS,
  fn: () =>
    withTempDir(async (dir) => {
      const host = assetName(Deno.build.target);
      const tampered = releaseFiles();
      tampered.set(host, fakeBinary(Deno.build.target) + "echo tampered\n");
      await withReleaseServer(tampered, async (server) => {
        const result = await install(dir, { baseUrl: server.baseUrl });
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          new RegExp(
            `Checksum mismatch for ${host}: SHA256SUMS says [0-9a-f]{64}, the download is [0-9a-f]{64}; not installing it`,
          ),
        );
      });

      const unlisted = releaseFiles();
      unlisted.set("SHA256SUMS", unlisted.get("SHA256SUMS")!.replace(host, "other"));
      await withReleaseServer(unlisted, async (server) => {
        const result = await install(dir, { baseUrl: server.baseUrl });
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          new RegExp(`Cannot check ${host}: SHA256SUMS has no line for it`),
        );
      });

      const missing = releaseFiles();
      missing.delete(host);
      await withReleaseServer(missing, async (server) => {
        const result = await install(dir, { baseUrl: server.baseUrl });
        assert.equal(result.code, 1);
        assert.ok(
          result.stderr.includes(`Cannot download ${server.baseUrl}/${host}`),
          result.stderr,
        );
      });
      assert.equal(
        await exists(`${dir}/home/.local/bin/llmload`),
        false,
        "something was installed",
      );
    }),
}));

// Nothing is downloaded here, so curl is not needed.
Deno.test(needing(["bash"], {
  name: "install.sh explains an unsupported platform and downloads nothing",
  ignore: ON_WINDOWS,
  fn: () =>
    withTempDir((dir) =>
      withReleaseServer(releaseFiles(), async (server) => {
        const cases: [os: string, arch: string, expected: RegExp][] = [
          [
            "SunOS",
            "sun4v",
            /^install\.sh: Cannot install llmload on SunOS sun4v: release binaries exist for Linux \(x86_64, aarch64; glibc\), macOS \(x86_64, arm64\) and Windows \(x86_64\); on other platforms build from source with Deno/,
          ],
          [
            "Linux",
            "riscv64",
            /Cannot install llmload on Linux riscv64: release binaries exist for/,
          ],
          ["Darwin", "ppc", /Cannot install llmload on Darwin ppc: /],
          [
            "MINGW64_NT-10.0-19045",
            "x86_64",
            /on Windows: download llmload-x86_64-pc-windows-msvc\.exe and SHA256SUMS .*Get-FileHash/,
          ],
        ];
        for (const [os, arch, expected] of cases) {
          const result = await install(dir, { baseUrl: server.baseUrl, uname: [os, arch] });
          assert.equal(result.code, 1, `${os} ${arch}`);
          assert.match(result.stderr, expected);
        }
        assert.deepEqual(server.requested, []);
        const usage = await install(dir, { baseUrl: server.baseUrl, args: ["--prefx", "x"] });
        assert.equal(usage.code, 1);
        assert.match(usage.stderr, /Unknown option '--prefx': expected --prefix DIR or --version/);
      })
    ),
}));

Deno.test(needing(["shellcheck"], {
  name: "install.sh passes shellcheck",
  ignore: ON_WINDOWS,
  fn: async () => {
    const output = await new Deno.Command(toolPath("shellcheck")!, {
      args: ["--shell=sh", INSTALL_SH.pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, decoder.decode(output.stdout) + decoder.decode(output.stderr));
  },
}));
