/**
 * The provider registry: dialect names, their factories and what each dialect can do. The only
 * place that knows every name; the rest of the program asks it instead of comparing names.
 *
 * @module
 */
import { type Provider, type ProviderOptions, REQUEST_MODES, type RequestMode } from "./types.ts";
import { createEmbeddingsProvider } from "./embeddings.ts";
import { createRerankProvider } from "./rerank.ts";
import { ANYSCALE_OWNED_BY, createAnyscaleProvider } from "./anyscale.ts";
import { createFireworksProvider, FIREWORKS_OWNED_BY } from "./fireworks.ts";
import { createLlamacppProvider, LLAMACPP_CONTEXT, LLAMACPP_OWNED_BY } from "./llamacpp.ts";
import { createOllamaProvider, OLLAMA_OWNED_BY } from "./ollama.ts";
import { createOpenAIProvider, OPENAI_COMPATIBLE_CONTEXT, OPENAI_OWNED_BY } from "./openai.ts";
import { createSglangProvider, SGLANG_CONTEXT, SGLANG_OWNED_BY } from "./sglang.ts";
import { createTgiProvider, TGI_CONTEXT } from "./tgi.ts";
import { createTogetherProvider, TOGETHER_CONTEXT, TOGETHER_OWNED_BY } from "./together.ts";
import { createTritonGenerateProvider } from "./triton_generate.ts";
import { createTritonInferProvider } from "./triton_infer.ts";
import { createVllmProvider, VLLM_CONTEXT, VLLM_OWNED_BY } from "./vllm.ts";
import type { ContextSource } from "./_shared.ts";

export type { ProviderOptions } from "./types.ts";
export type { ContextSource } from "./_shared.ts";

/** What one dialect is and can do. */
export interface Dialect {
  /** Builds a provider of this dialect. */
  readonly create: (settings: ProviderOptions) => Provider;
  /** Whether it can stream responses. */
  readonly stream: boolean;
  /** Whether it has a chat route. */
  readonly chat: boolean;
  /** Whether it can return logprobs (which also count streamed tokens). */
  readonly logprobs: boolean;
  /** Whether it accepts `n > 1`. */
  readonly multipleChoices: boolean;
  /** Whether it speaks OpenAI's Responses API (`/v1/responses`, `--api responses`). */
  readonly responses?: boolean;
  /** Whether its chat route takes OpenAI `image_url` content parts (`--images`). */
  readonly images?: boolean;
  /** The field it sends so the model does not stop before `max_tokens`, if it has one. */
  readonly lengthControl?: string;
  /** Model name used when `-m` is absent, for servers that have no `/v1/models`. */
  readonly defaultModel?: string;
  /**
   * `owned_by` values in `/v1/models` that identify this dialect's server, the usual one first
   * (the mock lists that one); each dialect's file holds its own.
   */
  readonly ownedBy: readonly string[];
  /** Where its server reports the tokens one request may hold, most exact first; none if empty. */
  readonly context: readonly ContextSource[];
  /** Tells whether a URL host name belongs to this provider's hosted API. */
  readonly hostRule?: { readonly describe: string; readonly test: (host: string) => boolean };
  /** The `--mode`s its server serves: `generate` always, `/v1/embeddings`, `/v1/rerank`. */
  readonly modes: readonly RequestMode[];
}

/** A server with the OpenAI embeddings route but no rerank route. */
const WITH_EMBEDDINGS: readonly RequestMode[] = ["generate", "embeddings"];
/** Generation only. */
const GENERATE_ONLY: readonly RequestMode[] = ["generate"];

const openAICompatible = {
  stream: true,
  chat: true,
  logprobs: true,
  multipleChoices: true,
  responses: true,
  images: true,
  context: OPENAI_COMPATIBLE_CONTEXT,
  modes: WITH_EMBEDDINGS,
};

