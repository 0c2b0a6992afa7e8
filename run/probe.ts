/**
 * `llmload probe` (and `--preflight` before a run): one request per mode against the target,
 * then a table of what the server honours — streaming, usage in streams, `ignore_eos` /
 * `min_tokens` (does it generate exactly `max_tokens`?), logprobs, chat, images in chat, the
 * Responses API (`/v1/responses`), non-streamed replies, the `/v1/embeddings` and `/v1/rerank`
 * routes —
 * so a run against a server that ignores the length controls is known to be skewed before its
 * numbers are read.
 *
 * @module
 */
import { createProvider, dialectOf } from "../providers/mod.ts";
import type { ProviderOptions } from "../providers/mod.ts";
import { runRequest } from "../request/run_request.ts";
import type { RequestContext, RequestOutcome } from "../request/run_request.ts";
import { inspectServer, lengthControlDialects, resolveTarget } from "./target.ts";
import type { ServerFacts, Target } from "./target.ts";
import { loadTokenizer, localTokenizerSpec } from "../load/tokenizer.ts";
import type { Tokenizer } from "../load/tokenizer.ts";
import { createTransport } from "../transport/mod.ts";
import type { Transport } from "../transport/types.ts";
import type { Chunk, Provider, RequestMode, Sample } from "../providers/types.ts";
import type { RunConfig } from "../options/types.ts";
import { requestHeaders } from "../options/headers.ts";
import { createImages } from "../load/images.ts";
import { createRandom } from "../load/random.ts";

/** Tokens each probe request asks for. */
export const PROBE_TOKENS = 32;

/** A question most models answer in a word or two: a server that lets them stop, stops. */
export const PROBE_PROMPT = "Answer with one word only: what colour is a clear daytime sky?";

/** Texts of the embeddings and rerank probes (the rerank query is {@link PROBE_PROMPT}). */
export const PROBE_DOCUMENTS: readonly string[] = [
  "The sky on a clear day is blue.",
  "Grass is green.",
];
/** Size of the image the images probe sends, in pixels a side. */
const PROBE_IMAGE_SIDE = 16;

/** Longest a probe request may take, whatever `--timeout` says. */
const PROBE_TIMEOUT_MS = 60_000;

/** What one feature's probe found. */
export type Verdict = "yes" | "no" | "n/a" | "failed" | "inconclusive";

/** One line of the probe table. */
export interface ProbeRow {
  /** The feature, e.g. `streaming`. */
  readonly feature: string;
  /**
   * `yes` honoured, `no` not, `n/a` the dialect has no such mode, `failed` its request failed
   * (the detail says why), `inconclusive` the reply was empty, which shows neither.
   */
  readonly verdict: Verdict;
  /** What was seen: counts, times, or the failure. */
  readonly detail: string;
}

/** Everything a probe found. */
export interface ProbeReport {
  /** What was probed. */
  readonly target: Target;
  /** One row per feature, in a fixed order. */
  readonly rows: readonly ProbeRow[];
  /** Whether the basic request (streamed if the dialect streams, else whole) succeeded. */
  readonly answered: boolean;
}

/** Options of {@link probeTarget}. */
export interface ProbeOptions {
  /** An already resolved target; resolved from the config when absent. */
  readonly target?: Target;
  /** The HTTP client; one is created (and closed) when absent. */
  readonly transport?: Transport;
  /** What the server said of itself; asked when absent. */
  readonly server?: ServerFacts;
}

/** What a probe request's response and chunks showed, beyond the request record. */
interface Observed {
  events: number;
  usage: boolean;
  logprobTokens: number;
  /** Generated characters the parsed chunks carried. */
  chars: number;
  /** Whether a payload could not be parsed. */
  unreadable: boolean;
  /** HTTP status, and body bytes received. */
  status: number;
  bodyChars: number;
}

type Probed = { outcome: RequestOutcome; seen: Observed };

