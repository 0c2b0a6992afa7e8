import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { resolveRunConfig } from "../options/config.ts";
import { envVarName, parseConfigFile, settingsFromEnv } from "../options/sources.ts";
import { OPTION_GROUPS } from "../options/spec.ts";
import { DEMO_DEFAULTS, RUN_OPTIONS } from "../options/table.ts";
import { MOCK_OPTIONS, resolveMockOptions } from "../mock/options.ts";
import { UsageError } from "../common/errors.ts";
import type { RunConfig } from "../options/types.ts";

/** A config's fields by name, to look them up by a key from the table. */
function fieldsOf(config: RunConfig): Readonly<Record<string, unknown>> {
  return { ...config };
}

function assertUsageError(action: () => unknown, message: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("envVarName is LLMLOAD_ and the long name in upper snake case", () => {
  assert.equal(envVarName("max-tokens"), "LLMLOAD_MAX_TOKENS");
  assert.equal(envVarName("api-key"), "LLMLOAD_API_KEY");
  assert.equal(envVarName("users"), "LLMLOAD_USERS");
});

Deno.test("the option table has unique names and short flags, and groups in seed order", () => {
  const names = RUN_OPTIONS.map((spec) => spec.name);
  assert.equal(new Set(names).size, names.length);
  const shorts = RUN_OPTIONS.flatMap((spec) => spec.short ?? []);
  assert.deepEqual(shorts.toSorted(), ["H", "k", "m", "n", "o", "p", "r", "t", "u"]);
  const groupsInOrder = [...new Set(RUN_OPTIONS.map((spec) => spec.group))];
  assert.deepEqual(groupsInOrder, [...OPTION_GROUPS]);
  for (const spec of [...RUN_OPTIONS, ...MOCK_OPTIONS]) {
    assert.ok(
      spec.default !== undefined || spec.unset !== undefined,
      `${spec.name} shows a default`,
    );
  }
});

Deno.test("every option of the table with a key lands in its RunConfig field, from each source", () => {
  // Values of many kinds: each option takes the first its own parser accepts and that differs
  // from what it resolves to unset, so the field shows the value really arrived.
  const samples = [
    "7",
    "0.25",
    "false",
    "true",
    "uniform",
    "fetch",
    "openai",
    "some text",
    "1s:2s",
    "flag",
    "prompt=q",
    "e2e<=2s",
    "2s:3",
    "embeddings",
    "low",
    "64x64",
    "responses",
    "after",
    "postgresql://llmload@127.0.0.1:5432/llmload",
    "1/4",
  ];
  // Options that are refused alone, with the settings that make them valid.
  const companions: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    turns: { chat: "true" },
    images: { chat: "true" },
    "images-per-request": { chat: "true", images: "64x64" },
    "images-position": { chat: "true", images: "64x64" },
    "reasoning-effort": { chat: "true" },
    shard: { "start-at": "7", warmup: "0" },
    "dataset-sessions": {
      chat: "true",
      dataset: "tests/testdata/workloads/sharegpt_sessions.json",
    },
  };
  const keyed = RUN_OPTIONS.flatMap((spec) =>
    spec.key === undefined ? [] : [{ name: spec.name, key: spec.key, parse: spec.parse }]
  );
  assert.ok(keyed.length > 0);
  assert.equal(new Set(keyed.map((spec) => spec.key)).size, keyed.length, "keys are unique");
  const unset = fieldsOf(resolveRunConfig({}));
  for (const spec of RUN_OPTIONS) {
    if (spec.key === undefined) continue;
    const fallback = spec.default === undefined ? undefined : spec.parse(spec.default);
    assert.deepEqual(unset[spec.key], fallback, `${spec.key} unset is --${spec.name}'s default`);
    assert.equal(spec.key in unset, spec.default !== undefined, `${spec.key} absent when unset`);
  }
  for (const { name, key, parse } of keyed) {
    const value = samples.find((sample) => {
      try {
        return !isDeepStrictEqual(parse(sample), unset[key]);
      } catch {
        return false;
      }
    });
    assert.ok(value !== undefined, `no sample value fits --${name}`);
    const others = companions[name] ?? {};
    const sources = {
      flag: resolveRunConfig({ ...others, [name]: value }),
      environment: resolveRunConfig(others, { env: { [envVarName(name)]: value } }),
      "config file": resolveRunConfig(others, { configText: `${name} = ${value}\n` }),
    };
    for (const [source, config] of Object.entries(sources)) {
      assert.deepEqual(fieldsOf(config)[key], parse(value), `--${name} ${value} (${source})`);
    }
  }
});

