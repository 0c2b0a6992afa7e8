/**
 * The README against the code: every option, dialect, results-server route, metric and results
 * field the program has must be documented, the quick start must stay as it is, and statements
 * that used to be true (and are not any more) must not come back. Offline: it reads README.md
 * and the tables the program itself is built from, and one test compares the sample console
 * output with a real 3 s demo run.
 */
import assert from "node:assert/strict";
import { parseCommandLine } from "../cli/command_line.ts";
import { resolveRunConfig } from "../options/config.ts";
import { envVarName } from "../options/sources.ts";
import { RUN_OPTIONS } from "../options/table.ts";
import { MOCK_OPTIONS } from "../mock/options.ts";
import { SWEEP_OPTIONS } from "../cli/sweep.ts";
import { formatProgress } from "../output/progress.ts";
import { buildResults } from "../output/results.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { METRIC_NAMES } from "../stats/metrics.ts";
import { PROVIDER_NAMES } from "../providers/mod.ts";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

/** Routes of the results server (output/server.ts). */
const SERVER_ROUTES = [
  "/api/results",
  "/api/timeseries",
  "/metrics",
  "/healthz",
  "/api/stop",
  "/api/load",
];

/** The two quick-start commands, which CI and the brief promise work on a fresh machine. */
const QUICK_START = [
  "npx -y deno@2.9.6 task demo",
  "npx -y deno@2.9.6 task test",
];

/** Sentences of the first README that the code has since made false. */
const STALE_PHRASES = [
  "accepts only `openai`",
  "are not supported yet",
  "does not guess from the URL yet",
  "rejected today",
  "There is no web UI",
  "Hugging Face `tokenizer.json`: not yet",
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether `text` holds `word` not as part of a longer name (`--n` is not in `--no-stream`). */
function mentions(text: string, word: string): boolean {
  return new RegExp(`(?<![\\w-])${escapeRegExp(word)}(?![\\w-])`).test(text);
}

/**
 * The README text under `heading`, up to the next heading of the same or a higher level; lines in
 * fenced code blocks (`# a shell comment`) are not headings.
 */
function section(heading: string): string {
  const lines = README.split("\n");
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `README has no heading '${heading}'`);
  const level = heading.match(/^#+/)![0].length;
  const ends = new RegExp(`^#{1,${level}} `);
  let fenced = false;
  let end = start + 1;
  for (; end < lines.length; end++) {
    if (lines[end].startsWith("```")) fenced = !fenced;
    else if (!fenced && ends.test(lines[end])) break;
  }
  return lines.slice(start + 1, end).join("\n");
}

/** The words whose `form` (e.g. `--name`) is not mentioned in `text`. */
function missing(words: readonly string[], text: string, form: (word: string) => string) {
  return words.filter((word) => !mentions(text, form(word)));
}

Deno.test("README documents every run option with its environment variable", () => {
  const names = RUN_OPTIONS.map((spec) => spec.name);
  assert.deepEqual(missing(names, README, (name) => `--${name}`), []);
  assert.deepEqual(missing(names, README, envVarName), []);
  const shorts = RUN_OPTIONS.filter((spec) => spec.short !== undefined);
  const undocumented = shorts.filter((spec) => !README.includes(`-${spec.short}, --${spec.name}`));
  assert.deepEqual(undocumented.map((spec) => spec.name), []);
});

Deno.test("README documents every sweep option under Sweeps", () => {
  const sweep = section("## Sweeps and the largest load that meets an SLO");
  const names = SWEEP_OPTIONS.map((spec) => spec.name);
  assert.deepEqual(missing(names, sweep, (name) => `--${name}`), []);
});

Deno.test("README documents every mock option under Mock server", () => {
  const mock = section("## Mock server");
  assert.deepEqual(missing(MOCK_OPTIONS.map((spec) => spec.name), mock, (name) => `--${name}`), []);
});

Deno.test("README names every provider dialect, in the Providers table too", () => {
  assert.ok(PROVIDER_NAMES.length >= 11, "the registry lost dialects");
  assert.deepEqual(missing(PROVIDER_NAMES, README, (name) => name), []);
  const providers = section("## Providers");
  const rows = PROVIDER_NAMES.filter((name) =>
    !new RegExp(`^\\| ${escapeRegExp(name)} +\\|`, "m").test(providers)
  );
  assert.deepEqual(rows, []);
});

Deno.test("README documents every route of the results server", () => {
  const live = section("## Live results: `--serve` and `--html`");
  assert.deepEqual(SERVER_ROUTES.filter((route) => !mentions(live, route)), []);
});

Deno.test("README defines every metric in the Metrics table", () => {
  const metrics = section("## Metrics");
  assert.deepEqual(missing(METRIC_NAMES, metrics, (name) => `\`${name}\``), []);
});

Deno.test("README's Results JSON table lists every top-level field of real results", () => {
  const config = resolveRunConfig({}, { env: {} });
  const results = buildResults(new Aggregate(), {
    provider: "vllm",
    model: "mock-model",
    config,
    startedAt: 0,
    endedAt: 1000,
    durationMs: 1000,
    client: {
      verdict: "ok",
      peakCpu: 0.5,
      peakLoopLagMs: 1,
      saturatedSamples: 0,
      delayedSamples: 0,
      peakDelayMs: 0,
      samples: 1,
    },
    warnings: [],
  });
  const fields = Object.keys(results);
  // The fields this README change was about; a rename would slip past the loop below otherwise.
  assert.ok(fields.includes("client"));
  assert.ok("promptMismatches" in results.tokens);
  const table = section("### Results JSON");
  assert.deepEqual(missing(fields, table, (field) => `\`${field}\``), []);
  assert.ok(mentions(table, "promptMismatches"), "tokens.promptMismatches is not described");
});

Deno.test("README keeps the quick-start commands verbatim, in the Quick start section", () => {
  const quickStart = section("## Quick start");
  for (const command of QUICK_START) {
    assert.ok(quickStart.includes(`\n${command}\n`), `Quick start lost '${command}'`);
  }
});

Deno.test("README no longer makes the first version's outdated claims", () => {
  assert.deepEqual(STALE_PHRASES.filter((phrase) => README.includes(phrase)), []);
});

Deno.test("--help mentions every run option", () => {
  const parsed = parseCommandLine(["--help"], { env: {}, version: "x" });
  assert.equal(parsed.kind, "help");
  const help = parsed.kind === "help" ? parsed.text : "";
  const names = RUN_OPTIONS.map((spec) => spec.name);
  assert.deepEqual(missing(names, help, (name) => `--${name}`), []);
  const shorts = RUN_OPTIONS.filter((spec) => spec.short !== undefined);
  assert.deepEqual(
    shorts.filter((spec) => !help.includes(`-${spec.short}, --${spec.name}`)).map((s) => s.name),
    [],
  );
});

/** The fenced `text` blocks of `markdown`, in order. */
function textBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```text\n([\s\S]*?)\n```$/gm)].map((match) => match[1]);
}