/**
 * Sends one request per mode and reports what the server honoured. Never throws for what the
 * server does; throws a `UsageError` when the target cannot be resolved.
 *
 * @example
 * ```ts
 * const report = await probeTarget(config);
 * console.log(formatProbeTable(report));
 * ```
 */
export async function probeTarget(
  config: RunConfig,
  options: ProbeOptions = {},
): Promise<ProbeReport> {
  const target = options.target ?? await resolveTarget(config, { checkModes: false });
  const server = options.server ?? await inspectServer(config, target);
  const dialect = dialectOf(target.provider);
  const tokenizer = await loadTokenizer(localTokenizerSpec(config.tokenizer));
  const transport = options.transport ?? createTransport(config.transport, config);
  const base: ProviderOptions = {
    model: target.model,
    chat: config.chat && dialect.chat,
    stream: dialect.stream,
    temperature: config.temperature,
  };
  const send = (settings: Partial<ProviderOptions>, images?: readonly string[]) =>
    probeOnce(config, {
      settings: { ...base, ...settings },
      target,
      tokenizer,
      transport,
      images,
    });
  try {
    const streamed = dialect.stream ? await send({ stream: true }) : undefined;
    const whole = await send({ stream: false });
    const logprobs = dialect.logprobs ? await send({ logprobs: 1 }) : undefined;
    const chat = dialect.chat ? await send({ chat: true }) : undefined;
    const texts = async (mode: RequestMode) =>
      dialect.modes.includes(mode)
        ? await probeOnce(config, {
          settings: { ...base, stream: false, query: PROBE_PROMPT },
          target,
          tokenizer,
          transport,
          mode,
        })
        : undefined;
    const embeddings = await texts("embeddings");
    const rerank = await texts("rerank");
    const side = PROBE_IMAGE_SIDE;
    const image = createImages([{ width: side, height: side }], createRandom(1));
    const images = dialect.images ? await send({ chat: true }, image) : undefined;
    const responses = dialect.responses ? await send({ chat: true, responses: true }) : undefined;
    const lengthSource = streamed?.outcome.ok ? streamed : whole;
    const rows: ProbeRow[] = [
      streamRow(streamed, target.provider),
      usageRow(streamed),
      lengthRow(lengthSource, { provider: target.provider, server: server.serverDialect }),
      logprobsRow(logprobs, target.provider),
      chatRow(chat, target.provider),
      imagesRow(images, target.provider),
      responsesRow(responses, target.provider),
      wholeRow(whole),
      textsRow("embeddings", embeddings, target.provider),
      textsRow("rerank", rerank, target.provider),
    ];
    return { target, rows, answered: (streamed ?? whole).outcome.ok };
  } finally {
    if (options.transport === undefined) transport.close();
  }
}

async function probeOnce(
  config: RunConfig,
  request: {
    settings: ProviderOptions;
    target: Target;
    tokenizer: Tokenizer;
    transport: Transport;
    /** Default `generate`. */
    mode?: RequestMode;
    /** Images for the generation probe's user message, as `data:` URLs. */
    images?: readonly string[];
  },
): Promise<Probed> {
  const mode = request.mode ?? "generate";
  const { provider, seen } = observe(
    createProvider(request.target.provider, request.settings, mode),
  );
  const context: RequestContext = {
    provider,
    transport: watched(request.transport, seen),
    host: config.host,
    headers: requestHeaders(config),
    timeoutMs: Math.min(config.timeoutMs, PROBE_TIMEOUT_MS),
    localPromptTokens: request.tokenizer.countPrompt(PROBE_PROMPT),
    countTokens: (text) => Promise.resolve(request.tokenizer.count(text)),
  };
  const sample = mode === "generate"
    ? { ...PROBE_SAMPLE, ...(request.images ? { images: request.images } : {}) }
    : PROBE_TEXTS;
  const outcome = await runRequest(context, sample);
  return { outcome, seen };
}

