import assert from "node:assert/strict";
import { parseCommandLine, readCommandLine } from "../cli/command_line.ts";
import type { CommandLineOptions, ParsedCommand } from "../cli/command_line.ts";
import { invalidUtf8Offset, readUtf8File } from "../options/files.ts";
import { OPTION_GROUPS } from "../options/spec.ts";
import { RUN_OPTIONS } from "../options/table.ts";
import { UsageError } from "../common/errors.ts";
import type { RunConfig } from "../options/types.ts";

const HELP_SNAPSHOT = new URL("./testdata/help.txt", import.meta.url);

function noFiles(path: string): string {
  throw new Deno.errors.NotFound(`test reader has no file ${path}`);
}

function parse(argv: string[], options: Partial<CommandLineOptions> = {}): ParsedCommand {
  return parseCommandLine(argv, { env: {}, version: "9.9.9", readTextFile: noFiles, ...options });
}

function run(argv: string[], options: Partial<CommandLineOptions> = {}): RunConfig {
  const parsed = parse(argv, options);
  assert.equal(parsed.kind, "run");
  return (parsed as { config: RunConfig }).config;
}

function assertUsageError(
  argv: string[],
  message: string,
  options: Partial<CommandLineOptions> = {},
): void {
  assert.throws(() => parse(argv, options), (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    assert.equal(error.message, message);
    return true;
  });
}

const DURATIONS =
  "a number of seconds or a duration such as 250ms, 1.5s, 30s, 5m, 5min, 2h or 1h30m";

// Defaults

/** The config of a run with no arguments. */
const DEFAULT_CONFIG: RunConfig = {
  host: "http://localhost:80",
  headers: {},
  users: 1,
  spawnRate: 1,
  qpsDistribution: "constant",
  traceSpeed: 1,
  promptTokens: 512,
  promptTokensDistribution: "constant",
  promptTokensRange: 0.3,
  prefixGroups: 1,
  datasetShuffle: false,
  datasetLimit: 100_000,
  datasetMaxTokens: "dataset",
  datasetSessions: false,
  mode: "generate",
  embeddingsBatchSize: 1,
  rerankQuery: "Which of these documents answers the question best?",
  numDocuments: 16,
  maxTokens: 64,
  maxTokensDistribution: "constant",
  maxTokensRange: 0.3,
  maxTokensJitter: 0,
  chat: false,
  stream: true,
  temperature: 1,
  tokenizer: "o200k_base",
  workers: 0,
  transport: "http1",
  insecure: false,
  timeoutMs: 600_000,
  promptRandomize: false,
  n: 1,
  showResponse: false,
  preflight: false,
  keepGoing: false,
  pgOptional: false,
  stopGraceMs: 10_000,
  serverMetrics: "auto",
};

Deno.test("no arguments runs a load test with the seed's defaults", () => {
  assert.deepEqual(run([]), DEFAULT_CONFIG);
});

Deno.test("the run config and its headers are frozen", () => {
  const config = run(["--header", "A: 1"]);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.headers));
});

Deno.test("every run option is read from its flag", () => {
  const config = run([
    "-H",
    "https://api.example.com/inference/",
    "-m",
    "m1",
    "--provider",
    "openai",
    "-k",
    "sk-1",
    "--header",
    "X-A: 1",
    "-u",
    "100",
    "-r",
    "2.5",
    "-t",
    "1min",
    "--qps",
    "0.5",
    "--qps-distribution",
    "exponential",
    "-p",
    "128",
    "--prompt-text",
    "hello",
    "-o",
    "200",
    "--max-tokens-distribution",
    "normal",
    "--max-tokens-range",
    "0.5",
    "--max-tokens-cap",
    "300",
    "--max-tokens-jitter",
    "5",
    "--chat",
    "--no-stream",
    "--logprobs",
    "1",
    "--temperature",
    "0",
    "--tokenizer",
    "cl100k_base",
    "--summary-file",
    "out.csv",
    "--json",
    "out.json",
    "--warmup",
    "30s",
    "--workers",
    "3",
    "--transport",
    "node",
    "--insecure",
    "--timeout",
    "10s",
    "--seed",
    "42",
    "--prompt-randomize",
    "-n",
    "2",
    "--show-response",
    "--preflight",
    "--keep-going",
    "--serve",
    "0.0.0.0:9090",
    "--serve-token",
    "tok",
    "--serve-linger",
    "5s",
    "--html",
    "out.html",
    "--max-fail-ratio",
    "0.05",
    "--max-requests",
    "1000",
    "--stop-grace",
    "3s",
  ]);
  assert.deepEqual(config, {
    // What no flag above sets keeps its default.
    ...DEFAULT_CONFIG,
    host: "https://api.example.com/inference",
    model: "m1",
    provider: "openai",
    apiKey: "sk-1",
    headers: { "X-A": "1" },
    users: 100,
    spawnRate: 2.5,
    runTimeMs: 60_000,
    qps: 0.5,
    qpsDistribution: "exponential",
    promptTokens: 128,
    promptText: "hello",
    maxTokens: 200,
    maxTokensDistribution: "normal",
    maxTokensRange: 0.5,
    maxTokensCap: 300,
    maxTokensJitter: 5,
    chat: true,
    stream: false,
    logprobs: 1,
    temperature: 0,
    tokenizer: "cl100k_base",
    summaryFile: "out.csv",
    jsonFile: "out.json",
    warmupMs: 30_000,
    workers: 3,
    transport: "node",
    insecure: true,
    timeoutMs: 10_000,
    seed: 42,
    promptRandomize: true,
    n: 2,
    showResponse: true,
    preflight: true,
    keepGoing: true,
    serve: { hostname: "0.0.0.0", port: 9090 },
    serveToken: "tok",
    serveLingerMs: 5000,
    htmlFile: "out.html",
    maxFailRatio: 0.05,
    maxRequests: 1000,
    stopGraceMs: 3000,
  });
});

