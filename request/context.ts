/**
 * What a request is given and what it gives back: the settings every request of a shard
 * shares, the per-call options, and the outcome.
 *
 * @module
 */
import type { Provider } from "../providers/types.ts";
import type { Transport } from "../transport/types.ts";
import type { RequestFailure, RequestRecord } from "./types.ts";

/** Everything a request needs that does not change between requests. */
export interface RequestContext {
  /** The dialect. */
  readonly provider: Provider;
  /** The HTTP client. */
  readonly transport: Transport;
  /** Target base URL without a trailing slash. */
  readonly host: string;
  /** Headers for every request (auth included); credential values never reach a message. */
  readonly headers: Readonly<Record<string, string>>;
  /** Per-request time limit in milliseconds. */
  readonly timeoutMs: number;
  /** Prompt tokens by the local tokenizer, used when the server reports none. */
  readonly localPromptTokens?: number;
  /** Whether the server's prompt count should equal the local one (not so for chat templates). */
  readonly comparePromptTokens?: boolean;
  /** Completions per request (`n`, default 1): a full answer has `max_tokens × n` tokens. */
  readonly completions?: number;
  /** Counts tokens of generated text when the server reports neither usage nor logprobs. */
  readonly countTokens: (text: string) => Promise<number>;
  /** Receives each successful response's generated text (`--show-response`), secrets masked. */
  readonly onResponse?: (text: string) => void;
}

/** Per-call options of `runRequest`. */
export interface RunRequestOptions {
  /** When the schedule meant to send it (absolute ms), in QPS and burst modes. */
  readonly intendedStart?: number;
  /** Aborts the request when the run stops for good. */
  readonly stopSignal?: AbortSignal;
  /** Close a streamed request right after its first token, and record it as cancelled. */
  readonly cancelAfterFirstToken?: boolean;
}

/** The outcome of one request. */
export type RequestOutcome =
  | { readonly ok: true; readonly record: RequestRecord }
  | { readonly ok: false; readonly failure: RequestFailure };