/** The generation probe's request. */
const PROBE_SAMPLE: Sample = { prompt: PROBE_PROMPT, maxTokens: PROBE_TOKENS };

/** The texts the embeddings and rerank probes send: embedded, or ranked against the prompt. */
const PROBE_TEXTS: Sample = {
  prompt: PROBE_DOCUMENTS[0],
  inputs: PROBE_DOCUMENTS,
  maxTokens: 0,
};

/** Wraps a transport to note the status and how much body came. */
function watched(inner: Transport, seen: Observed): Transport {
  return {
    send: (request, sink) =>
      inner.send(request, {
        head(head) {
          seen.status = head.status;
          sink.head(head);
        },
        body(bytes, now) {
          seen.bodyChars += bytes.length;
          sink.body(bytes, now);
        },
      }),
    close: () => inner.close(),
  };
}

/** Wraps a provider to note what its parsed chunks carried. */
function observe(inner: Provider): { provider: Provider; seen: Observed } {
  const seen: Observed = {
    events: 0,
    usage: false,
    logprobTokens: 0,
    chars: 0,
    unreadable: false,
    status: 0,
    bodyChars: 0,
  };
  function note(chunk: Chunk): Chunk {
    seen.events++;
    if (chunk.usage?.completionTokens !== undefined) seen.usage = true;
    seen.logprobTokens += chunk.logprobTokens ?? 0;
    seen.chars += chunk.text.length + chunk.reasoning.length;
    return chunk;
  }
  function read<T>(parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      seen.unreadable = true;
      throw error;
    }
  }
  const provider: Provider = {
    name: inner.name,
    framing: inner.framing,
    endMarker: inner.endMarker,
    endsWithEvent: inner.endsWithEvent,
    request: (sample) => inner.request(sample),
    parseEvent(data) {
      const chunk = read(() => inner.parseEvent(data));
      return chunk === null ? null : note(chunk);
    },
    parseBody: (body) => note(read(() => inner.parseBody(body))),
  };
  return { provider, seen };
}

/**
 * The row of a feature whose request did not succeed: `inconclusive` when the server answered
 * 2xx with nothing generated (an empty body, or payloads that parsed and held no text: a model
 * may stop at once on any prompt), else `failed` with why.
 */
function unsuccessful(feature: string, probed: Probed): ProbeRow {
  if (probed.outcome.ok) throw new Error("A successful request has a row of its own");
  const { seen } = probed;
  const answered = seen.status >= 200 && seen.status < 300;
  const empty = seen.bodyChars === 0 || (seen.events > 0 && seen.chars === 0 && !seen.unreadable);
  if (answered && empty) return emptyReply(feature, probed);
  return { feature, verdict: "failed", detail: probed.outcome.failure.message };
}

/** A reply without text (a model that stopped on its first token) shows nothing of a feature. */
function emptyReply(feature: string, probed: Probed): ProbeRow {
  return { feature, verdict: "inconclusive", detail: `empty reply (HTTP ${probed.seen.status})` };
}

function notInDialect(feature: string, provider: string, what: string): ProbeRow {
  return { feature, verdict: "n/a", detail: `the ${provider} dialect has no ${what}` };
}

function streamRow(probed: Probed | undefined, provider: string): ProbeRow {
  const feature = "streaming";
  if (probed === undefined) return notInDialect(feature, provider, "streaming");
  if (!probed.outcome.ok) return unsuccessful(feature, probed);
  if (probed.outcome.record.empty) return emptyReply(feature, probed);
  const { record } = probed.outcome;
  return {
    feature,
    verdict: "yes",
    detail: `first token after ${(record.ttft ?? 0).toFixed(1)} ms, ${probed.seen.events} events`,
  };
}

