/**
 * The release machinery that only GitHub Actions runs, checked as far as it can be here: the
 * workflow files parse as YAML and have the jobs and steps the issue asks for, their shell
 * scripts pass shellcheck (when installed), the Deno version is pinned alike everywhere, and the
 * Dockerfile has a compile stage, a glibc runtime stage, a non-root user and the llmload
 * entrypoint, and is sent every file the binary is built from.
 *
 * @module
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import denoJson from "../deno.json" with { type: "json" };
import { ENTRY_POINT, INCLUDES, TARGETS } from "../tools/compile.ts";
import { needing, toolPath } from "./_tools.ts";

const ROOT = new URL("../", import.meta.url);
const decoder = new TextDecoder();

// deno-lint-ignore no-explicit-any
type Yaml = any;

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly shell?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

async function readText(path: string): Promise<string> {
  return await Deno.readTextFile(new URL(path, ROOT));
}

async function workflow(name: string): Promise<Yaml> {
  return parse(await readText(`.github/workflows/${name}`));
}

/** Index of the first step whose `run` (or `uses`) matches, failing when there is none. */
function stepIndex(steps: Step[], pattern: RegExp): number {
  const index = steps.findIndex((step) => pattern.test(step.run ?? step.uses ?? ""));
  assert.ok(index >= 0, `no step matches ${pattern}`);
  return index;
}

/** The Deno version a `denoland/setup-deno` step installs. */
function setupDenoVersion(steps: Step[]): string {
  const setup = steps[stepIndex(steps, /^denoland\/setup-deno@v\d+$/)];
  return String(setup.with?.["deno-version"]);
}

Deno.test("ci.yml checks and tests on Linux, macOS and Windows, then compiles and smoke-tests the binary", async () => {
  const ci = await workflow("ci.yml");
  assert.ok("push" in ci.on && "pull_request" in ci.on, "CI runs on pushes and pull requests");
  const jobs = Object.values(ci.jobs) as Yaml[];
  const job = jobs.find((j) => Array.isArray(j.strategy?.matrix?.os));
  assert.ok(job, "a job with an os matrix");
  assert.deepEqual(
    [...job.strategy.matrix.os].sort(),
    ["macos-latest", "ubuntu-latest", "windows-latest"],
  );
  assert.equal(job["runs-on"], "${{ matrix.os }}");
  const steps: Step[] = job.steps;
  assert.equal(setupDenoVersion(steps), "2.9.6");

  const check = stepIndex(steps, /^deno task check$/);
  const test = stepIndex(steps, /^deno task test$/);
  const compile = stepIndex(steps, /^deno task compile$/);
  assert.ok(stepIndex(steps, /^actions\/checkout@/) < check);
  assert.ok(check < test && test < compile, "check, then test, then compile");
  // deno task check is the fmt, lint and type check.
  for (const part of ["deno fmt --check", "deno lint", "deno check main.ts"]) {
    assert.ok(denoJson.tasks.check.includes(part), `deno task check runs ${part}`);
  }

  const smoke = steps.slice(compile + 1).filter((step) => step.run);
  for (const step of smoke) assert.equal(step.shell, "bash", `${step.name}: bash on Windows too`);
  const script = smoke.map((step) => step.run).join("\n");
  const required: [RegExp, string][] = [
    [/"\$bin" --version\b/, "--version"],
    [/"\$bin" --help\b/, "--help"],
    [/"\$bin" mock --port 0 .*&$/m, "llmload mock in the background"],
    [/"\$bin" -H "\$mock_url" -t 5s --workers 2 /, "a 5-second load test with 2 workers"],
    [
      /--serve 127\.0\.0\.1:(\d+)[\s\S]*curl -fsS? http:\/\/127\.0\.0\.1:\1\/api\/results/,
      "--serve queried with curl",
    ],
    [/"\$bin" -H "\$mock_url" .*-p 100\b/, "a tokenizer-dependent run"],
  ];
  for (const [pattern, what] of required) assert.match(script, pattern, `smoke test: ${what}`);
  // The 100-token check runs the same tokenizer from source on what the binary sent.
  const env = Object.assign({}, ...smoke.map((step) => step.env ?? {}));
  assert.match(env.CHECK_PROMPT, /count\(prompt\)[\s\S]*!== 100/);
});