Deno.test("parseConfigFile reads key = value lines, comments, underscores, quotes and CRLF", () => {
  const text = [
    "# a locust.conf-style file",
    "",
    "users = 8",
    "max_tokens=128",
    "  chat = true  ",
    "prompt-text = '  spaced  '",
    "header = A: 1",
    "header = B: 2\r",
  ].join("\r\n");
  const layer = parseConfigFile(text, { path: "my.conf" });
  assert.deepEqual(layer.get("users"), [{ value: "8", label: "users", where: "my.conf line 3" }]);
  assert.deepEqual(layer.get("max-tokens"), [
    { value: "128", label: "max_tokens", where: "my.conf line 4" },
  ]);
  assert.equal(layer.get("chat")?.[0].value, "true");
  assert.equal(layer.get("prompt-text")?.[0].value, "  spaced  ");
  assert.deepEqual(layer.get("header")?.map((item) => item.value), ["A: 1", "B: 2"]);
  assert.equal(layer.size, 5);
});

Deno.test("parseConfigFile names the file and line of a malformed line", () => {
  assertUsageError(
    () => parseConfigFile("users = 2\n\nusers 8\n", { path: "llmload.conf" }),
    "Cannot parse llmload.conf line 3: expected key = value",
  );
  assertUsageError(
    () => parseConfigFile("model =\n"),
    "Cannot parse llmload.conf line 1: expected a value after 'model ='",
  );
});

Deno.test("parseConfigFile names the file and line of an unknown key", () => {
  assertUsageError(
    () => parseConfigFile("# c\nusres = 8\n", { path: "x.conf" }),
    "Unknown key 'usres' in x.conf line 2: did you mean users?",
  );
  assertUsageError(
    () => parseConfigFile("config = other.conf\n", { path: "x.conf" }),
    "Unknown key 'config' in x.conf line 1: expected a long option name such as max-tokens " +
      "(see llmload --help)",
  );
});

Deno.test("parseConfigFile refuses a repeated key other than header", () => {
  assertUsageError(
    () => parseConfigFile("users = 1\nmax-tokens = 3\nusers = 2\n"),
    "Duplicate key 'users' in llmload.conf line 3: already set on line 1",
  );
});

Deno.test("settingsFromEnv reads LLMLOAD_ variables, skips empty ones, splits headers by line", () => {
  const layer = settingsFromEnv({
    LLMLOAD_USERS: "4",
    LLMLOAD_MODEL: "",
    LLMLOAD_HEADER: "A: 1\n\nB: 2\n",
    UNRELATED: "x",
  });
  assert.deepEqual(layer.get("users"), [
    { value: "4", label: "LLMLOAD_USERS", where: "environment" },
  ]);
  assert.equal(layer.has("model"), false);
  assert.deepEqual(layer.get("header")?.map((item) => item.value), ["A: 1", "B: 2"]);
});

Deno.test("config-file values are validated like flags and name their line", () => {
  assertUsageError(
    () => resolveRunConfig({}, { configText: "# x\nusers = 0\n", configPath: "llmload.conf" }),
    "Invalid users '0' (llmload.conf line 2): expected a whole number of at least 1",
  );
  assertUsageError(
    () => resolveRunConfig({}, { configText: "stream = maybe\n" }),
    "Invalid stream 'maybe' (llmload.conf line 1): expected true or false",
  );
  assertUsageError(
    () => resolveRunConfig({}, { configText: "header = nocolon\n" }),
    "Invalid header (llmload.conf line 1): no ':' found, expected name:value, such as " +
      "'X-Request-Source: llmload'",
  );
});

Deno.test("switches in the config file take true and false", () => {
  const on = resolveRunConfig({}, { configText: "chat = true\nstream = false\n" });
  assert.equal(on.chat, true);
  assert.equal(on.stream, false);
  const off = resolveRunConfig({}, { configText: "chat = False\n" });
  assert.equal(off.chat, false);
});

Deno.test("environment values are validated and say they came from the environment", () => {
  assertUsageError(
    () => resolveRunConfig({}, { env: { LLMLOAD_USERS: "-3" } }),
    "Invalid LLMLOAD_USERS '-3' (environment): expected a whole number of at least 1",
  );
  assertUsageError(
    () => resolveRunConfig({}, { env: { LLMLOAD_RUN_TIME: "5 minutes" } }),
    "Invalid LLMLOAD_RUN_TIME '5 minutes' (environment): expected a number of seconds or a " +
      "duration such as 250ms, 1.5s, 30s, 5m, 5min, 2h or 1h30m",
  );
});