/**
 * The provider of each mode besides `generate`: one request shape for every dialect that serves
 * the mode, under that dialect's name.
 */
const MODE_PROVIDERS: Readonly<
  Record<Exclude<RequestMode, "generate">, (settings: ProviderOptions, name: string) => Provider>
> = { embeddings: createEmbeddingsProvider, rerank: createRerankProvider };

/** Every dialect by `--provider` name. */
export const DIALECTS: Readonly<Record<string, Dialect>> = {
  openai: {
    create: (settings) => createOpenAIProvider(settings),
    ...openAICompatible,
    ownedBy: OPENAI_OWNED_BY,
    hostRule: { describe: "openai.com", test: (host) => endsWithDomain(host, "openai.com") },
  },
  anyscale: {
    create: createAnyscaleProvider,
    ...openAICompatible,
    ownedBy: ANYSCALE_OWNED_BY,
    hostRule: { describe: "anyscale", test: (host) => host.includes("anyscale") },
  },
  fireworks: {
    create: createFireworksProvider,
    ...openAICompatible,
    lengthControl: "min_tokens",
    ownedBy: FIREWORKS_OWNED_BY,
    hostRule: { describe: "fireworks.ai", test: (host) => endsWithDomain(host, "fireworks.ai") },
  },
  vllm: {
    create: createVllmProvider,
    ...openAICompatible,
    lengthControl: "ignore_eos",
    ownedBy: VLLM_OWNED_BY,
    context: VLLM_CONTEXT,
    modes: REQUEST_MODES,
  },
  sglang: {
    create: createSglangProvider,
    ...openAICompatible,
    lengthControl: "ignore_eos",
    ownedBy: SGLANG_OWNED_BY,
    context: SGLANG_CONTEXT,
    modes: REQUEST_MODES,
  },
  together: {
    create: createTogetherProvider,
    ...openAICompatible,
    lengthControl: "ignore_eos",
    ownedBy: TOGETHER_OWNED_BY,
    context: TOGETHER_CONTEXT,
    hostRule: { describe: "together", test: (host) => host.includes("together") },
    modes: REQUEST_MODES,
  },
  tgi: {
    create: createTgiProvider,
    stream: true,
    chat: true,
    logprobs: true,
    multipleChoices: false,
    images: true,
    // TGI ignores the model name on /generate; it needs no /v1/models round trip.
    defaultModel: "tgi",
    ownedBy: [],
    context: TGI_CONTEXT,
    modes: GENERATE_ONLY,
  },
  "triton-generate": {
    create: createTritonGenerateProvider,
    stream: true,
    chat: false,
    logprobs: false,
    multipleChoices: false,
    defaultModel: "ensemble",
    ownedBy: [],
    context: [],
    modes: GENERATE_ONLY,
  },
  "triton-infer": {
    create: createTritonInferProvider,
    stream: false,
    chat: false,
    logprobs: false,
    multipleChoices: false,
    defaultModel: "ensemble",
    ownedBy: [],
    context: [],
    modes: GENERATE_ONLY,
  },
  llamacpp: {
    create: createLlamacppProvider,
    stream: true,
    chat: true,
    logprobs: true,
    // Through its OpenAI routes, which return n choices (the native /completion does not).
    multipleChoices: true,
    images: true,
    lengthControl: "ignore_eos",
    ownedBy: LLAMACPP_OWNED_BY,
    context: LLAMACPP_CONTEXT,
    modes: REQUEST_MODES,
  },
  ollama: {
    create: createOllamaProvider,
    stream: true,
    chat: true,
    logprobs: true,
    multipleChoices: false,
    ownedBy: OLLAMA_OWNED_BY,
    // Ollama cuts a prompt over num_ctx down without an error, and reports no limit to check.
    context: [],
    modes: WITH_EMBEDDINGS,
  },
};

/** Names accepted by `--provider`. */
export const PROVIDER_NAMES: readonly string[] = Object.keys(DIALECTS);