Deno.test("release.yml builds every target on a v* tag, checks each on its platform, publishes sums and pushes a multi-arch image", async () => {
  const release = await workflow("release.yml");
  assert.deepEqual(release.on.push.tags, ["v*"]);
  assert.deepEqual(Object.keys(release.on), ["push"], "releases only from tags");
  const { build, verify, publish, image } = release.jobs;

  const buildSteps: Step[] = build.steps;
  assert.equal(setupDenoVersion(buildSteps), "2.9.6");
  const compileAll = stepIndex(buildSteps, /^deno task compile:all$/);
  const sums = stepIndex(buildSteps, /sha256sum llmload-\* > SHA256SUMS/);
  assert.equal(buildSteps[sums]["working-directory" as keyof Step], "dist");
  const upload = stepIndex(buildSteps, /^actions\/upload-artifact@/);
  assert.ok(compileAll < sums && sums < upload);
  assert.match(buildSteps[stepIndex(buildSteps, /install\.sh/)].run!, /OWNER\/llmload/);
  assert.match(
    await readText("install.sh"),
    /^repo="\$\{LLMLOAD_INSTALL_REPO:-OWNER\/llmload\}"$/m,
  );

  // Every target compile:all builds is run on its own kind of machine before publishing.
  assert.deepEqual(
    verify.strategy.matrix.include.map((entry: Yaml) => entry.target).sort(),
    TARGETS.map((target) => target.triple).sort(),
  );
  assert.deepEqual(verify.needs, "build");
  const verifyScript = (verify.steps as Step[]).map((step) => step.run ?? "").join("\n");
  assert.match(verifyScript, /asset="llmload-\$\{TARGET\}"/);
  assert.match(verifyScript, /"\.\/\$asset" --version/);

  assert.equal(publish.needs, "verify");
  assert.equal(publish.permissions.contents, "write");
  const publishScript = (publish.steps as Step[]).map((step) => step.run ?? "").join("\n");
  assert.match(publishScript, /gh release create "\$GITHUB_REF_NAME" dist\/\* --verify-tag/);

  assert.equal(image.needs, "verify");
  assert.equal(image.permissions.packages, "write");
  const imageSteps: Step[] = image.steps;
  const login = imageSteps[stepIndex(imageSteps, /^docker\/login-action@/)];
  assert.equal(login.with?.registry, "ghcr.io");
  const meta = imageSteps[stepIndex(imageSteps, /^docker\/metadata-action@/)];
  assert.equal(meta.with?.images, "ghcr.io/${{ github.repository }}");
  const push = imageSteps[stepIndex(imageSteps, /^docker\/build-push-action@/)];
  assert.equal(push.with?.push, true);
  assert.deepEqual(String(push.with?.platforms).split(","), ["linux/amd64", "linux/arm64"]);
  assert.equal(push.with?.context, ".");
  // No QEMU: the Dockerfile cross-compiles in a stage on the runner's own platform.
  assert.ok(!imageSteps.some((step) => /setup-qemu/.test(step.uses ?? "")));
});

Deno.test("the Deno version is pinned alike in .ci/run, both workflows and the Dockerfile", async () => {
  const pins = {
    ".ci/run": (await readText(".ci/run")).match(/^DENO_VERSION=(\S+)$/m)?.[1],
    "ci.yml": setupDenoVersion((await workflow("ci.yml")).jobs.test.steps),
    "release.yml": setupDenoVersion((await workflow("release.yml")).jobs.build.steps),
    "Dockerfile": (await readText("Dockerfile")).match(/^ARG DENO_VERSION=(\S+)$/m)?.[1],
  };
  assert.deepEqual(new Set(Object.values(pins)).size, 1, JSON.stringify(pins));
});

/** One Dockerfile instruction, continuation lines joined. */
interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

