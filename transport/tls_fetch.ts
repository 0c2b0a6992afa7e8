/**
 * `fetch` with a run's TLS settings, for the requests that are not load (model discovery, token
 * counting): a private CA through a Deno HTTP client, and `--insecure` through `node:https`,
 * since Deno's fetch always verifies certificates.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import type { TlsOptions } from "./types.ts";

/** The part of `fetch` the non-load requests use. */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** A `fetch` bound to TLS settings; `close()` releases its connections. */
export interface TlsFetch {
  /** Sends one request; a redirect is returned, never followed, as with `redirect: "manual"`. */
  readonly fetch: Fetch;
  /** Closes the connections it kept. */
  close(): void;
}

/** Statuses whose response has no body (a `Response` refuses one). */
const NO_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Creates the `fetch` for `tls`: the global one without settings, one with its own client for a
 * private CA, one over `node:https` for `--insecure`.
 */
export function createTlsFetch(tls: TlsOptions): TlsFetch {
  if (tls.insecure) return nodeFetch(tls);
  if (!tls.caCerts) return { fetch: (url, init) => fetch(url, init), close() {} };
  const client = Deno.createHttpClient({ caCerts: [...tls.caCerts] });
  return { fetch: (url, init) => fetch(url, { ...init, client }), close: () => client.close() };
}

function nodeFetch(tls: TlsOptions): TlsFetch {
  const agent = new https.Agent({
    keepAlive: true,
    ca: tls.caCerts ? [...tls.caCerts] : undefined,
    rejectUnauthorized: false,
  });
  function send(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const { promise, resolve, reject } = Promise.withResolvers<Response>();
    const outgoing = (secure ? https : http).request(target, {
      method: init.method ?? "GET",
      headers: Object.fromEntries(new Headers(init.headers)),
      agent: secure ? agent : undefined,
      signal: init.signal ?? undefined,
    }, (incoming) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        for (const item of [value ?? []].flat()) headers.append(name, item);
      }
      const status = incoming.statusCode ?? 0;
      const body = NO_BODY.has(status)
        ? null
        : Readable.toWeb(incoming) as ReadableStream<Uint8Array>;
      if (body === null) incoming.resume();
      resolve(new Response(body, { status, statusText: incoming.statusMessage, headers }));
    });
    outgoing.on("error", reject);
    outgoing.end(typeof init.body === "string" ? init.body : undefined);
    return promise;
  }
  return { fetch: send, close: () => agent.destroy() };
}
