/**
 * The options of a load test, in one table: names, help and default for the command line, and,
 * for each option that is one `RunConfig` field, that field's `key` and the `parse` that
 * makes its value. `RunConfig`'s plain fields are derived from this table (`options/types.ts`),
 * and `resolveRunConfig` fills them by walking it, so such an option is one entry here.
 *
 * The options without a `key` need more than their own value, so `resolveRunConfig` builds their
 * fields: `host` (a trailing `/v1` is dropped, with a warning), `api-key` (falls back to
 * `OPENAI_API_KEY`, clashes with an Authorization header), `header` (repeatable, merged by
 * name), `prompt-text` (an `@file` is read), `tag` (repeatable, a later key replaces an earlier
 * one), `workers` (bounded by the cores, cut to the users);
 * `config` names the file the settings come from and is no field.
 *
 * @module
 */
import {
  boolean,
  burstSeconds,
  duration,
  numberAtLeastZero,
  oneOf,
  positiveNumber,
  postgresUrl,
  provider,
  qpsValue,
  ratio,
  serveAddress,
  serverMetricsSource,
  text,
  traceWindow,
  wholeNumber,
} from "./parsers.ts";
import type { Parser } from "./parsers.ts";
import { datasetFields } from "./dataset_parsers.ts";
import { thinkTime } from "./session_parsers.ts";
import { slo, stages } from "./goal_parsers.ts";
import { imageSizes } from "./chat_parsers.ts";
import { historyChoice } from "./history_parsers.ts";
import { shardSpec, startInstant } from "./shard_parsers.ts";
import type { OptionSpec } from "./spec.ts";
import type { TransportKind } from "../transport/types.ts";
import { REQUEST_MODES } from "../providers/types.ts";

/**
 * A run option. With `key` and `parse`, its parsed value is the `RunConfig` field `key` (absent
 * when the option is unset and has no default); without them the resolver builds the field itself,
 * because it needs more than this one value (see `resolveRunConfig`).
 */
export type RunOptionSpec =
  & OptionSpec
  & (
    | {
      /** The `RunConfig` field the option sets. */
      readonly key: string;
      /** Turns the option's value into the field's. */
      readonly parse: Parser<unknown>;
      /** A field holds one value: repeatable options are built by the resolver. */
      readonly repeatable?: false;
    }
    | { readonly key?: undefined; readonly parse?: undefined }
  );