Deno.test("a prompt file named in the environment is read and its failure says so", () => {
  const config = resolveRunConfig({}, {
    env: { LLMLOAD_PROMPT_TEXT: "@prompt.txt" },
    readTextFile: (path) => `contents of ${path}`,
  });
  assert.equal(config.promptText, "contents of prompt.txt");
  assertUsageError(
    () =>
      resolveRunConfig({}, {
        env: { LLMLOAD_PROMPT_TEXT: "@gone.txt" },
        readTextFile: () => {
          throw new Deno.errors.NotFound("gone");
        },
      }),
    "Cannot read LLMLOAD_PROMPT_TEXT file 'gone.txt' (environment): no such file",
  );
});

Deno.test("--burst and --qps from different sources still conflict, naming both", () => {
  assertUsageError(
    () => resolveRunConfig({ burst: "2" }, { configText: "qps = 1\n", configPath: "a.conf" }),
    "Cannot use --burst together with qps (a.conf line 1): --burst paces fixed users and --qps " +
      "sets a fixed rate, choose one",
  );
});

Deno.test("demo defaults replace the run defaults but not given values", () => {
  const demo = resolveRunConfig({}, { defaults: DEMO_DEFAULTS });
  assert.equal(demo.runTimeMs, 15_000);
  assert.equal(demo.users, 8);
  assert.equal(demo.spawnRate, 8);
  assert.equal(demo.stream, true);
  const given = resolveRunConfig({ users: "2" }, {
    defaults: DEMO_DEFAULTS,
    env: { LLMLOAD_RUN_TIME: "3s" },
  });
  assert.equal(given.users, 2);
  assert.equal(given.runTimeMs, 3_000);
});

Deno.test("unset options are absent from the config, not undefined", () => {
  const config = resolveRunConfig({});
  for (const key of ["model", "provider", "apiKey", "runTimeMs", "qps", "burstSeconds", "seed"]) {
    assert.equal(key in config, false, key);
  }
});

Deno.test("a later header replaces an earlier one of the same name in any case", () => {
  const config = resolveRunConfig({ header: ["X-A: 1", "x-a: 2", "B:3"] });
  assert.deepEqual(config.headers, { "x-a": "2", B: "3" });
});

Deno.test("resolveMockOptions applies defaults and validates", () => {
  assert.deepEqual(resolveMockOptions({}), {
    hostname: "127.0.0.1",
    port: 8000,
    ttftMs: 50,
    itlMs: 20,
    jitter: 0,
    models: ["mock-model"],
    dialect: "vllm",
    stopEarly: false,
    ignoreLengthControls: false,
    emptyRate: 0,
    promptCache: false,
    faults: [],
    tokenizer: "o200k_base",
  });
  assert.equal(resolveMockOptions({ jitter: "0.25" }).jitter, 0.25);
  const shaped = resolveMockOptions({ "empty-rate": "10%", context: "4096", "prompt-cache": true });
  assert.deepEqual(
    [shaped.emptyRate, shaped.context, shaped.promptCache],
    [0.1, 4096, true],
  );
  assertUsageError(
    () => resolveMockOptions({ context: "0" }),
    "Invalid --context '0': expected a whole number of at least 1",
  );
  assertUsageError(
    () => resolveMockOptions({ jitter: "150%" }),
    "Invalid --jitter '150%': expected a percentage such as 10% or a fraction such as 0.1, " +
      "from 0 to 1",
  );
  assertUsageError(
    () => resolveMockOptions({ itl: "fast" }),
    "Invalid --itl 'fast': expected a number of seconds or a duration such as 250ms, 1.5s, 30s, " +
      "5m, 5min, 2h or 1h30m",
  );
});

Deno.test("mock --fault takes KIND[:RATE], repeatable; rates add up to at most 1", () => {
  const mock = resolveMockOptions({ fault: ["http_503:10%", "reset:0.2"] });
  assert.deepEqual(mock.faults, [{ kind: "http_503", rate: 0.1 }, { kind: "reset", rate: 0.2 }]);
  assert.deepEqual(resolveMockOptions({ fault: ["stall"] }).faults, [{ kind: "stall", rate: 1 }]);
  assert.deepEqual(resolveMockOptions({}).faults, []);
  assert.throws(
    () => resolveMockOptions({ fault: ["boom"] }),
    /Invalid --fault 'boom': expected KIND\[:RATE\] with KIND one of http_400/,
  );
  assert.throws(
    () => resolveMockOptions({ fault: ["reset:2"] }),
    /expected a rate above 0 and at most 1/,
  );
  assert.throws(
    () => resolveMockOptions({ fault: ["reset:60%", "stall:50%"] }),
    /Invalid --fault rates: they add up to 1\.1, expected at most 1/,
  );
  assert.equal(resolveMockOptions({ dialect: "tgi" }).dialect, "tgi");
  assert.equal(resolveMockOptions({ "stop-early": true }).stopEarly, true);
});