/** The dialect of a name; throws on an unknown name (validated earlier by the CLI). */
export function dialectOf(name: string): Dialect {
  const dialect = DIALECTS[name];
  if (!dialect) {
    throw new Error(`Unknown provider '${name}': expected ${PROVIDER_NAMES.join(", ")}`);
  }
  return dialect;
}

/**
 * Builds the named provider for `mode` (default `generate`); throws on an unknown name
 * (validated earlier by the CLI).
 */
export function createProvider(
  name: string,
  settings: ProviderOptions,
  mode: RequestMode = "generate",
): Provider {
  const dialect = dialectOf(name);
  return mode === "generate" ? dialect.create(settings) : MODE_PROVIDERS[mode](settings, name);
}

/** The dialects whose servers serve `mode`, in `--provider` order. */
export function providersFor(mode: RequestMode): string[] {
  return PROVIDER_NAMES.filter((name) => DIALECTS[name].modes.includes(mode));
}

/** The provider whose hosted API lives at `host`, with the rule that matched. */
export function providerForHost(host: string): { name: string; rule: string } | undefined {
  const lower = host.toLowerCase();
  for (const [name, dialect] of Object.entries(DIALECTS)) {
    if (dialect.hostRule?.test(lower)) return { name, rule: dialect.hostRule.describe };
  }
  return undefined;
}

/** The provider a `/v1/models` `owned_by` value names, if any. */
export function providerForOwner(ownedBy: string): string | undefined {
  const lower = ownedBy.toLowerCase();
  return PROVIDER_NAMES.find((name) => DIALECTS[name].ownedBy.includes(lower));
}

/** The request modes a run asks of its dialect. */
export interface RequestModes {
  /** Chat instead of completions. */
  readonly chat: boolean;
  /** Streamed responses. */
  readonly stream: boolean;
  /** Completions per request. */
  readonly n: number;
  /** `--logprobs`, if given. */
  readonly logprobs?: number;
  /** `--mode`; default `generate`. */
  readonly mode?: RequestMode;
  /** `--api responses`. */
  readonly responses?: boolean;
  /** `--images`. */
  readonly images?: boolean;
}

/**
 * Why a dialect cannot serve these modes, as the second half of a usage message
 * (`"has no streaming: pass --no-stream"`), or `undefined` when it can.
 */
export function unsupportedMode(name: string, modes: RequestModes): string | undefined {
  const dialect = dialectOf(name);
  const mode = modes.mode ?? "generate";
  if (!dialect.modes.includes(mode)) {
    const able = providersFor(mode);
    const names = `${able.slice(0, -1).join(", ")} or ${able.at(-1)}`;
    return `has no /v1/${mode} route; --mode ${mode} needs --provider ${names}`;
  }
  // The other modes never stream and send no chat, n or logprobs (options/config.ts warns).
  if (mode !== "generate") return undefined;
  if (modes.stream && !dialect.stream) {
    return "has no streaming: pass --no-stream";
  }
  if (modes.chat && !dialect.chat) return "has no chat route: leave out --chat";
  if (modes.n > 1 && !dialect.multipleChoices) {
    return `cannot generate ${modes.n} completions per request: leave out -n`;
  }
  if (modes.logprobs !== undefined && !dialect.logprobs) {
    return "returns no logprobs: leave out --logprobs";
  }
  if (modes.responses && !dialect.responses) {
    return `has no Responses API: use --api chat, or a provider that has one (${
      namesWith("responses")
    })`;
  }
  if (modes.images && !dialect.images) {
    return `takes no image parts: leave out --images, or use a provider that does (${
      namesWith("images")
    })`;
  }
  return undefined;
}

/** The dialects that have a capability, for messages. */
function namesWith(capability: "responses" | "images"): string {
  return PROVIDER_NAMES.filter((name) => DIALECTS[name][capability]).join(", ");
}

function endsWithDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}
