/**
 * The folders' layer rules, checked on the real import graph that `deno info --json` reports for
 * `main.ts` and for the Worker entries `load/worker.ts` and `load/clock_worker.ts` (named only by
 * URL), and shown on a fixture graph to name the edge that breaks each rule.
 */
import assert from "node:assert/strict";
import {
  importCycles,
  type LayerRule,
  type ModuleGraph,
  PROGRAM_RULES,
  repositoryEdges,
  ruleViolations,
  WORKER_RULE,
} from "./_layers.ts";

const ROOT = new URL("../", import.meta.url).href;

const graphs = new Map<string, Promise<ModuleGraph>>();

/** The graph of one entry point, read once per test run. */
function graphOf(entry: string): Promise<ModuleGraph> {
  let graph = graphs.get(entry);
  if (!graph) {
    graph = infoJson(entry);
    graphs.set(entry, graph);
  }
  return graph;
}

async function infoJson(entry: string): Promise<ModuleGraph> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** The Worker entries, which `run/coordinator.ts` names only by URL: the shard and the clock. */
const WORKER_ENTRIES = ["load/worker.ts", "load/clock_worker.ts"];

function programRule(name: string): LayerRule {
  const rule = PROGRAM_RULES.find((rule) => rule.name.startsWith(name));
  assert.ok(rule, name);
  return rule;
}

Deno.test("no import cycles, type-only imports included", async () => {
  for (const entry of ["main.ts", ...WORKER_ENTRIES]) {
    assert.deepEqual(importCycles(repositoryEdges(await graphOf(entry), ROOT)), [], entry);
  }
});

for (const name of ["providers/", "transport/", "request/", "output/"]) {
  Deno.test(`layer rule: ${programRule(name).name}`, async () => {
    const edges = repositoryEdges(await graphOf("main.ts"), ROOT);
    assert.deepEqual(ruleViolations(edges, programRule(name)), []);
  });
}

Deno.test("layer rule: only cli/ and main.ts import mock/", async () => {
  const edges = repositoryEdges(await graphOf("main.ts"), ROOT);
  assert.deepEqual(ruleViolations(edges, programRule("only cli/")), []);
});

Deno.test(`layer rule: ${WORKER_RULE.name}`, async () => {
  for (const entry of WORKER_ENTRIES) {
    const edges = repositoryEdges(await graphOf(entry), ROOT);
    assert.ok(edges.some((edge) => edge.from === entry), `the graph has ${entry}`);
    assert.deepEqual(ruleViolations(edges, WORKER_RULE), [], entry);
  }
});

Deno.test("the rules name the edge that breaks them, type-only imports included", async () => {
  const fixture: ModuleGraph = JSON.parse(
    await Deno.readTextFile(new URL("testdata/layers/forbidden_graph.json", import.meta.url)),
  );
  const edges = repositoryEdges(fixture, "file:///repo/");
  assert.deepEqual(importCycles(edges), ["a.ts -> b.ts -> a.ts"]);
  assert.deepEqual(PROGRAM_RULES.flatMap((rule) => ruleViolations(edges, rule)), [
    "providers/ imports nothing outside providers/: providers/x.ts -> run/y.ts",
  ]);
  assert.deepEqual(ruleViolations(edges, WORKER_RULE), [
    "the Worker's graph never reaches run/, output/, cli/ or mock/: providers/x.ts -> run/y.ts",
  ]);
});

Deno.test("the mock rule leaves cli/, main.ts and tests to import mock/", () => {
  const rule = programRule("only cli/");
  const allowed = ["cli/run.ts", "main.ts", "tests/mock_test.ts", "mock/server.ts"];
  assert.deepEqual(allowed.filter((from) => rule.forbids({ from, to: "mock/server.ts" })), []);
  assert.ok(rule.forbids({ from: "options/config.ts", to: "mock/faults.ts" }));
});
