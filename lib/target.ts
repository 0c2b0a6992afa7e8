/**
 * Settles what the run talks to before any load is sent: the model (from `/v1/models` when
 * `-m` is omitted) and the provider dialect, each with the reason it was chosen.
 *
 * @module
 */
import { UsageError } from "./errors.ts";
import type { RunConfig } from "./types.ts";

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

interface ModelList {
  data?: Array<{ id?: string; owned_by?: string }>;
}

/** Resolves model and provider; throws {@link UsageError} when the server cannot tell. */
export async function resolveTarget(config: RunConfig): Promise<Target> {
  const provider = config.provider ?? "openai";
  const providerReason = config.provider ? "given by --provider" : "OpenAI-compatible default";
  if (config.model) {
    return { model: config.model, modelReason: "given by --model", provider, providerReason };
  }
  const models = await listModels(config);
  const first = models.data?.find((entry) => typeof entry.id === "string");
  if (!first?.id) {
    throw new UsageError(`No model given and ${config.host}/v1/models lists none: pass -m/--model`);
  }
  return {
    model: first.id,
    modelReason: `first of ${models.data?.length} from /v1/models`,
    provider,
    providerReason,
  };
}

async function listModels(config: RunConfig): Promise<ModelList> {
  const headers: Record<string, string> = { ...config.headers };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  const url = `${config.host}/v1/models`;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new UsageError(
      `Cannot reach ${url} to pick a model (${
        (error as Error).message
      }): check -H/--host or pass -m/--model`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new UsageError(
      `Cannot list models at ${url}: HTTP ${response.status}; pass -m/--model`,
    );
  }
  try {
    return await response.json() as ModelList;
  } catch {
    throw new UsageError(`Cannot read the model list at ${url}: not JSON; pass -m/--model`);
  }
}