function dockerfileInstructions(text: string): Instruction[] {
  const logical = text.split("\n").filter((line) => !/^\s*#/.test(line)).join("\n")
    .replace(/\\\n/g, " ");
  return logical.split("\n").filter((line) => line.trim() !== "").map((line) => {
    const [, keyword, args] = line.trim().match(/^(\S+)\s*(.*)$/)!;
    return { keyword: keyword.toUpperCase(), args: args.trim() };
  });
}

/** The stages of a Dockerfile: the instructions after each FROM. */
function stages(instructions: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

/** Local files of the binary's module graph, as repository paths. */
async function localModules(): Promise<string[]> {
  const roots = [ENTRY_POINT, ...INCLUDES.filter((path) => path.endsWith(".ts"))];
  const files = new Set<string>();
  for (const root of roots) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    const info = JSON.parse(decoder.decode(output.stdout)) as { modules: { specifier: string }[] };
    for (const { specifier } of info.modules) {
      if (!specifier.startsWith("file:")) continue;
      files.add(relative(fileURLToPath(ROOT), fileURLToPath(specifier)).replaceAll("\\", "/"));
    }
  }
  return [...files].sort();
}

Deno.test("the Dockerfile compiles in a build stage and runs llmload as non-root on a glibc base", async () => {
  const text = await readText("Dockerfile");
  const [build, runtime, ...more] = stages(dockerfileInstructions(text));
  assert.equal(more.length, 0, "two stages");

  const from = build[0].args;
  assert.match(from, /^--platform=\$BUILDPLATFORM denoland\/deno:\$\{DENO_VERSION\} AS build$/);
  const compile = build.find((i) => i.keyword === "RUN" && /deno task compile /.test(i.args));
  assert.ok(compile, "the build stage runs deno task compile");
  assert.match(compile.args, /--target "\$target" --output dist\/llmload/);
  const linux = TARGETS.filter((target) => target.os === "Linux");
  for (const [arch, target] of [["amd64", "x86_64"], ["arm64", "aarch64"]]) {
    const triple = linux.find((t) => t.arch === target)!.triple;
    assert.match(compile.args, new RegExp(`${arch}\\) target=${triple} ;;`));
  }

  // deno compile binaries link glibc dynamically: no musl (alpine), no empty base (scratch).
  assert.match(runtime[0].args, /^(gcr\.io\/distroless\/cc-debian\d+|debian:[\w.-]*slim)(:|$)/);
  const copy = runtime.find((i) => i.keyword === "COPY");
  assert.equal(copy?.args, "--from=build /src/dist/llmload /usr/local/bin/llmload");
  const users = runtime.filter((i) => i.keyword === "USER").map((i) => i.args);
  assert.ok(users.length > 0, "the runtime stage sets USER");
  assert.doesNotMatch(users.at(-1)!, /^(root|0)(:|$)/, "the last USER is not root");
  const entrypoint = runtime.filter((i) => i.keyword === "ENTRYPOINT").at(-1);
  assert.deepEqual(JSON.parse(entrypoint!.args), ["/usr/local/bin/llmload"]);
});

Deno.test("the Docker build is sent, and copies, every file the binary is built from", async () => {
  const needed = [
    "deno.json",
    "deno.lock",
    "tools/compile.ts",
    ...INCLUDES,
    ...await localModules(),
  ];
  const copies = stages(dockerfileInstructions(await readText("Dockerfile")))[0]
    .filter((i) => i.keyword === "COPY")
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1)) // the last word is the destination
    .map((source) => source.replace(/\/$/, ""));
  const kept = (await readText(".dockerignore")).split("\n")
    .filter((line) => line.startsWith("!"))
    .map((line) => line.slice(1).replace(/\/$/, ""));
  assert.match(await readText(".dockerignore"), /^\*$/m, ".dockerignore starts from nothing");
  const under = (path: string, entries: string[]) =>
    entries.some((entry) => path === entry || path.startsWith(`${entry}/`));
  for (const path of needed) {
    assert.ok(under(path, copies), `the Dockerfile does not COPY ${path}`);
    assert.ok(under(path, kept), `.dockerignore keeps ${path} out of the build context`);
  }
});

Deno.test(needing(["shellcheck"], {
  name: "the workflows' bash scripts pass shellcheck",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "llmload-workflows-" });
    try {
      const files: string[] = [];
      for (const name of ["ci.yml", "release.yml"]) {
        for (const [jobName, job] of Object.entries((await workflow(name)).jobs as Yaml)) {
          for (const [index, step] of (job as { steps: Step[] }).steps.entries()) {
            if (!step.run) continue;
            // GitHub substitutes ${{ }} before the shell runs; any word stands in for it here.
            const script = step.run.replace(/\$\{\{[^}]*\}\}/g, "VALUE");
            const file = `${dir}/${name}-${jobName}-${index}.sh`;
            await Deno.writeTextFile(file, `#!/usr/bin/env bash\n${script}`);
            files.push(file);
          }
        }
      }
      const output = await new Deno.Command(toolPath("shellcheck")!, {
        args: ["--shell=bash", "--severity=style", ...files],
        stdout: "piped",
      }).output();
      assert.equal(output.code, 0, decoder.decode(output.stdout));
      assert.ok(files.length >= 8, `found only ${files.length} scripts`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
}));
