/**
 * Settles what the run talks to before any load is sent: the provider dialect and the model,
 * each with the reason it was chosen, and whether that dialect can do what the run asks.
 *
 * Provider: `--provider` wins; else the URL's host name (fireworks.ai, together, openai.com,
 * anyscale); else the `owned_by` of the model in `/v1/models` when it names a known server
 * (vllm, sglang, fireworks, llamacpp, ...); else a usage error listing the choices. Model:
 * `--model`; else the dialect's fixed default for servers without `/v1/models` (Triton's
 * `ensemble`); else the first model `/v1/models` lists. A `-m` the server does not list is a usage
 * error when the provider is guessed, a warning with `--provider` ({@link inspectServer}).
 *
 * Discovery (`/v1/models`, `/props`, `/info`) follows redirects within the host's origin only,
 * saying so; a redirect to another origin is a usage error naming its `Location`, so the
 * credentials (`-k`, `--header`) never go there.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { maskUrl } from "../common/secrets.ts";
import { createTlsFetch } from "../transport/mod.ts";
import type { RunConfig } from "../options/types.ts";
import type { ContextSource } from "../providers/mod.ts";
import {
  dialectOf,
  DIALECTS,
  PROVIDER_NAMES,
  providerForHost,
  providerForOwner,
  unsupportedMode,
} from "../providers/mod.ts";
import { requestHeaders } from "../options/headers.ts";

/** The resolved target of a run. */
export interface Target {
  /** Model name sent in requests. */
  readonly model: string;
  /** How the model was chosen, for the user. */
  readonly modelReason: string;
  /** Provider dialect name. */
  readonly provider: string;
  /** How the provider was chosen, for the user. */
  readonly providerReason: string;
}

interface ModelEntry {
  id?: unknown;
  owned_by?: unknown;
}

/** How long `/v1/models` may take to answer. */
const LIST_TIMEOUT_MS = 10_000;

/** How long a route that only may report the context (`/props`, `/info`) may take. */
const CONTEXT_TIMEOUT_MS = 5_000;

/** Same-origin redirects followed before discovery gives up. */
const MAX_REDIRECTS = 5;

/** Model names quoted in a message at most. */
const NAMES_SHOWN = 10;

/** Options of {@link resolveTarget}. */
export interface ResolveTargetOptions {
  /**
   * Refuse modes the dialect cannot serve (`--chat`, streaming, `-n`, `--logprobs`). Default
   * true; `llmload probe` tries every mode itself and turns it off.
   */
  readonly checkModes?: boolean;
  /** Receives a line for each redirect discovery follows. */
  readonly log?: (line: string) => void;
}

/**
 * Resolves provider and model; throws a {@link UsageError} when neither the flags nor the server
 * tell, or when the dialect cannot serve the run's modes (e.g. streaming with triton-infer).
 *
 * @example
 * ```ts
 * const target = await resolveTarget(config);
 * console.log(`${target.provider} (${target.providerReason})`);
 * ```
 */
export async function resolveTarget(
  config: RunConfig,
  options: ResolveTargetOptions = {},
): Promise<Target> {
  let provider = config.provider;
  let providerReason = provider === undefined ? "" : "given by --provider";
  if (provider === undefined) {
    const host = hostNameOf(config.host);
    const byHost = providerForHost(host);
    if (byHost) {
      provider = byHost.name;
      providerReason = `host name ${host} matches ${byHost.rule}`;
    }
  }

  let model = config.model;
  let modelReason = model === undefined ? "" : "given by --model";
  const fallbackModel = provider === undefined ? undefined : dialectOf(provider).defaultModel;
  if (model === undefined && fallbackModel !== undefined) {
    model = fallbackModel;
    modelReason = `default of ${provider}; pass -m/--model for another`;
  }

  if (model === undefined || provider === undefined) {
    const entries = await listModels(config, {
      missing: { model: model === undefined, provider: !provider },
      log: options.log,
    });
    if (model === undefined) {
      const first = entries.find((entry) => typeof entry.id === "string" && entry.id !== "");
      if (!first) {
        throw new UsageError(
          `No model given and ${maskUrl(config.host)}/v1/models lists none: pass -m/--model`,
        );
      }
      model = first.id as string;
      modelReason = `first of ${entries.length} from /v1/models`;
    }
    if (provider === undefined) {
      const chosen = model;
      const entry = entries.find((candidate) => candidate.id === chosen);
      if (entry === undefined) {
        throw new UsageError(
          `${unlisted(chosen, entries)}: pass one of them with -m/--model, or --provider to ` +
            `send ${chosen} anyway`,
        );
      }
      provider = guessFromOwner(maskUrl(config.host), chosen, entry.owned_by);
      providerReason = `/v1/models says ${chosen} is owned_by '${entry?.owned_by}'`;
    }
  }

  const unsupported = options.checkModes === false ? undefined : unsupportedMode(provider, {
    chat: config.chat,
    stream: config.stream,
    n: config.n,
    logprobs: config.logprobs,
    mode: config.mode,
    responses: config.api === "responses",
    images: config.images !== undefined,
  });
  if (unsupported !== undefined) throw new UsageError(`The ${provider} dialect ${unsupported}`);
  return { model, modelReason, provider, providerReason };
}

