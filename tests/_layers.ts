/**
 * The layer rules of llmload's folders, as a pure function of an import graph in the shape
 * `deno info --json` prints, so `tests/layers_test.ts` can run them on the real graph and on a
 * small fixture that shows each rule catching a forbidden edge.
 *
 * @module
 */

/** The part of `deno info --json` the rules read. */
export interface ModuleGraph {
  /** Every module in the graph. */
  readonly modules: readonly {
    /** The module's URL. */
    readonly specifier: string;
    /** Its imports: `code` for a value import, `type` for a type-only one (both may be set). */
    readonly dependencies?: readonly {
      readonly code?: { readonly specifier: string };
      readonly type?: { readonly specifier: string };
    }[];
  }[];
}

/** One import between two files of the repository, as paths relative to its root. */
export interface ImportEdge {
  /** The importing file, e.g. `providers/openai.ts`. */
  readonly from: string;
  /** The imported file. */
  readonly to: string;
}

/** A rule that some imports break. */
export interface LayerRule {
  /** The rule as a sentence, quoted in every violation. */
  readonly name: string;
  /** Whether this import breaks the rule. */
  readonly forbids: (edge: ImportEdge) => boolean;
}

/**
 * The repository's own imports in `graph`: npm, `node:` and remote modules are left out, and a
 * file imported both as a value and as a type counts once, since a type-only import ties two
 * layers together as much as a value import does.
 */
export function repositoryEdges(graph: ModuleGraph, root: string): ImportEdge[] {
  const edges = new Map<string, ImportEdge>();
  for (const module of graph.modules) {
    if (!module.specifier.startsWith(root)) continue;
    const from = module.specifier.slice(root.length);
    for (const dependency of module.dependencies ?? []) {
      for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
        if (!target?.startsWith(root)) continue;
        const to = target.slice(root.length);
        edges.set(`${from}\n${to}`, { from, to });
      }
    }
  }
  return [...edges.values()];
}

/** `"a.ts -> b.ts"`, the way every violation names its edge. */
function describe(edge: ImportEdge): string {
  return `${edge.from} -> ${edge.to}`;
}

/**
 * The import cycles in `edges`, each as the path that closes it (`"a.ts -> b.ts -> a.ts"`); one
 * per back edge a depth-first walk meets, which is enough to name every cycle's offending import.
 */
export function importCycles(edges: readonly ImportEdge[]): string[] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const done = new Set<string>();
  const path: string[] = [];
  const cycles: string[] = [];
  function visit(file: string): void {
    const open = path.indexOf(file);
    if (open >= 0) {
      cycles.push([...path.slice(open), file].join(" -> "));
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    for (const to of [...(next.get(file) ?? [])].sort()) visit(to);
    path.pop();
    done.add(file);
  }
  for (const file of [...next.keys()].sort()) visit(file);
  return cycles;
}

/** Each import in `edges` that breaks `rule`, as `"rule: from -> to"`. */
export function ruleViolations(edges: readonly ImportEdge[], rule: LayerRule): string[] {
  return edges.filter(rule.forbids).map((edge) => `${rule.name}: ${describe(edge)}`);
}

function inFolder(file: string, ...folders: string[]): boolean {
  return folders.some((folder) => file.startsWith(`${folder}/`));
}

/** Rules on every import reachable from `main.ts`. */
export const PROGRAM_RULES: readonly LayerRule[] = [
  {
    name: "providers/ imports nothing outside providers/",
    forbids: ({ from, to }) => inFolder(from, "providers") && !inFolder(to, "providers"),
  },
  {
    name: "transport/ is self-contained",
    forbids: ({ from, to }) => inFolder(from, "transport") && !inFolder(to, "transport"),
  },
  {
    // A request sees the provider contract (its types and the error class providers throw) and
    // the transport interface, never a dialect or an implementation, so any of them can change
    // without touching request/.
    name: "request/ imports only the provider contract, transport/types.ts, common/ and request/",
    forbids: ({ from, to }) =>
      inFolder(from, "request") && !inFolder(to, "request", "common") &&
      !["providers/types.ts", "providers/server_error.ts", "transport/types.ts"].includes(to),
  },
  {
    name: "output/ never imports run/coordinator.ts (observers depend on run/types.ts)",
    forbids: ({ from, to }) => inFolder(from, "output") && to === "run/coordinator.ts",
  },
  {
    name: "only cli/ and main.ts import mock/",
    forbids: ({ from, to }) =>
      inFolder(to, "mock") && !inFolder(from, "mock", "cli", "tests") && from !== "main.ts",
  },
];

/** The rule on every import reachable from `load/worker.ts`. */
export const WORKER_RULE: LayerRule = {
  // Each Worker loads its own copy of its module graph; the run's coordinator, the output
  // writers, the CLI and the mock have no business there.
  name: "the Worker's graph never reaches run/, output/, cli/ or mock/",
  forbids: ({ to }) => inFolder(to, "run", "output", "cli", "mock"),
};