function usageRow(probed: Probed | undefined): ProbeRow {
  const feature = "usage in streams";
  if (probed === undefined) return { feature, verdict: "n/a", detail: "no streaming" };
  if (!probed.outcome.ok) {
    const streamed = unsuccessful(feature, probed);
    return { ...streamed, detail: `the streamed request: ${streamed.detail}` };
  }
  if (probed.seen.usage) {
    return {
      feature,
      verdict: "yes",
      detail: `the stream reports ${probed.outcome.record.outputTokens} completion tokens`,
    };
  }
  return {
    feature,
    verdict: "no",
    detail: `no token count in the stream; counted from ${probed.outcome.record.tokenSource}`,
  };
}

function lengthRow(probed: Probed, dialects: { provider: string; server?: string }): ProbeRow {
  const feature = "ignore_eos/min_tokens";
  if (!probed.outcome.ok) return unsuccessful(feature, probed);
  const { outputTokens, tokenSource } = probed.outcome.record;
  const control = dialectOf(dialects.provider).lengthControl;
  const counted = `counted from ${tokenSource}`;
  const full = outputTokens === PROBE_TOKENS;
  const verdict = full ? "yes" : "no";
  if (control !== undefined) {
    return {
      feature,
      verdict,
      detail: `${outputTokens} of ${PROBE_TOKENS} tokens asked (sent ${control}; ${counted})`,
    };
  }
  if (full) {
    return {
      feature,
      verdict,
      detail: `${outputTokens} of ${PROBE_TOKENS} tokens asked, though the ${dialects.provider} ` +
        `dialect sends neither ignore_eos nor min_tokens: the model ran to the end on its own (${counted})`,
    };
  }
  return {
    feature,
    verdict,
    detail: `${outputTokens} of ${PROBE_TOKENS} tokens asked; the ${dialects.provider} dialect ` +
      `sends neither ignore_eos nor min_tokens (${counted}); ${lengthAdvice(dialects.server)}`,
  };
}

/** Which `--provider` would send a length field to this server. */
function lengthAdvice(server: string | undefined): string {
  const control = server === undefined ? undefined : dialectOf(server).lengthControl;
  if (control !== undefined) {
    return `/v1/models names a ${server} server: --provider ${server} sends ${control}`;
  }
  return `a --provider that sends one, if the server accepts it (${lengthControlDialects()})`;
}

function logprobsRow(probed: Probed | undefined, provider: string): ProbeRow {
  const feature = "logprobs";
  if (probed === undefined) return notInDialect(feature, provider, "logprobs");
  if (!probed.outcome.ok) return unsuccessful(feature, probed);
  if (probed.outcome.record.empty) return emptyReply(feature, probed);
  const tokens = probed.seen.logprobTokens;
  return tokens > 0
    ? { feature, verdict: "yes", detail: `${tokens} tokens came with logprobs` }
    : { feature, verdict: "no", detail: "the reply carried no logprobs" };
}

function chatRow(probed: Probed | undefined, provider: string): ProbeRow {
  const feature = "chat";
  if (probed === undefined) return notInDialect(feature, provider, "chat route");
  if (!probed.outcome.ok) return unsuccessful(feature, probed);
  if (probed.outcome.record.empty) return emptyReply(feature, probed);
  return { feature, verdict: "yes", detail: `${probed.outcome.record.outputTokens} tokens` };
}

function imagesRow(probed: Probed | undefined, provider: string): ProbeRow {
  const feature = "images";
  if (probed === undefined) return notInDialect(feature, provider, "image parts");
  if (!probed.outcome.ok) return unsuccessful(feature, probed);
  const { record } = probed.outcome;
  const prompt = record.serverPromptTokens === undefined
    ? "no prompt count"
    : `${record.serverPromptTokens} prompt tokens with one ${PROBE_IMAGE_SIDE}x${PROBE_IMAGE_SIDE} image`;
  return { feature, verdict: "yes", detail: `accepted, ${prompt}` };
}

