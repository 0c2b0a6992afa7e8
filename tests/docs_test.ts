/**
 * The README against the code: every option, dialect, results-server route, metric and results
 * field the program has must be documented, the quick start must stay as it is, and statements
 * that used to be true (and are not any more) must not come back. Fast and offline: it reads
 * README.md and the tables the program itself is built from.
 */
import assert from "node:assert/strict";
import { parseCommandLine } from "../lib/cli.ts";
import { envVarName, MOCK_OPTIONS, resolveRunConfig, RUN_OPTIONS } from "../lib/config.ts";
import { buildResults } from "../lib/results.ts";
import { Aggregate, METRIC_NAMES } from "../lib/stats.ts";
import { PROVIDER_NAMES } from "../providers/mod.ts";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

/** Routes of the results server (lib/server.ts). */
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