/**
 * A line's form: every number becomes `N` and runs of spaces one space, so a line from another
 * run (other timings, another port) reads the same while any other change shows.
 */
function form(line: string): string {
  return line.replace(/\d+(\.\d+)?/g, "N").replace(/ +/g, " ").trimEnd();
}

/** The first column of the metric table and the keys of the summary block of `text`. */
function metricsAndKeys(text: string): { metrics: string[]; keys: string[] } {
  const lines = text.split("\n");
  const header = lines.findIndex((line) => line.startsWith("metric "));
  const metrics = lines.slice(header + 1, lines.indexOf("", header)).map((l) => l.split(" ")[0]);
  const summary = lines.findIndex((line) => / Summary =+$/.test(line));
  const keys = lines.slice(summary + 1, lines.indexOf("=".repeat(80), summary))
    .map((line) => line.split(":")[0].trim());
  return { metrics, keys };
}

Deno.test("README's sample console output has the form of a real demo run", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"],
      ...[new URL("../main.ts", import.meta.url).pathname, "demo", "-t", "3s"],
    ],
    env: { NO_COLOR: "1", LLMLOAD_API_KEY: "", OPENAI_API_KEY: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout).trimEnd();
  const stderr = decoder.decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const [startup, progress, results] = textBlocks(section("### Console"));

  // Before the load: the same lines, in the same order.
  // A loaded test machine may add a saturation warning; that is not part of the form.
  const realStartup = stderr.split("\n")
    .filter((line) => !line.startsWith("[") && !line.startsWith("Warning: "));
  const startupLines = startup.split("\n");
  assert.deepEqual(startupLines.map(form), realStartup.slice(0, startupLines.length).map(form));
  // The progress line (a 3 s run prints none when not on a terminal, so the formatter's own).
  const figures = { elapsedMs: 5000, completed: 21, failed: 0, inFlight: 8, requestsPerSec: 4.2 };
  assert.equal(
    form(progress),
    form(formatProgress({ ...figures, tokensPerSec: 271, ttftP50: 53 })),
  );
  // After it: the same metrics, summary keys and lines, numbers aside.
  const documented = metricsAndKeys(results);
  assert.deepEqual(documented.metrics.slice(0, 2), ["ttft", "ttfvt"]);
  assert.deepEqual(documented.keys.slice(0, 2), ["Provider", "Model"]);
  assert.deepEqual(documented, metricsAndKeys(stdout));
  assert.deepEqual(results.split("\n").map(form), stdout.split("\n").map(form));
});

Deno.test("README says how the mock counts prompt tokens as the mock does", () => {
  for (const stale of ["as a word count", "the prompt's word count", "hence 505"]) {
    assert.ok(!README.includes(stale), `README still says '${stale}'`);
  }
  assert.ok(section("## Mock server").includes("o200k_base"));
});