function responsesRow(probed: Probed | undefined, provider: string): ProbeRow {
  const feature = "responses API";
  if (probed === undefined) return notInDialect(feature, provider, "Responses API");
  if (!probed.outcome.ok) return unsuccessful(feature, probed);
  if (probed.outcome.record.empty) return emptyReply(feature, probed);
  return {
    feature,
    verdict: "yes",
    detail: `/v1/responses: ${probed.outcome.record.outputTokens} tokens`,
  };
}

function wholeRow(probed: Probed): ProbeRow {
  const feature = "non-streamed";
  if (!probed.outcome.ok) return unsuccessful(feature, probed);
  if (probed.outcome.record.empty) return emptyReply(feature, probed);
  const { record } = probed.outcome;
  return {
    feature,
    verdict: "yes",
    detail: `${record.outputTokens} tokens in ${record.totalLatency.toFixed(1)} ms`,
  };
}

/**
 * Whether the server has the `/v1/embeddings` or `/v1/rerank` route: `yes` with what one
 * request of {@link PROBE_DOCUMENTS} gave, `no` on HTTP 404 or 405 (no such route), `n/a` for a
 * dialect without the mode, else `failed` with why.
 */
function textsRow(mode: RequestMode, probed: Probed | undefined, provider: string): ProbeRow {
  const feature = `/v1/${mode}`;
  if (probed === undefined) return notInDialect(feature, provider, `${feature} route`);
  const { outcome } = probed;
  if (!outcome.ok) {
    const row = unsuccessful(feature, probed);
    const status = outcome.failure.status;
    return status === 404 || status === 405 ? { ...row, verdict: "no" } : row;
  }
  const { record } = outcome;
  const tokens = record.serverPromptTokens === undefined
    ? "no usage"
    : `${record.serverPromptTokens} prompt tokens`;
  const what = mode === "embeddings" ? "inputs embedded" : "documents ranked";
  return {
    feature,
    verdict: "yes",
    detail: `${record.inputs} ${what}, ${tokens}, in ${record.totalLatency.toFixed(1)} ms`,
  };
}

/**
 * The probe table: a title line, then one aligned row per feature. No trailing newline.
 *
 * @example
 * ```ts
 * formatProbeTable(report);
 * // Probe of vllm (/v1/models says ...), model m (...)
 * //   streaming              yes  first token after 12.0 ms, 34 events
 * ```
 */
export function formatProbeTable(report: ProbeReport): string {
  const { target } = report;
  const width = Math.max(...report.rows.map((row) => row.feature.length));
  const verdictWidth = Math.max(3, ...report.rows.map((row) => row.verdict.length));
  const lines = [
    `Probe of ${target.provider} (${target.providerReason}), model ${target.model}: ` +
    `what the server honours`,
  ];
  for (const row of report.rows) {
    lines.push(
      `  ${row.feature.padEnd(width)}  ${row.verdict.padEnd(verdictWidth)}  ${row.detail}`,
    );
  }
  return lines.join("\n");
}

/**
 * Warnings a run should carry when the probe found the counts will be skewed: replies stop
 * before `max_tokens`, or a stream reports no token count. A request that failed or came back
 * empty showed neither, and warns of nothing: its row says what happened.
 */
export function probeWarnings(report: ProbeReport): string[] {
  const warnings: string[] = [];
  const length = report.rows.find((row) => row.feature === "ignore_eos/min_tokens");
  if (length?.verdict === "no") {
    const asked = length.detail.includes("(sent ") ? " when asked" : "";
    warnings.push(
      `The server does not generate max_tokens${asked} (${length.detail}): requests stop ` +
        `early, so num_tokens and the per-token latencies describe shorter replies than asked`,
    );
  }
  const usage = report.rows.find((row) => row.feature === "usage in streams");
  if (usage?.verdict === "no" && report.answered) {
    warnings.push(`Streams carry no usage (${usage.detail})`);
  }
  return warnings;
}
