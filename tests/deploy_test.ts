/**
 * deploy/k8s and deploy/helm/llmload: every manifest and rendered template is valid against the
 * Kubernetes OpenAPI schemas (`kubernetes-models`, and its prometheus-operator models for the
 * PodMonitor), and the Job's env and args, as the Job controller and the kubelet fill them in
 * for each completion index, reach `--shard I/N`, `--start-at` and a results file per shard.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Service } from "kubernetes-models/v1/Service";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { IContainer } from "kubernetes-models/v1/Container";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { parseCommandLine } from "../cli/command_line.ts";
import { renderTemplate } from "./_helm_render.ts";

const DEPLOY = new URL("../deploy/", import.meta.url);
const START_AT = "2026-12-02T18:00:00Z";

/** The models of the kinds deploy/ holds, by `apiVersion/kind`. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "batch/v1/Job": Job,
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
};

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec: never };

/** Parses YAML documents and validates each against its kind's schema. */
function validated(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).flatMap((document) => {
    assert.deepEqual(document.errors, [], where);
    const manifest = document.toJS() as Manifest | null;
    if (manifest === null) return [];
    const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    assert.ok(Model, `${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
    new Model(manifest as never).validate();
    return [manifest];
  });
}

async function plainManifests(): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for await (const entry of Deno.readDir(new URL("k8s/", DEPLOY))) {
    if (!entry.name.endsWith(".yaml")) continue;
    const text = await Deno.readTextFile(new URL(`k8s/${entry.name}`, DEPLOY));
    manifests.push(...validated(text.replaceAll("__START_AT__", START_AT), entry.name));
  }
  return manifests;
}

async function renderedChart(
  overrides: Record<string, unknown>,
): Promise<Manifest[]> {
  const chart = new URL("helm/llmload/", DEPLOY);
  const values = parseYaml(await Deno.readTextFile(new URL("values.yaml", chart)));
  const context = { Values: { ...values, ...overrides }, Release: { Name: "bench" } };
  const manifests: Manifest[] = [];
  for await (const entry of Deno.readDir(new URL("templates/", chart))) {
    const text = await Deno.readTextFile(new URL(`templates/${entry.name}`, chart));
    manifests.push(...validated(renderTemplate(text, context), entry.name));
  }
  return manifests;
}

function jobs(manifests: Manifest[]): Job[] {
  return manifests.filter((m) => m.kind === "Job").map((m) => new Job(m as never));
}

/**
 * The command line of completion `index`'s container: the env the pod gets (plain values, the
 * annotation the Job controller sets as `SHARD_INDEX`, and `JOB_COMPLETION_INDEX`), and the args
 * with `$(VAR)` expanded as the kubelet does.
 */
function commandOf(container: IContainer, index: number) {
  const env: Record<string, string> = { JOB_COMPLETION_INDEX: String(index) };
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    const path = variable.valueFrom?.fieldRef?.fieldPath;
    if (path === "metadata.annotations['batch.kubernetes.io/job-completion-index']") {
      env[variable.name] = String(index);
    }
  }
  const args = (container.args ?? []).map((arg) =>
    arg.replace(/\$\((\w+)\)/g, (_, name) => env[name] ?? `$(${name})`)
  );
  return parseCommandLine(args, { env, version: "test" });
}

/** The load Job runs N shards whose command lines are `--shard i/N` with a file each. */
function assertShardsReachShard(job: Job, startAt: string) {
  const spec = job.spec!;
  assert.equal(spec.completionMode, "Indexed");
  assert.equal(spec.parallelism, spec.completions);
  const container = spec.template.spec!.containers[0];
  const count = spec.completions!;
  const shardsVar = container.env!.find((variable) => variable.name === "LLMLOAD_SHARDS");
  assert.equal(shardsVar?.value, String(count), "LLMLOAD_SHARDS = completions");
  const files = new Set<string>();
  for (let index = 0; index < count; index++) {
    const parsed = commandOf(container, index);
    assert.equal(parsed.kind, "run");
    if (parsed.kind !== "run") continue;
    assert.deepEqual(parsed.config.shard, { index, count });
    assert.equal(parsed.config.startAt, Date.parse(startAt));
    assert.deepEqual(parsed.warnings, []);
    files.add(parsed.config.jsonFile!);
    const port = container.ports!.find((p) => p.name === "metrics")!.containerPort;
    assert.equal(parsed.config.serve?.port, port);
    const annotations = spec.template.metadata!.annotations!;
    assert.equal(annotations["prometheus.io/scrape"], "true");
    assert.equal(annotations["prometheus.io/port"], String(port));
  }
  assert.equal(files.size, count, "one results file per shard");
  // The API key comes from a Secret only.
  const key = container.env!.find((variable) => variable.name === "LLMLOAD_API_KEY");
  assert.equal(key?.value, undefined);
  assert.ok(key?.valueFrom?.secretKeyRef?.name);
  const mount = container.volumeMounts!.find((m) => m.name === "results")!;
  assert.equal(mount.subPath, "shards");
}

/** The merge Job merges the folder the shards wrote into (the volume's shards/ folder). */
function assertMergeReadsShards(job: Job) {
  const container = job.spec!.template.spec!.containers[0];
  const parsed = commandOf(container, 0);
  assert.equal(parsed.kind, "merge");
  if (parsed.kind !== "merge") return;
  const mount = container.volumeMounts!.find((m) => m.name === "results")!;
  assert.equal(mount.subPath, undefined);
  assert.deepEqual(parsed.merge.files, [`${mount.mountPath}/shards`]);
  assert.ok(parsed.merge.jsonFile?.startsWith(`${mount.mountPath}/`));
}

Deno.test("deploy/k8s: valid manifests; the Indexed Job's env and args reach --shard i/N", async () => {
  const manifests = await plainManifests();
  assert.deepEqual(
    manifests.map((m) => m.kind).sort(),
    ["Job", "Job", "PersistentVolumeClaim", "PodMonitor", "Service"],
  );
  const [load, merge] = jobs(manifests).sort((a, b) =>
    a.metadata!.name!.localeCompare(b.metadata!.name!)
  );
  assertShardsReachShard(load, START_AT);
  assertMergeReadsShards(merge);
  const claim = load.spec!.template.spec!.volumes![0].persistentVolumeClaim!.claimName;
  assert.ok(manifests.some((m) => m.kind === "PersistentVolumeClaim" && m.metadata.name === claim));
});

Deno.test("deploy/helm/llmload: rendered templates are valid, reach --shard, key from a Secret", async () => {
  const values = await Deno.readTextFile(new URL("helm/llmload/values.yaml", DEPLOY));
  assert.doesNotMatch(values, /^\s*apiKey\s*:/m, "no plain value for the API key");
  const startAt = "2026-12-02T19:30:00Z";
  const manifests = await renderedChart({ startAt, shards: 8 });
  assert.deepEqual(
    manifests.map((m) => m.kind).sort(),
    ["Job", "Job", "PersistentVolumeClaim", "PodMonitor", "Service"],
  );
  const [load, merge] = jobs(manifests).sort((a, b) =>
    a.metadata!.name!.localeCompare(b.metadata!.name!)
  );
  assert.equal(load.spec!.completions, 8);
  assertShardsReachShard(load, startAt);
  assertMergeReadsShards(merge);
  assert.equal(merge.metadata!.annotations!["helm.sh/hook"], "test");
  const without = await renderedChart({ startAt, podMonitor: { enabled: false } });
  assert.ok(
    !without.some((m) => m.kind === "PodMonitor"),
    "podMonitor.enabled=false leaves it out",
  );
});

Deno.test("the chart renderer refuses template actions it does not know", () => {
  const context = { Values: { a: 1 }, Release: { Name: "r" } };
  assert.equal(renderTemplate("x: {{ .Values.a }}", context), "x: 1");
  assert.throws(() => renderTemplate("x: {{ toYaml .Values.a }}", context), /Unsupported/);
  assert.throws(() => renderTemplate("x: {{ .Values.b }}", context), /No value at \.Values\.b/);
});
