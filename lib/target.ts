/**
 * Settles what the run talks to before any load is sent: the provider dialect and the model,
 * each with the reason it was chosen, and whether that dialect can do what the run asks.
 *
 * Provider: `--provider` wins; else the URL's host name (fireworks.ai, together, openai.com,
 * anyscale); else the `owned_by` of the model in `/v1/models` when it names a known server
 * (vllm, sglang, fireworks, llamacpp, ...); else a usage error listing the choices. Model:
 * `--model`; else the dialect's fixed default for servers without `/v1/models` (Triton's
 * `ensemble`); else the first model `/v1/models` lists.
 *
 * @module
 */
import { UsageError } from "./errors.ts";
import { maskUrl } from "./secrets.ts";
import type { RunConfig } from "./types.ts";
import {
  dialectOf,
  PROVIDER_NAMES,
  providerForHost,
  providerForOwner,
  unsupportedMode,
} from "../providers/mod.ts";

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

/** Options of {@link resolveTarget}. */
export interface ResolveTargetOptions {
  /**
   * Refuse modes the dialect cannot serve (`--chat`, streaming, `-n`, `--logprobs`). Default
   * true; `llmload probe` tries every mode itself and turns it off.
   */
  readonly checkModes?: boolean;
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
    const entries = await listModels(config, { model: model === undefined, provider: !provider });
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
      provider = guessFromOwner(maskUrl(config.host), chosen, entry?.owned_by);
      providerReason = `/v1/models says ${chosen} is owned_by '${entry?.owned_by}'`;
    }
  }

  const unsupported = options.checkModes === false ? undefined : unsupportedMode(provider, {
    chat: config.chat,
    stream: config.stream,
    n: config.n,
    logprobs: config.logprobs,
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

/** Reads `/v1/models`: `{data: [...]}` as OpenAI and vLLM answer, or a bare array (Together). */
async function listModels(
  config: RunConfig,
  missing: { model: boolean; provider: boolean },
): Promise<ModelEntry[]> {
  const hint = [missing.model ? "-m/--model" : "", missing.provider ? "--provider" : ""]
    .filter((flag) => flag !== "").join(" and ");
  const purpose = missing.model ? "pick a model" : "guess the provider";
  const headers: Record<string, string> = { ...config.headers };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  const url = `${config.host}/v1/models`;
  const shown = maskUrl(url);
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
  } catch (error) {
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
  const data = Array.isArray(list) ? list : (list as { data?: unknown })?.data;
  if (!Array.isArray(data)) {
    throw new UsageError(`Cannot read the model list at ${shown}: no data array; pass ${hint}`);
  }
  return data.filter((entry): entry is ModelEntry => typeof entry === "object" && entry !== null);
}