function guessFromOwner(host: string, model: string, ownedBy: unknown): string {
  const known = typeof ownedBy === "string" ? providerForOwner(ownedBy) : undefined;
  if (known !== undefined) return known;
  const said = typeof ownedBy === "string" && ownedBy !== ""
    ? `/v1/models says ${model} is owned_by '${ownedBy}', which names no known server`
    : `/v1/models gives no owned_by for ${model}`;
  throw new UsageError(
    `Cannot tell which API dialect ${host} speaks: ${said}; pass --provider with one of ` +
      PROVIDER_NAMES.join(", "),
  );
}

function hostNameOf(host: string): string {
  try {
    return new URL(host).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return host;
  }
}

/** `NAME is not among the models the server lists: a, b`. */
function unlisted(model: string, entries: readonly ModelEntry[]): string {
  const names = entries.map((entry) => String(entry.id));
  const shown = names.slice(0, NAMES_SHOWN).join(", ") +
    (names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : "");
  return `${model} is not among the models the server lists: ${shown || "none"}`;
}

/** Reads `/v1/models`: `{data: [...]}` as OpenAI and vLLM answer, or a bare array (Together). */
async function listModels(
  config: RunConfig,
  options: { missing: { model: boolean; provider: boolean }; log?: (line: string) => void },
): Promise<ModelEntry[]> {
  const { missing } = options;
  const hint = [missing.model ? "-m/--model" : "", missing.provider ? "--provider" : ""]
    .filter((flag) => flag !== "").join(" and ");
  const purpose = missing.model ? "pick a model" : "guess the provider";
  const url = `${config.host}/v1/models`;
  const shown = maskUrl(url);
  let response: Response;
  try {
    response = await discover(config, "/v1/models", {
      timeoutMs: LIST_TIMEOUT_MS,
      log: options.log,
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `Cannot reach ${shown} to ${purpose} (${
        maskUrl((error as Error).message)
      }): check -H/--host or pass ${hint}`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new UsageError(`Cannot list models at ${shown}: HTTP ${response.status}; pass ${hint}`);
  }
  let list: unknown;
  try {
    list = await response.json();
  } catch {
    throw new UsageError(`Cannot read the model list at ${shown}: not JSON; pass ${hint}`);
  }
  const entries = modelEntries(list);
  if (entries === undefined) {
    throw new UsageError(`Cannot read the model list at ${shown}: no data array; pass ${hint}`);
  }
  return entries;
}

/** The entries of a `/v1/models` body, or `undefined` when it holds no list. */
function modelEntries(list: unknown): ModelEntry[] | undefined {
  const data = Array.isArray(list) ? list : (list as { data?: unknown })?.data;
  if (!Array.isArray(data)) return undefined;
  return data.filter((entry): entry is ModelEntry => typeof entry === "object" && entry !== null);
}

/** Options of {@link discover}. */
interface DiscoverOptions {
  readonly timeoutMs: number;
  readonly log?: (line: string) => void;
  /** A POST body; a POST follows no redirect at all (its method and body would be at stake). */
  readonly body?: string;
}

/**
 * Sends one discovery request with the run's credentials. Redirects within the host's origin
 * are followed (each one said in a line); a redirect to another origin throws a `UsageError`
 * naming its `Location`, before anything is sent there. Network errors reject as they are.
 */
async function discover(
  config: RunConfig,
  path: string,
  options: DiscoverOptions,
): Promise<Response> {
  const headers = requestHeaders(config);
  if (options.body === undefined) delete headers["content-type"];
  const origin = new URL(config.host).origin;
  const signal = AbortSignal.timeout(options.timeoutMs);
  let url = `${config.host}${path}`;
  const client = createTlsFetch(config);
  try {
    for (let hop = 0;; hop++) {
      const response = await client.fetch(url, {
        method: options.body === undefined ? "GET" : "POST",
        headers,
        body: options.body,
        redirect: "manual",
        signal,
      });
      const location = response.headers.get("location");
      if (response.status < 300 || response.status > 399 || location === null) {
        return await buffered(response);
      }
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== origin) {
        throw new UsageError(
          `${maskUrl(url)} redirects to ${
            maskUrl(next.href)
          }, another origin: llmload follows redirects within ` +
            `${origin} only, so no credentials go there; pass -H/--host ${next.origin} if that ` +
            `is the server`,
        );
      }
      if (options.body !== undefined || hop >= MAX_REDIRECTS) {
        throw new UsageError(
          `${maskUrl(url)} redirects to ${
            maskUrl(next.href)
          }: pass -H/--host with the base URL the server answers at`,
        );
      }
      options.log?.(`${maskUrl(url)} redirects to ${maskUrl(next.href)} (same origin): followed`);
      url = next.href;
    }
  } finally {
    client.close();
  }
}

/** The response with its body read, so that the client that fetched it can close. */
async function buffered(response: Response): Promise<Response> {
  const body = response.body === null ? null : await response.arrayBuffer();
  return new Response(body, { status: response.status, headers: response.headers });
}

/** A bound the server reports on the tokens of one request. */
export interface ContextLimit {
  /** The number of tokens. */
  readonly tokens: number;
  /** Prompt and `max_tokens` together (`total`), or the prompt alone. */
  readonly bounds: "total" | "prompt";
  /**
   * Refused over it (`limit`); a prompt that fills it refused and longer replies cut there
   * (`cuts`); or only the model's training length (`trained`).
   */
  readonly kind: "limit" | "cuts" | "trained";
  /** Where it was read, e.g. `/props default_generation_settings.n_ctx`. */
  readonly source: string;
}

/** What {@link inspectServer} learned about the server beyond the target. */
export interface ServerFacts {
  /** The dialect `/v1/models` `owned_by` names for the model, when it names a known one. */
  readonly serverDialect?: string;
  /** Context bounds the server reports, at most one of each `bounds`. */
  readonly context: readonly ContextLimit[];
  /** What the run should be warned of (a model the server does not list, answered as another). */
  readonly warnings: readonly string[];
}

/**
 * Asks the server what a run needs to know before it sends load: whether it lists the model
 * (with `--provider` an unlisted `-m` is a warning, and one small request shows under which name
 * the server answers), which dialect its `/v1/models` names, and the context it reports where
 * the dialect's server reports one (`Dialect.context`). Best effort: a route that does not
 * answer tells nothing; only a redirect to another origin throws (a `UsageError`).
 *
 * @example
 * ```ts
 * const facts = await inspectServer(config, target, { log: console.error });
 * facts.context; // [{ tokens: 512, bounds: "total", kind: "cuts", source: "/props ..." }]
 * ```
 */
export async function inspectServer(
  config: RunConfig,
  target: Target,
  options: { log?: (line: string) => void } = {},
): Promise<ServerFacts> {
  const dialect = dialectOf(target.provider);
  const log = options.log;
  const warnings: string[] = [];
  const entries = dialect.defaultModel === undefined
    ? await optionalEntries(config, log)
    : undefined;
  const entry = entries?.find((candidate) => candidate.id === target.model);
  if (entries !== undefined && entries.length > 0 && entry === undefined) {
    const answered = await answeringModel(config, target, log);
    const as = answered !== undefined && answered !== target.model
      ? `; the server answers as ${answered}, so the results are ${answered}'s, whatever -m says`
      : "";
    warnings.push(`${unlisted(target.model, entries)}${as}`);
  }
  const owners = new Set((entry ? [entry] : entries ?? []).map((item) => item.owned_by));
  const [owner] = owners;
  const serverDialect = owners.size === 1 && typeof owner === "string"
    ? providerForOwner(owner)
    : undefined;
  const context = await readContext(config, {
    sources: dialect.context,
    entry: entry ?? (entries?.length === 1 ? entries[0] : undefined),
    log,
  });
  return { serverDialect, context, warnings };
}

/** `/v1/models` entries, or `undefined` when the server does not answer with a list. */
async function optionalEntries(
  config: RunConfig,
  log?: (line: string) => void,
): Promise<ModelEntry[] | undefined> {
  const body = await optionalJson(config, "/v1/models", { timeoutMs: LIST_TIMEOUT_MS, log });
  return body === undefined ? undefined : modelEntries(body);
}

/** A discovery route's JSON body, or `undefined` when it fails, is not OK or not JSON. */
async function optionalJson(
  config: RunConfig,
  path: string,
  options: DiscoverOptions,
): Promise<unknown> {
  try {
    const response = await discover(config, path, options);
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return await response.json();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return undefined;
  }
}

/** Tokens the request that shows the answering model asks for: the least there is. */
const CHECK_TOKENS = 1;

/**
 * The `model` a server names in its reply to one small non-streamed request, or `undefined`
 * when it names none or the request fails. llama.cpp serves its one model whatever the request
 * says and names that model in replies; a server that refuses the name fails the request here,
 * and the run shows the failures.
 */
async function answeringModel(
  config: RunConfig,
  target: Target,
  log?: (line: string) => void,
): Promise<string | undefined> {
  const provider = dialectOf(target.provider).create({
    model: target.model,
    chat: config.chat,
    stream: false,
    temperature: config.temperature,
  });
  const spec = provider.request({ prompt: "Hi", maxTokens: CHECK_TOKENS });
  const reply = await optionalJson(config, spec.path, {
    timeoutMs: LIST_TIMEOUT_MS,
    log,
    body: spec.body,
  });
  const model = (reply as { model?: unknown } | undefined)?.model;
  return typeof model === "string" && model !== "" ? model : undefined;
}

/** The first number each `bounds` finds in the dialect's sources, each route read once. */
async function readContext(
  config: RunConfig,
  options: {
    sources: readonly ContextSource[];
    entry: ModelEntry | undefined;
    log?: (line: string) => void;
  },
): Promise<ContextLimit[]> {
  const bodies = new Map<string, unknown>();
  const found: ContextLimit[] = [];
  for (const source of options.sources) {
    if (found.some((limit) => limit.bounds === source.bounds)) continue;
    let body: unknown;
    if (source.path === "/v1/models") body = options.entry;
    else {
      if (!bodies.has(source.path)) {
        bodies.set(
          source.path,
          await optionalJson(config, source.path, {
            timeoutMs: CONTEXT_TIMEOUT_MS,
            log: options.log,
          }),
        );
      }
      body = bodies.get(source.path);
    }
    const tokens = source.field.reduce<unknown>(
      (value, key) => (value as Record<string, unknown> | undefined)?.[key],
      typeof body === "object" && body !== null ? body : undefined,
    );
    if (typeof tokens === "number" && Number.isSafeInteger(tokens) && tokens > 0) {
      found.push({
        tokens,
        bounds: source.bounds,
        kind: source.kind,
        source: `${source.path} ${source.field.join(".")}`,
      });
    }
  }
  return found;
}

/** Dialects whose requests carry a length field, by that field, for suggestions. */
export function lengthControlDialects(): string {
  const byField = new Map<string, string[]>();
  for (const [name, dialect] of Object.entries(DIALECTS)) {
    if (dialect.lengthControl === undefined) continue;
    byField.set(dialect.lengthControl, [...byField.get(dialect.lengthControl) ?? [], name]);
  }
  return [...byField].map(([field, names]) => `${field}: ${names.join(", ")}`).join("; ");
}