// The table with the literal type of every entry, so options/types.ts can derive the fields.
const TABLE = [
  {
    name: "host",
    short: "H",
    value: "url",
    group: "Target",
    help: "base URL of the server, before /v1/... (a trailing /v1 is dropped): an http:// or " +
      "https:// URL",
    default: "http://localhost:80",
  },
  {
    name: "model",
    key: "model",
    parse: text,
    short: "m",
    value: "name",
    group: "Target",
    help: "model to send requests to",
    unset: "the first model /v1/models lists",
  },
  {
    name: "provider",
    key: "provider",
    parse: provider,
    value: "name",
    group: "Target",
    help: "API dialect, such as openai, fireworks, vllm, tgi or triton-infer",
    unset: "guessed from the URL and /v1/models",
  },
  {
    name: "preflight",
    key: "preflight",
    parse: boolean,
    group: "Target",
    help: "before the run, probe what the server honours (streaming, usage, ignore_eos, " +
      "logprobs, chat) and report it",
    default: "false",
  },
  {
    name: "api-key",
    short: "k",
    value: "key",
    group: "Target",
    help: "sent as Authorization: Bearer <key>",
    unset: "$OPENAI_API_KEY if set, else none",
  },
  {
    name: "header",
    value: "name:value",
    repeatable: true,
    group: "Target",
    help: "extra request header; repeat for more, or one per line in LLMLOAD_HEADER",
    unset: "none",
  },
  {
    name: "users",
    key: "users",
    parse: wholeNumber(1),
    short: "u",
    value: "n",
    group: "Rate of requests",
    help: "concurrent users, or the cap on requests in flight with --qps: a whole number >= 1",
    default: "1",
  },
  {
    name: "spawn-rate",
    key: "spawnRate",
    parse: positiveNumber,
    short: "r",
    value: "n",
    group: "Rate of requests",
    help: "users started per second: a number > 0",
    default: "1",
  },
  {
    name: "burst",
    key: "burstSeconds",
    parse: burstSeconds,
    value: "seconds",
    group: "Rate of requests",
    help: "all users send together once every this many seconds: a number > 0; not with --qps",
    unset: "none",
  },
  {
    name: "qps",
    key: "qps",
    parse: qpsValue,
    value: "n",
    group: "Rate of requests",
    help: "fixed rate of requests per second instead of closed-loop users: a number > 0, e.g. 0.5",
    unset: "none",
  },
  {
    name: "qps-distribution",
    key: "qpsDistribution",
    parse: oneOf(["constant", "uniform", "exponential"]),
    value: "name",
    group: "Rate of requests",
    help: "spacing of requests with --qps: constant, uniform or exponential (Poisson)",
    default: "constant",
  },
  {
    name: "trace",
    key: "traceFile",
    parse: text,
    value: "file",
    group: "Rate of requests",
    help: "replay a trace: send each of its requests at its time with its prompt and output " +
      "lengths (Mooncake .jsonl or Azure LLM inference .csv); -u caps requests in flight; " +
      "not with --qps or --burst",
    unset: "none",
  },
  {
    name: "trace-speed",
    key: "traceSpeed",
    parse: positiveNumber,
    value: "x",
    group: "Rate of requests",
    help: "replay the --trace this many times as fast: a number > 0, e.g. 2 or 0.5",
    default: "1",
  },
  {
    name: "trace-window",
    key: "traceWindow",
    parse: traceWindow,
    value: "start:end",
    group: "Rate of requests",
    help: "replay only this slice of the --trace, from its first timestamp: START:END " +
      "durations such as 10s:70s (either side may be left out)",
    unset: "the whole trace",
  },
  {
    name: "prompt-tokens",
    key: "promptTokens",
    parse: wholeNumber(1),
    short: "p",
    value: "n",
    group: "Workload",
    help: "length of the generated prompt in tokens: a whole number >= 1",
    default: "512",
  },
  {
    name: "prompt-text",
    value: "text|@file",
    group: "Workload",
    help: "use this prompt instead of a generated one; @file reads it from a file",
    unset: "none",
  },
  {
    name: "prompt-randomize",
    key: "promptRandomize",
    parse: boolean,
    group: "Workload",
    help: "pad the prompt with random single-token words so prefix caching cannot flatter the " +
      "server (same token count)",
    default: "false",
  },
  {
    name: "prompt-tokens-distribution",
    key: "promptTokensDistribution",
    parse: oneOf(["constant", "uniform", "normal", "exponential"]),
    value: "name",
    group: "Workload",
    help: "how each prompt's length is drawn around -p: constant, uniform, normal or exponential " +
      "(prompts are built before the load, a pool of 256)",
    default: "constant",
  },
  {
    name: "prompt-tokens-range",
    key: "promptTokensRange",
    parse: numberAtLeastZero,
    value: "alpha",
    group: "Workload",
    help: "width of the prompt length distribution relative to -p: a number >= 0",
    default: "0.3",
  },
  {
    name: "prompt-tokens-cap",
    key: "promptTokensCap",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "upper bound of the drawn prompt lengths: a whole number >= 1",
    unset: "none",
  },
  {
    name: "prefix-tokens",
    key: "prefixTokens",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "start every generated prompt with one of --prefix-groups shared prefixes of this many " +
      "tokens (counted in -p): a whole number >= 1",
    unset: "no shared prefix",
  },
  {
    name: "prefix-groups",
    key: "prefixGroups",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "how many distinct shared prefixes --prefix-tokens builds: a whole number >= 1",
    default: "1",
  },
  {
    name: "dataset",
    value: "file[:weight]",
    repeatable: true,
    group: "Workload",
    help: "send the prompts of a dataset file: .jsonl (prompt or messages per line), .json " +
      "(ShareGPT), .csv or .parquet; repeat for a mix, :weight sets a file's share",
    unset: "generated prompts",
  },
  {
    name: "dataset-field",
    key: "datasetFields",
    parse: datasetFields,
    value: "map",
    group: "Workload",
    help: "columns of a CSV or Parquet dataset (or keys of JSONL): prompt=COLUMN,max_tokens=COLUMN",
    unset: "prompt and max_tokens",
  },
  {
    name: "dataset-shuffle",
    key: "datasetShuffle",
    parse: boolean,
    group: "Workload",
    help: "send dataset rows in random order (a uniform sample of --dataset-limit rows; --seed " +
      "repeats it)",
    default: "false",
  },
  {
    name: "dataset-limit",
    key: "datasetLimit",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "rows kept from each dataset file; reading stops there unless shuffled: a whole " +
      "number >= 1",
    default: "100000",
  },
  {
    name: "dataset-max-tokens",
    key: "datasetMaxTokens",
    parse: oneOf(["dataset", "flag"]),
    value: "from",
    group: "Workload",
    help: "which max tokens wins for a row that has one: dataset (the row's) or flag (-o)",
    default: "dataset",
  },
  {
    name: "max-context",
    key: "maxContext",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "drop dataset rows whose prompt plus max tokens exceed this many tokens: a whole " +
      "number >= 1",
    unset: "keep every row",
  },
  {
    name: "turns",
    key: "turns",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "play multi-turn chat sessions of this many user turns, each answer sent back in the " +
      "history (needs --chat): a whole number >= 1; with --dataset-sessions, the most turns " +
      "played of each conversation",
    unset: "single requests",
  },
  {
    name: "dataset-sessions",
    key: "datasetSessions",
    parse: boolean,
    group: "Workload",
    help: "play each dataset conversation (ShareGPT conversations, JSONL messages) as a " +
      "multi-turn session of its user turns (needs --chat)",
    default: "false",
  },
  {
    name: "think-time",
    key: "thinkTime",
    parse: thinkTime,
    value: "duration[:dist]",
    group: "Workload",
    help: "pause of a session's user between an answer and the next turn: a duration such as " +
      "2s, optionally :constant, :uniform (0 to twice it) or :exponential",
    unset: "no pause",
  },
  {
    name: "mode",
    key: "mode",
    parse: oneOf(REQUEST_MODES),
    value: "kind",
    group: "Workload",
    help: "what each request asks: generate (completions or chat), embeddings (/v1/embeddings) " +
      "or rerank (/v1/rerank)",
    default: "generate",
  },
  {
    name: "embeddings-batch-size",
    key: "embeddingsBatchSize",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "inputs per /v1/embeddings request with --mode embeddings, each a prompt of -p tokens " +
      "or a dataset row: a whole number >= 1",
    default: "1",
  },
  {
    name: "embeddings-dimensions",
    key: "embeddingsDimensions",
    parse: wholeNumber(1),
    value: "d",
    group: "Workload",
    help: "dimensions of each embedding (the dimensions API parameter) with --mode embeddings: " +
      "a whole number >= 1",
    unset: "the model's own",
  },
  {
    name: "rerank-query",
    key: "rerankQuery",
    parse: text,
    value: "text",
    group: "Workload",
    help: "the query every /v1/rerank request ranks its documents against, with --mode rerank",
    default: "Which of these documents answers the question best?",
  },
  {
    name: "num-documents",
    key: "numDocuments",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "documents per /v1/rerank request with --mode rerank, each a prompt of " +
      "--tokens-per-document tokens or a dataset row: a whole number >= 1",
    default: "16",
  },
  {
    name: "tokens-per-document",
    key: "tokensPerDocument",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "length of each generated rerank document in tokens, with --mode rerank: a whole " +
      "number >= 1",
    unset: "-p",
  },
  {
    name: "rerank-top-n",
    key: "rerankTopN",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "results the server returns per /v1/rerank request (top_n) with --mode rerank: a " +
      "whole number >= 1",
    unset: "all documents",
  },
  {
    name: "max-tokens",
    key: "maxTokens",
    parse: wholeNumber(1),
    short: "o",
    value: "n",
    group: "Workload",
    help: "tokens to generate, the mean when the distribution is not constant: a whole number >= 1",
    default: "64",
  },
  {
    name: "max-tokens-distribution",
    key: "maxTokensDistribution",
    parse: oneOf(["constant", "uniform", "normal", "exponential"]),
    value: "name",
    group: "Workload",
    help: "how each request's max tokens is drawn: constant, uniform, normal or exponential",
    default: "constant",
  },
  {
    name: "max-tokens-range",
    key: "maxTokensRange",
    parse: numberAtLeastZero,
    value: "alpha",
    group: "Workload",
    help: "width of the distribution relative to --max-tokens: a number >= 0",
    default: "0.3",
  },
  {
    name: "max-tokens-cap",
    key: "maxTokensCap",
    parse: wholeNumber(1),
    value: "n",
    group: "Workload",
    help: "upper bound of the drawn max tokens (the lower bound is 1): a whole number >= 1",
    unset: "none",
  },
  {
    name: "tokenizer",
    key: "tokenizer",
    parse: text,
    value: "name|path",
    group: "Workload",
    help: "tokenizer for prompts and client-side counts: a tiktoken encoding (o200k_base, " +
      "cl100k_base), a Hugging Face tokenizer.json file or folder, or server (the server's own " +
      "tokenize endpoint: vllm, sglang, tgi, llamacpp)",
    default: "o200k_base",
  },
  {
    name: "chat",
    key: "chat",
    parse: boolean,
    group: "Generation options",
    help: "call the chat API instead of raw completions",
    default: "false",
  },
  {
    name: "stream",
    key: "stream",
    parse: boolean,
    negatedHelp: "wait for the whole response instead of streaming it",
    group: "Generation options",
    help: "stream the response, which gives time to first token and inter-token latency",
    default: "true",
  },
  {
    name: "logprobs",
    key: "logprobs",
    parse: wholeNumber(0),
    value: "n",
    group: "Generation options",
    help: "logprobs API parameter, which some providers need to count streamed tokens: " +
      "a whole number >= 0",
    unset: "not sent",
  },
  {
    name: "max-tokens-jitter",
    key: "maxTokensJitter",
    parse: wholeNumber(0),
    value: "n",
    group: "Generation options",
    help: "move each request's max tokens by a random whole number in [-n, n]: a whole number >= 0",
    default: "0",
  },
  {
    name: "temperature",
    key: "temperature",
    parse: numberAtLeastZero,
    value: "t",
    group: "Generation options",
    help: "sampling temperature: a number >= 0",
    default: "1.0",
  },
  {
    name: "n",
    key: "n",
    parse: wholeNumber(1),
    short: "n",
    value: "n",
    group: "Generation options",
    help: "completions generated per request (n API parameter): a whole number >= 1",
    default: "1",
  },
  {
    name: "api",
    key: "api",
    parse: oneOf(["chat", "completions", "responses"]),
    value: "name",
    group: "Generation options",
    help: "API to call: chat (/v1/chat/completions, as --chat), completions (/v1/completions) " +
      "or responses (OpenAI's /v1/responses events; openai-compatible providers)",
    unset: "chat with --chat, else completions",
  },
  {
    name: "reasoning-effort",
    key: "reasoningEffort",
    parse: oneOf(["none", "low", "medium", "high"]),
    value: "level",
    group: "Generation options",
    help: "sent as reasoning_effort (chat) or reasoning.effort (responses): none, low, medium " +
      "or high",
    unset: "not sent",
  },
  {
    name: "images",
    key: "images",
    parse: imageSizes,
    value: "WxH[,WxH...]",
    group: "Generation options",
    help: "attach PNG images of these sizes (generated before the run, sent as base64 data " +
      "URLs) to each chat request; needs --chat or --api chat|responses; at most 8192 px a side",
    unset: "none",
  },
  {
    name: "images-per-request",
    key: "imagesPerRequest",
    parse: wholeNumber(1),
    value: "n",
    group: "Generation options",
    help: "images attached to each request, taken in turn from the --images sizes: a whole " +
      "number >= 1",
    unset: "1",
  },
  {
    name: "images-position",
    key: "imagesPosition",
    parse: oneOf(["before", "after", "interleave"]),
    value: "where",
    group: "Generation options",
    help: "where the images go in the user message: before the text, after it, or " +
      "interleave (the text cut into equal pieces with one image between each two)",
    unset: "before",
  },
  {
    name: "cancel-rate",
    key: "cancelRate",
    parse: ratio,
    value: "p",
    group: "Generation options",
    help: "share of streamed requests (drawn with the seeded random source) closed right after " +
      "their first token, counted as cancelled with their TTFT, never as failures: a number " +
      "from 0 to 1",
    unset: "0 (none)",
  },
  {
    name: "summary-file",
    key: "summaryFile",
    parse: text,
    value: "file",
    group: "Writing results",
    help: "append one CSV summary row to this file, writing the header first if it is new",
    unset: "none",
  },
  {
    name: "json",
    key: "jsonFile",
    parse: text,
    value: "file",
    group: "Writing results",
    help: "write the full results as JSON to this file",
    unset: "none",
  },
  {
    name: "html",
    key: "htmlFile",
    parse: text,
    value: "file",
    group: "Writing results",
    help: "write a self-contained HTML report (charts and tables, opens offline) to this file",
    unset: "none",
  },
  {
    name: "history",
    key: "history",
    parse: historyChoice,
    value: "file",
    negatedHelp: "do not store this run in the run history",
    group: "Writing results",
    help: "store the run in this SQLite run history (see llmload runs); off stores nothing",
    unset: "runs.db in the platform's data directory",
  },
  {
    name: "tag",
    value: "key=value",
    repeatable: true,
    group: "Writing results",
    help: "label the run in the history, e.g. gpu=h100; repeat for more, or one per line in " +
      "LLMLOAD_TAG",
    unset: "none",
  },
  {
    name: "serve",
    key: "serve",
    parse: serveAddress,
    value: "[host:]port",
    group: "Writing results",
    help: "serve live results (JSON, Prometheus /metrics, dashboard) on this address; " +
      "the host defaults to 127.0.0.1",
    unset: "not served",
  },
  {
    name: "serve-token",
    key: "serveToken",
    parse: text,
    value: "token",
    group: "Writing results",
    help: "bearer token that POST /api/stop and /api/load require; without it they refuse",
    unset: "none: control routes refuse",
  },
  {
    name: "serve-linger",
    key: "serveLingerMs",
    parse: duration({ allowZero: true }),
    value: "duration",
    group: "Writing results",
    help: "keep serving the final results this long after the run, e.g. 30s",
    unset: "stop serving at the end",
  },
  {
    name: "pg",
    key: "pg",
    parse: postgresUrl,
    value: "url",
    group: "Writing results",
    help:
      "push live results to PostgreSQL/TimescaleDB (locust-plugins tables and llmload_second), " +
      "e.g. postgresql://user:password@127.0.0.1:5432/llmload",
    unset: "not pushed",
  },
  {
    name: "pg-optional",
    key: "pgOptional",
    parse: boolean,
    group: "Writing results",
    help: "run on with one warning when --pg cannot be reached at the start, instead of exit 1",
    default: "false",
  },
  {
    name: "server-metrics",
    key: "serverMetrics",
    parse: serverMetricsSource,
    value: "url",
    optionalValue: true,
    negatedHelp: "do not scrape the server's Prometheus metrics",
    group: "Writing results",
    help: "scrape the server's Prometheus metrics every second and join them with the " +
      "client's (see Server metrics in the README): an http:// or https:// URL, or auto for " +
      "the target's /metrics when it answers",
    default: "auto",
  },
  {
    name: "log-requests",
    key: "logRequests",
    parse: text,
    value: "file.jsonl",
    group: "Writing results",
    help: "write one JSON line per request (times, tokens, status, failure kind, server id) " +
      "to this file",
    unset: "none",
  },
  {
    name: "run-time",
    key: "runTimeMs",
    parse: duration({ allowZero: false }),
    short: "t",
    value: "duration",
    group: "Writing results",
    help: "how long to run, e.g. 30s, 5min or 1h30m",
    unset: "until Ctrl+C",
  },
  {
    name: "slo",
    key: "slo",
    parse: slo,
    value: "bounds",
    group: "Goals",
    help: "judge every request against these bounds and report goodput and attainment: " +
      "METRIC<=DURATION[,...] with METRIC ttft, tpot, itl (the request's largest gap) or e2e, " +
      "such as ttft<=500ms,tpot<=50ms,e2e<=20s",
    unset: "no goodput",
  },
  {
    name: "threshold",
    value: "expr",
    repeatable: true,
    group: "Goals",
    help: "fail the run (exit code 3) unless this holds at the end, such as ttft.p99<800ms, " +
      "fail_ratio<0.01 or goodput>=0.95 (the SLO attainment); repeat for more",
    unset: "none",
  },
  {
    name: "abort-on-threshold",
    key: "abortOnThreshold",
    parse: boolean,
    group: "Goals",
    help: "check the thresholds every second and stop the run as soon as one fails",
    unset: "checked at the end only",
  },
  {
    name: "stages",
    key: "stages",
    parse: stages,
    value: "list",
    group: "Goals",
    help: "change the load at each stage's end, each stage with its own stats: " +
      "DURATION:USERS[,...] or DURATION:Nqps[,...] (QPS mode, -u caps in flight), such as " +
      "1m:8,2m:32,1m:64; sets the run time; not with -t, or with -u for users or --qps",
    unset: "one load for the whole run",
  },
  {
    name: "slice",
    key: "sliceMs",
    parse: duration({ allowZero: false }),
    value: "duration",
    group: "Goals",
    help: "also measure each slice of this length (throughput, goodput, TTFT/ITL/E2E " +
      "percentiles) into the results JSON, e.g. 10s",
    unset: "whole-run figures only",
  },
  {
    name: "warmup",
    key: "warmupMs",
    parse: duration({ allowZero: true }),
    value: "duration",
    group: "Runtime",
    help: "reset the statistics after this long, e.g. 30s; 0 never resets",
    unset: "reset once the load is steady",
  },
  {
    name: "workers",
    value: "n",
    group: "Runtime",
    help: "worker threads that send requests, at most 4 per CPU core and no more than -u is " +
      "used; 0 uses one per CPU core (at most -u): a whole number >= 0",
    default: "0",
  },
  {
    name: "shard",
    key: "shard",
    parse: shardSpec,
    value: "i/n",
    group: "Runtime",
    help: "run shard I of N independent llmload processes (0 <= I < N): this process sends " +
      "its share of the users, QPS, dataset rows, sessions or trace, with its own random " +
      "stream; merge the shards' --json files with llmload merge; needs --start-at",
    unset: "run the whole load",
  },
  {
    name: "shard-from-env",
    group: "Runtime",
    help: "take --shard from the orchestrator: JOB_COMPLETION_INDEX and LLMLOAD_SHARDS (a " +
      "Kubernetes Indexed Job) or SLURM_PROCID and SLURM_NTASKS (srun)",
    default: "false",
  },
  {
    name: "start-at",
    key: "startAt",
    parse: startInstant,
    value: "time",
    group: "Runtime",
    help: "begin the load at this instant, so that every shard starts together: RFC 3339 " +
      "such as 2026-12-02T18:00:00Z, or epoch milliseconds; a start late by more than -t is " +
      "refused",
    unset: "as soon as the run is ready",
  },
  {
    name: "transport",
    key: "transport",
    parse: oneOf<TransportKind>(["http1", "node", "fetch"]),
    value: "name",
    group: "Runtime",
    help: "HTTP client: http1 (llmload's own HTTP/1.1 client, the cheapest per event), node " +
      "(node:http) or fetch; http1 hands over to fetch behind an HTTP(S) proxy or for a server " +
      "that speaks only HTTP/2, and to node with --insecure, and says so",
    default: "http1",
  },
  {
    name: "insecure",
    key: "insecure",
    parse: boolean,
    group: "Runtime",
    help: "accept any TLS certificate (a self-signed internal endpoint); never use it across " +
      "an untrusted network",
    default: "false",
  },
  {
    name: "ca-cert",
    value: "file",
    group: "Runtime",
    help: "trust the CA certificates of this PEM file besides the system's (a private CA)",
    unset: "the system's only",
  },
  {
    name: "timeout",
    key: "timeoutMs",
    parse: duration({ allowZero: false }),
    value: "duration",
    group: "Runtime",
    help: "per-request timeout, e.g. 30s or 10min",
    default: "600s",
  },
  {
    name: "stop-grace",
    key: "stopGraceMs",
    parse: duration({ allowZero: true }),
    value: "duration",
    group: "Runtime",
    help: "how long requests in flight may finish after the run time or Ctrl+C, e.g. 10s",
    default: "10s",
  },
  {
    name: "max-fail-ratio",
    key: "maxFailRatio",
    parse: ratio,
    value: "ratio",
    group: "Runtime",
    help: "stop early once more than this fraction of requests failed (after 20 requests): " +
      "a number from 0 to 1",
    unset: "never",
  },
  {
    name: "max-requests",
    key: "maxRequests",
    parse: wholeNumber(1),
    value: "n",
    group: "Runtime",
    help: "stop after this many requests completed or failed: a whole number >= 1",
    unset: "no limit",
  },
  {
    name: "keep-going",
    key: "keepGoing",
    parse: boolean,
    group: "Runtime",
    help: "send on even when the first 20 requests all fail the same way and none succeeds",
    default: "false",
  },
  {
    name: "show-response",
    key: "showResponse",
    parse: boolean,
    group: "Runtime",
    help: "print each generated text, for debugging",
    default: "false",
  },
  {
    name: "seed",
    key: "seed",
    parse: wholeNumber(0),
    value: "n",
    group: "Runtime",
    help: "seed of the random source, for a reproducible workload: a whole number >= 0",
    unset: "random",
  },
  {
    name: "config",
    value: "file",
    group: "Runtime",
    help: "read settings from this file of key = value lines",
    unset: "./llmload.conf if it exists",
  },
] as const satisfies readonly RunOptionSpec[];

/** The table's exact type (each entry's `key`, `parse` and `default`), for `RunConfig`. */
export type RunOptionTable = typeof TABLE;

/** The options of a load test (`llmload` and `llmload demo`), grouped as the help shows them. */
export const RUN_OPTIONS: readonly RunOptionSpec[] = TABLE;

/** Defaults `llmload demo` uses instead of the run defaults, by option name. */
export const DEMO_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  "run-time": "15s",
  users: "8",
  "spawn-rate": "8",
  stream: "true",
});
