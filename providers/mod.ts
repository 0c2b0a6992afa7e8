/**
 * The provider registry: dialect names to factories. The only place that knows every name.
 *
 * @module
 */
import type { Provider, ProviderOptions } from "../lib/types.ts";
import { createOpenAIProvider } from "./openai.ts";

type ProviderFactory = (options: ProviderOptions) => Provider;

const FACTORIES: Readonly<Record<string, ProviderFactory>> = {
  openai: (options) => createOpenAIProvider(options),
};

/** Names accepted by `--provider`. */
export const PROVIDER_NAMES: readonly string[] = Object.keys(FACTORIES);

/** Builds the named provider; throws on an unknown name (validated earlier by the CLI). */
export function createProvider(name: string, options: ProviderOptions): Provider {
  const factory = FACTORIES[name];
  if (!factory) {
    throw new Error(`Unknown provider '${name}': expected ${PROVIDER_NAMES.join(", ")}`);
  }
  return factory(options);
}