Deno.test("--burst takes seconds and --warmup 0 means never reset", () => {
  const config = run(["--burst", "2", "--warmup", "0"]);
  assert.equal(config.burstSeconds, 2);
  assert.equal(config.warmupMs, 0);
});

Deno.test("--no-stream turns streaming off and --stream keeps it on", () => {
  assert.equal(run(["--no-stream"]).stream, false);
  assert.equal(run(["--stream"]).stream, true);
  assert.equal(run(["--no-stream", "--stream"]).stream, true);
});

Deno.test("--header repeats and splits at the first colon", () => {
  const config = run(["--header", "X-A: 1", "--header", "Authorization:Bearer a:b"]);
  assert.deepEqual(config.headers, { "X-A": "1", Authorization: "Bearer a:b" });
});

Deno.test("--prompt-text @file reads a real file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/prompt.txt`;
    Deno.writeTextFileSync(path, "Write a long story.\n");
    const config = run(["--prompt-text", `@${path}`], { readTextFile: Deno.readTextFileSync });
    assert.equal(config.promptText, "Write a long story.\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// Validation: one test per rule

Deno.test("rejects --users 0", () => {
  assertUsageError(["-u", "0"], "Invalid --users '0': expected a whole number of at least 1");
});

Deno.test("rejects a fractional --users", () => {
  assertUsageError(["--users=2.5"], "Invalid --users '2.5': expected a whole number of at least 1");
});

Deno.test("rejects --spawn-rate 0", () => {
  assertUsageError(
    ["-r", "0"],
    "Invalid --spawn-rate '0': expected a number greater than 0, such as 0.5 or 8",
  );
});

Deno.test("rejects --qps 0", () => {
  assertUsageError(
    ["--qps", "0"],
    "Invalid --qps '0': expected a number greater than 0, such as 0.5 or 8",
  );
});

Deno.test("rejects a --qps that is not a number", () => {
  assertUsageError(
    ["--qps", "fast"],
    "Invalid --qps 'fast': expected a number greater than 0, such as 0.5 or 8",
  );
});

Deno.test("rejects --burst 0", () => {
  assertUsageError(
    ["--burst", "0"],
    "Invalid --burst '0': expected a number of seconds greater than 0, such as 2 or 0.5",
  );
});

Deno.test("rejects --prompt-tokens 0", () => {
  assertUsageError(
    ["-p", "0"],
    "Invalid --prompt-tokens '0': expected a whole number of at least 1",
  );
});

Deno.test("rejects --max-tokens 0", () => {
  assertUsageError(["-o", "0"], "Invalid --max-tokens '0': expected a whole number of at least 1");
});

Deno.test("rejects an unknown --qps-distribution", () => {
  assertUsageError(
    ["--qps-distribution", "poisson"],
    "Invalid --qps-distribution 'poisson': expected constant, uniform or exponential",
  );
});

Deno.test("rejects an unknown --max-tokens-distribution", () => {
  assertUsageError(
    ["--max-tokens-distribution", "gamma"],
    "Invalid --max-tokens-distribution 'gamma': expected constant, uniform, normal or exponential",
  );
});

Deno.test("rejects an unknown --transport", () => {
  assertUsageError(
    ["--transport", "curl"],
    "Invalid --transport 'curl': expected http1, node or fetch",
  );
});

Deno.test("rejects --burst together with --qps", () => {
  assertUsageError(
    ["--qps", "1", "--burst", "2"],
    "Cannot use --burst together with --qps: --burst paces fixed users and --qps sets a fixed " +
      "rate, choose one",
  );
});

Deno.test("rejects a --prompt-text @file that cannot be read", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assertUsageError(
      ["--prompt-text", `@${dir}/missing.txt`],
      `Cannot read --prompt-text file '${dir}/missing.txt': no such file`,
      { readTextFile: Deno.readTextFileSync },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("rejects a --host without a scheme", () => {
  assertUsageError(
    ["-H", "localhost:8000"],
    "Invalid --host 'localhost:8000': expected an http:// or https:// URL such as " +
      "http://localhost:8000",
  );
});

Deno.test("rejects a --host that is not http or https", () => {
  assertUsageError(
    ["-H", "ftp://example.com"],
    "Invalid --host 'ftp://example.com': expected an http:// or https:// URL such as " +
      "http://localhost:8000",
  );
});

Deno.test("rejects a negative --max-tokens-range", () => {
  assertUsageError(
    ["--max-tokens-range", "-0.5"],
    "Invalid --max-tokens-range '-0.5': expected a number of at least 0",
  );
});

Deno.test("rejects --max-tokens-cap below 1", () => {
  assertUsageError(
    ["--max-tokens-cap", "0"],
    "Invalid --max-tokens-cap '0': expected a whole number of at least 1",
  );
});

Deno.test("rejects a negative --logprobs", () => {
  assertUsageError(
    ["--logprobs", "-1"],
    "Invalid --logprobs '-1': expected a whole number of at least 0",
  );
});

Deno.test("rejects a --header without a colon", () => {
  assertUsageError(
    ["--header", "X-A=1"],
    "Invalid --header: no ':' found, expected name:value, such as 'X-Request-Source: llmload'",
  );
});

Deno.test("rejects a duration written as '5 minutes'", () => {
  assertUsageError(["-t", "5 minutes"], `Invalid --run-time '5 minutes': expected ${DURATIONS}`);
});

Deno.test("rejects a zero --timeout", () => {
  assertUsageError(
    ["--timeout", "0"],
    "Invalid --timeout '0': expected a duration above 0, such as 30s, 5min or 1h30m",
  );
});

Deno.test("rejects an unknown --provider", () => {
  assert.throws(() => parse(["--provider", "nosuch"]), /^UsageError: Invalid --provider 'nosuch'/);
});

Deno.test("rejects an unknown option and suggests the near one", () => {
  assertUsageError(["--usres", "3"], "Unknown option '--usres': did you mean --users?");
});

Deno.test("rejects an option without its value", () => {
  assertUsageError(["-u"], "Missing value after -u, --users <n>");
});

Deno.test("rejects an unknown command", () => {
  assertUsageError(
    ["bench"],
    "Unknown command 'bench': expected one of run, demo, probe, sweep, mock, merge, runs, show, compare, " +
      "export, report, rm, help (options start with -; see llmload --help)",
  );
});

Deno.test("rejects run options written before a command", () => {
  assertUsageError(
    ["-u", "3", "demo"],
    "Cannot use --users before 'demo': put options after the command, e.g. llmload demo " +
      "--users ...",
  );
});

// Sources and precedence

Deno.test("precedence is flag, then environment, then config file, then default", () => {
  const configText = "users = 3\nmax-tokens = 30\nstream = false\n";
  const env = { LLMLOAD_USERS: "4", LLMLOAD_MAX_TOKENS: "40", LLMLOAD_STREAM: "true" };
  const all = run(["-u", "5", "-o", "50", "--no-stream"], { env, configText });
  assert.deepEqual([all.users, all.maxTokens, all.stream], [5, 50, false]);
  const envAndFile = run([], { env, configText });
  assert.deepEqual([envAndFile.users, envAndFile.maxTokens, envAndFile.stream], [4, 40, true]);
  const fileOnly = run([], { configText });
  assert.deepEqual([fileOnly.users, fileOnly.maxTokens, fileOnly.stream], [3, 30, false]);
  const none = run([]);
  assert.deepEqual([none.users, none.maxTokens, none.stream], [1, 64, true]);
});

Deno.test("headers come whole from the highest source that has any", () => {
  const configText = "header = A: file\nheader = B: file\n";
  assert.deepEqual(run([], { configText }).headers, { A: "file", B: "file" });
  assert.deepEqual(
    run([], { configText, env: { LLMLOAD_HEADER: "C: env" } }).headers,
    { C: "env" },
  );
  assert.deepEqual(
    run(["--header", "D: flag"], { configText, env: { LLMLOAD_HEADER: "C: env" } }).headers,
    { D: "flag" },
  );
});

Deno.test("the API key falls back to OPENAI_API_KEY only when llmload names none", () => {
  assert.equal(run([], { env: { OPENAI_API_KEY: "sk-openai" } }).apiKey, "sk-openai");
  assert.equal(
    run([], { env: { OPENAI_API_KEY: "sk-openai", LLMLOAD_API_KEY: "sk-llm" } }).apiKey,
    "sk-llm",
  );
  assert.equal(
    run([], { env: { OPENAI_API_KEY: "sk-openai" }, configText: "api_key = sk-file\n" }).apiKey,
    "sk-file",
  );
  assert.equal(run(["-k", "sk-flag"], { env: { LLMLOAD_API_KEY: "sk-llm" } }).apiKey, "sk-flag");
  assert.equal("apiKey" in run([]), false);
});

Deno.test("environment values get the same validation and say where they came from", () => {
  assertUsageError(
    [],
    "Invalid LLMLOAD_USERS '-3' (environment): expected a whole number of at least 1",
    { env: { LLMLOAD_USERS: "-3" } },
  );
});

Deno.test("config-file values get the same validation and name the line", () => {
  assertUsageError(
    [],
    "Invalid qps '0' (llmload.conf line 2): expected a number greater than 0, such as 0.5 or 8",
    { configText: "# rate\nqps = 0\n", configPath: "llmload.conf" },
  );
});

Deno.test("--config reads a real file instead of the default one", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/sweep.conf`;
    Deno.writeTextFileSync(path, "# sweep\nusers = 16\nheader = X-Run: 1\n");
    const config = run(["--config", path], {
      configText: "users = 2\nmax-tokens = 7\n",
      readTextFile: Deno.readTextFileSync,
    });
    assert.equal(config.users, 16);
    assert.equal(config.maxTokens, 64);
    assert.deepEqual(config.headers, { "X-Run": "1" });
    assertUsageError(
      ["--config", path],
      `Invalid users '0' (${path} line 2): expected a whole number of at least 1`,
      { readTextFile: () => "# sweep\nusers = 0\n" },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("LLMLOAD_CONFIG names the config file too", () => {
  const config = run([], {
    env: { LLMLOAD_CONFIG: "team.conf" },
    readTextFile: (path) => path === "team.conf" ? "users = 9\n" : noFiles(path),
  });
  assert.equal(config.users, 9);
});

Deno.test("a --config file that cannot be read is a usage error", () => {
  assertUsageError(
    ["--config", "nope.conf"],
    "Cannot read --config file 'nope.conf': no such file",
  );
});

Deno.test("a bad config file line fails the run with its line number", () => {
  assertUsageError(
    [],
    "Unknown key 'user' in llmload.conf line 1: did you mean users?",
    { configText: "user = 8\n", configPath: "llmload.conf" },
  );
});

Deno.test("readCommandLine reads ./llmload.conf from the working directory", () => {
  const dir = Deno.makeTempDirSync();
  const previous = Deno.cwd();
  try {
    Deno.writeTextFileSync(`${dir}/llmload.conf`, "users = 12\n");
    Deno.chdir(dir);
    const parsed = readCommandLine(["-o", "9"], { version: "1", env: {} });
    assert.equal(parsed.kind, "run");
    const config = (parsed as { config: RunConfig }).config;
    assert.deepEqual([config.users, config.maxTokens], [12, 9]);
  } finally {
    Deno.chdir(previous);
    Deno.removeSync(dir, { recursive: true });
  }
});

// Commands

Deno.test("demo takes the run options with its own defaults", () => {
  const parsed = parse(["demo"]);
  assert.equal(parsed.kind, "demo");
  const config = (parsed as { config: RunConfig }).config;
  assert.deepEqual(
    [config.runTimeMs, config.users, config.spawnRate, config.stream],
    [15_000, 8, 8, true],
  );
  const given = parse(["demo", "-u", "2", "-t", "3s", "--no-stream"], {
    env: { LLMLOAD_SPAWN_RATE: "4" },
  });
  const givenConfig = (given as { config: RunConfig }).config;
  assert.deepEqual(
    [givenConfig.runTimeMs, givenConfig.users, givenConfig.spawnRate, givenConfig.stream],
    [3_000, 2, 4, false],
  );
});

Deno.test("mock reads durations, jitter as a percentage or fraction, and repeated models", () => {
  assert.deepEqual(
    parse([
      "mock",
      "--ttft",
      "50ms",
      "--itl",
      "0.02",
      "--jitter",
      "10%",
      "--port",
      "0",
      "--fault",
      "http_429:5%",
      "--fault",
      "stall:1%",
      "--dialect",
      "ollama",
      "--stop-early",
    ]),
    {
      kind: "mock",
      mock: {
        hostname: "127.0.0.1",
        port: 0,
        ttftMs: 50,
        itlMs: 20,
        jitter: 0.1,
        models: ["mock-model"],
        dialect: "ollama",
        stopEarly: true,
        ignoreLengthControls: false,
        emptyRate: 0,
        promptCache: false,
        faults: [{ kind: "http_429", rate: 0.05 }, { kind: "stall", rate: 0.01 }],
        tokenizer: "o200k_base",
      },
    },
  );
  const parsed = parse(["mock", "--jitter", "0.1", "--model", "a", "--model", "b"]);
  assert.equal(parsed.kind, "mock");
  const mock = (parsed as Extract<ParsedCommand, { kind: "mock" }>).mock;
  assert.equal(mock.jitter, 0.1);
  assert.deepEqual(mock.models, ["a", "b"]);
  assert.ok(Object.isFrozen(mock));
});

Deno.test("mock rejects a port out of range", () => {
  assertUsageError(
    ["mock", "--port", "70000"],
    "Invalid --port '70000': expected a whole number from 0 to 65535",
  );
});

Deno.test("--version returns the caller's version", () => {
  assert.deepEqual(parse(["--version"]), { kind: "version", text: "9.9.9" });
  assert.deepEqual(parse(["-V"]), { kind: "version", text: "9.9.9" });
});

// Help

Deno.test("--help matches tests/testdata/help.txt (UPDATE_SNAPSHOTS=1 rewrites it)", () => {
  const parsed = parse(["--help"]);
  assert.equal(parsed.kind, "help");
  const text = `${(parsed as { text: string }).text}\n`;
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") Deno.writeTextFileSync(HELP_SNAPSHOT, text);
  assert.equal(text, Deno.readTextFileSync(HELP_SNAPSHOT));
});

Deno.test("help lists every option, with a default, under the six groups in seed order", () => {
  const text = (parse(["-h"]) as { text: string }).text;
  for (const spec of RUN_OPTIONS) {
    const short = spec.short === undefined ? "" : `-${spec.short}, `;
    const placeholder = spec.value === undefined
      ? ""
      : spec.optionalValue
      ? ` [${spec.value}]`
      : ` <${spec.value}>`;
    assert.ok(text.includes(`\n  ${short}--${spec.name}${placeholder} `), `--${spec.name}`);
  }
  assert.ok(text.includes("--no-stream"));
  // Each option's description (which may wrap) ends with its default, so count them.
  assert.equal(text.match(/\(default:\s/g)?.length, RUN_OPTIONS.length);
  const positions = OPTION_GROUPS.map((group) => text.indexOf(`\n${group}:\n`));
  assert.ok(positions.every((position) => position > 0), "every group title is present");
  assert.deepEqual(positions, positions.toSorted((a, b) => a - b));
  assert.match(text, /LLMLOAD_<OPTION_NAME>/);
  assert.match(text, /OPENAI_API_KEY/);
});

Deno.test("help for demo shows the demo defaults, help for mock its options", () => {
  const demo = (parse(["demo", "--help"]) as { text: string }).text;
  assert.match(demo, /Usage: llmload demo \[options\]/);
  assert.match(demo, /--users <n>[^(]*\(default: 8\)/);
  assert.match(demo, /--run-time <duration>[^(]*\(default: 15s\)/);
  const mock = parse(["help", "mock"]);
  assert.equal(mock.kind, "help");
  const mockText = (mock as { text: string }).text;
  for (const flag of ["--hostname", "--port", "--ttft", "--itl", "--jitter", "--model"]) {
    assert.ok(mockText.includes(flag), flag);
  }
});

Deno.test("--server-metrics takes a URL or nothing (auto); --no-server-metrics turns it off", () => {
  assert.equal(run([]).serverMetrics, "auto");
  assert.equal(run(["--server-metrics"]).serverMetrics, "auto");
  assert.equal(run(["--server-metrics", "-u", "3"]).users, 3);
  assert.equal(run(["--server-metrics", "-u", "3"]).serverMetrics, "auto");
  assert.equal(
    run(["--server-metrics", "http://10.0.0.5:8002/metrics"]).serverMetrics,
    "http://10.0.0.5:8002/metrics",
  );
  assert.equal(run(["--no-server-metrics"]).serverMetrics, "off");
  assert.throws(
    () => run(["--server-metrics=ftp://x"]),
    /--server-metrics 'ftp:\/\/x': expected auto, off, or an http:\/\/ or https:\/\/ URL/,
  );
});

Deno.test("--serve takes a port or host:port; --max-fail-ratio a fraction", () => {
  assert.deepEqual(run(["--serve", "9090"]).serve, { hostname: "127.0.0.1", port: 9090 });
  assert.deepEqual(run(["--serve", "[::1]:9"]).serve, { hostname: "::1", port: 9 });
  assertUsageError(
    ["--serve", "localhost"],
    "Invalid --serve 'localhost': expected a port such as 9090, or host:port such as 0.0.0.0:9090",
  );
  assertUsageError(
    ["--max-fail-ratio", "1.5"],
    "Invalid --max-fail-ratio '1.5': expected a number from 0 to 1, such as 0.05",
  );
  assertUsageError(
    ["--max-requests", "0"],
    "Invalid --max-requests '0': expected a whole number of at least 1",
  );
});

// Values that cannot be sent, options taken for values, what is accepted without a word

function usageMessage(argv: string[], options: Partial<CommandLineOptions> = {}): string {
  try {
    parse(argv, options);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    return error.message;
  }
  assert.fail(`${argv.join(" ")} was accepted`);
}

function warningsOf(argv: string[], options: Partial<CommandLineOptions> = {}): readonly string[] {
  const parsed = parse(argv, options);
  assert.ok("warnings" in parsed);
  return parsed.warnings;
}

Deno.test("header and API key values with CR/LF, control or non-ASCII characters are refused unechoed", () => {
  const cases: [string[], Partial<CommandLineOptions>, string, string][] = [
    [
      ["--header", "X-A: b\r\nX-I: 1"],
      {},
      "Invalid --header 'X-A' value: character 2 is a line break (CR or LF); a header value " +
      "holds only printable ASCII, spaces and tabs",
      "X-I",
    ],
    [
      ["-k", "sk-😀"],
      {},
      "Invalid --api-key: character 4 is not ASCII; an API key holds only printable ASCII, " +
      "no spaces",
      "sk-",
    ],
    [
      [],
      { env: { LLMLOAD_API_KEY: "sk-\nX" } },
      "Invalid LLMLOAD_API_KEY (environment): character 4 is a line break (CR or LF); an API " +
      "key holds only printable ASCII, no spaces",
      "sk-",
    ],
    [
      [],
      { env: { OPENAI_API_KEY: "sk-a b" } },
      "Invalid OPENAI_API_KEY (environment): character 5 is a space; an API key holds only " +
      "printable ASCII, no spaces",
      "sk-a",
    ],
    [
      [],
      { configText: "api-key = sk-\u0000x\n", configPath: "llmload.conf" },
      "Invalid api-key (llmload.conf line 1): character 4 is a NUL; an API key holds only " +
      "printable ASCII, no spaces",
      "sk-",
    ],
    [
      [],
      { env: { LLMLOAD_HEADER: "Authorization: Bearer sk-\u0007" } },
      "Invalid LLMLOAD_HEADER 'Authorization' value (environment): character 11 is a control " +
      "character; a header value holds only printable ASCII, spaces and tabs",
      "sk-",
    ],
    [
      ["--header", "Bearer sk-1: x"],
      {},
      "Invalid --header name: character 7 is a space; a header name holds only letters, digits " +
      "and !#$%&'*+-.^_`|~",
      "sk-1",
    ],
  ];
  for (const [argv, options, expected, secret] of cases) {
    const message = usageMessage(argv, options);
    assert.equal(message, expected);
    assert.ok(!message.includes(secret), `${message} echoes the value`);
  }
  // Spaces and tabs inside a header value, and every printable ASCII character, are fine.
  assert.deepEqual(run(["--header", "X-A: a\tb c ~!"]).headers, { "X-A": "a\tb c ~!" });
});

Deno.test("an option's value that is itself an option is refused: was a shell variable empty?", () => {
  assert.equal(
    usageMessage(["-u", "1", "--api-key", "--model=accounts/fireworks/models/x"]),
    "--api-key got '--model=…' as its value: was a shell variable empty? Use " +
      "--api-key=VALUE for a value that starts with -",
  );
  assert.equal(
    usageMessage(["-k", "-m", "gpt"]),
    "-k got '-m' as its value: was a shell variable empty? Use --api-key=VALUE for a value " +
      "that starts with -",
  );
  assert.equal(
    usageMessage(["--header", "-ksecret"]),
    "--header got '-k…' as its value: was a shell variable empty? Use --header=VALUE for a " +
      "value that starts with -",
  );
  assert.equal(
    usageMessage(["mock", "--model", "--port", "9"]),
    "--model got '--port' as its value: was a shell variable empty? Use --model=VALUE for a " +
      "value that starts with -",
  );
  // Written with `=`, such a value is meant; a negative number still reaches validation.
  assert.equal(run(["--api-key=--model-x"]).apiKey, "--model-x");
  assert.equal(run(["--prompt-text=-m is a flag"]).promptText, "-m is a flag");
  assert.equal(
    usageMessage(["-u", "-1"]),
    "Invalid --users '-1': expected a whole number of at least 1",
  );
  // After `--`, nothing is an option any more.
  assert.equal(usageMessage(["--", "-k", "--model"]).startsWith("Unknown command '-k'"), true);
});

Deno.test("durations a timer cannot hold are refused with the maximum", () => {
  const limit = "at most 576h (24 days): timers cannot wait longer than about 24.8 days";
  for (const flag of ["--timeout", "--run-time", "--warmup", "--stop-grace", "--serve-linger"]) {
    assert.equal(
      usageMessage([flag, "600h"]),
      `Invalid ${flag} '600h': expected a duration of ${limit}`,
    );
  }
  assert.equal(
    usageMessage(["--burst", "2100000"]),
    `Invalid --burst '2100000': expected a number of seconds ${limit}`,
  );
  assert.equal(
    usageMessage(["mock", "--itl", "601h"]),
    `Invalid --itl '601h': expected a duration of ${limit}`,
  );
  assert.equal(
    usageMessage(["--qps", "0.0000001"]),
    "Invalid --qps '0.0000001': expected a rate of at least one request per 24 days, such " +
      "as 0.0000005",
  );
  assert.equal(
    usageMessage(["-u", "3", "-r", "0.0000005"]),
    "Invalid --spawn-rate '0.0000005': the last of 3 users would start after 46 days, " +
      `expected ${limit}`,
  );
  assert.equal(run(["--timeout", "576h"]).timeoutMs, 576 * 3_600_000);
});

Deno.test("--workers above 4 per core is refused; more workers than users are capped", () => {
  const cores = navigator.hardwareConcurrency;
  const above = String(4 * cores + 1);
  assert.equal(
    usageMessage(["--workers", above, "-u", "2000"]),
    `Invalid --workers '${above}': expected at most ${4 * cores} (4 per CPU core, ${cores} ` +
      "cores here), or 0 to pick from the cores",
  );
  const config = (parse(["--workers", String(Math.min(4 * cores, 4)), "-u", "2"]) as {
    config: RunConfig;
  }).config;
  assert.equal(config.workers, Math.min(2, 4 * cores));
  if (4 * cores >= 3) {
    assert.deepEqual(warningsOf(["--workers", "3", "-u", "2"]), [
      "--workers 3 is more than the 2 users of -u: using 2 workers",
    ]);
  }
});

Deno.test("a prompt file that is not UTF-8, or empty, is refused like bad text", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/latin1.txt`, new Uint8Array([0x48, 0x69, 0x20, 0xe9, 0x74]));
    Deno.writeFileSync(`${dir}/cut.txt`, new Uint8Array([0x61, 0xe2, 0x82]));
    Deno.writeTextFileSync(`${dir}/empty.txt`, " \n");
    Deno.writeTextFileSync(`${dir}/ok.txt`, "héllo ✓");
    const options = { readTextFile: readUtf8File };
    assert.equal(
      usageMessage(["--prompt-text", `@${dir}/latin1.txt`], options),
      `Cannot read --prompt-text file '${dir}/latin1.txt': not UTF-8 text: invalid byte at ` +
        "offset 4",
    );
    assert.match(
      usageMessage(["--prompt-text", `@${dir}/cut.txt`], options),
      /invalid byte at offset 3$/,
    );
    assert.equal(
      usageMessage(["--prompt-text", `@${dir}/empty.txt`], options),
      `Invalid --prompt-text file '${dir}/empty.txt': it is empty, expected a non-empty prompt`,
    );
    assert.equal(run(["--prompt-text", `@${dir}/ok.txt`], options).promptText, "héllo ✓");
    assert.equal(
      usageMessage(["--prompt-text", ""]),
      "Invalid --prompt-text '': expected a non-empty value",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("invalidUtf8Offset finds the first bad byte of overlong, surrogate and cut sequences", () => {
  const bytes = (...values: number[]) => new Uint8Array(values);
  assert.equal(invalidUtf8Offset(new TextEncoder().encode("a é € 😀")), undefined);
  assert.equal(invalidUtf8Offset(bytes(0xc0, 0x80)), 0); // overlong NUL
  assert.equal(invalidUtf8Offset(bytes(0x61, 0xe0, 0x80, 0x80)), 2); // overlong 3-byte
  assert.equal(invalidUtf8Offset(bytes(0xed, 0xa0, 0x80)), 1); // UTF-16 surrogate
  assert.equal(invalidUtf8Offset(bytes(0xf4, 0x90, 0x80, 0x80)), 1); // above U+10FFFF
  assert.equal(invalidUtf8Offset(bytes(0xf0, 0x9f, 0x98)), 3); // cut short
  assert.equal(invalidUtf8Offset(bytes(0x80)), 0); // lone continuation byte
});

Deno.test("--warmup as long as -t is refused: nothing would be measured", () => {
  assert.equal(
    usageMessage(["-t", "30s", "--warmup", "30s"]),
    "Cannot use --warmup 30s with --run-time 30s: the statistics would reset when the run " +
      "ends and nothing would be measured; make --warmup shorter than -t",
  );
  assert.equal(
    usageMessage([], { env: { LLMLOAD_WARMUP: "1min" }, configText: "run-time = 10s\n" }),
    "Cannot use LLMLOAD_WARMUP (environment) 60s with run-time (llmload.conf line 1) 10s: the " +
      "statistics would reset when the run ends and nothing would be measured; make --warmup " +
      "shorter than -t",
  );
  assert.equal(run(["-t", "30s", "--warmup", "0"]).warmupMs, 0);
  assert.equal(run(["-t", "30s", "--warmup", "29s"]).warmupMs, 29_000);
});

Deno.test("--serve-linger without --serve draws a warning", () => {
  assert.deepEqual(warningsOf(["--serve-linger", "30s"]), [
    "--serve-linger is ignored without --serve: there is no results server to keep up",
  ]);
  assert.deepEqual(warningsOf(["--serve-linger", "30s", "--serve", "0"]), []);
});

Deno.test("an unknown LLMLOAD_ variable draws a warning with the nearest option", () => {
  const env = {
    LLMLOAD_USER: "8",
    LLMLOAD_MAXTOKENS: "9",
    LLMLOAD_NOTHING_LIKE_IT: "1",
    LLMLOAD_INSTALL_VERSION: "0.1.0",
    LLMLOAD_SOAK_MINUTES: "5",
    LLMLOAD_USERS: "2",
  };
  assert.deepEqual(warningsOf([], { env }), [
    "Unknown environment variable LLMLOAD_MAXTOKENS (ignored): did you mean LLMLOAD_MAX_TOKENS?",
    "Unknown environment variable LLMLOAD_NOTHING_LIKE_IT (ignored): see llmload --help",
    "Unknown environment variable LLMLOAD_USER (ignored): did you mean LLMLOAD_USERS?",
  ]);
});

Deno.test("-k and an Authorization header together are refused; OPENAI_API_KEY gives way", () => {
  assert.equal(
    usageMessage(["-k", "sk-1", "--header", "Authorization: Bearer sk-2"]),
    "Cannot use --api-key together with an Authorization header from --header: both set " +
      "Authorization, give only one",
  );
  assert.equal(
    usageMessage(["--header", "authorization: Basic eA=="], {
      configText: "api-key = sk-1\n",
      configPath: "llmload.conf",
    }),
    "Cannot use api-key (llmload.conf line 1) together with an Authorization header from " +
      "--header: both set Authorization, give only one",
  );
  const config = run(["--header", "Authorization: Bearer sk-2"], {
    env: { OPENAI_API_KEY: "sk-openai" },
  });
  assert.equal(config.apiKey, undefined);
  assert.deepEqual(config.headers, { Authorization: "Bearer sk-2" });
});

Deno.test("a --host ending in /v1 loses it, with a warning, as llmload adds /v1 itself", () => {
  const parsed = parse(["-H", "https://api.openai.com/v1/"]);
  assert.ok(parsed.kind === "run");
  assert.equal(parsed.config.host, "https://api.openai.com");
  assert.deepEqual(parsed.warnings, [
    "--host ends in /v1, which llmload adds itself (as in /v1/completions): using " +
    "https://api.openai.com",
  ]);
  assert.equal(run(["-H", "http://gw/v1beta"]).host, "http://gw/v1beta");
});

Deno.test("help <command> shows that command's help; help bogus lists the commands", () => {
  const probe = parse(["help", "probe"]);
  assert.equal(probe.kind, "help");
  assert.match((probe as { text: string }).text, /^Usage: llmload probe \[options\]/);
  const runHelp = parse(["help", "run"]);
  assert.match((runHelp as { text: string }).text, /^Usage: llmload run \[options\]/);
  assert.match((runHelp as { text: string }).text, /--max-tokens-distribution/);
  assert.equal(
    (parse(["help"]) as { text: string }).text,
    (parse(["--help"]) as { text: string }).text,
  );
  assert.equal(
    usageMessage(["help", "bogus"]),
    "Unknown command 'bogus' after help: expected one of run, demo, probe, sweep, mock, merge, runs, show, " +
      "compare, export, report, rm, help (see llmload --help)",
  );
});

Deno.test("run is an explicit command, the same as none", () => {
  assert.deepEqual(run(["run", "-u", "3", "-t", "5s"]), run(["-u", "3", "-t", "5s"]));
  assert.equal(
    usageMessage(["-u", "3", "run"]),
    "Cannot use --users before 'run': put options after the command, e.g. llmload run " +
      "--users ...",
  );
});
