/**
 * Which transport carries a run's load: the one `--transport` names, except where the http1
 * client cannot serve the target. Then another takes over and one line says why: fetch behind an
 * HTTP(S) proxy or for a server that speaks only HTTP/2, node for `--insecure`.
 *
 * @module
 */
import { fetchFallbackReason } from "../transport/mod.ts";
import type { TransportKind } from "../transport/types.ts";
import type { RunConfig } from "../options/types.ts";
import { tlsHandshake } from "./reachability.ts";

/** How long the TLS handshakes that ask a server for its protocols may take. */
const ALPN_TIMEOUT_MS = 5000;

/** The transport a run uses, and the line that says why when it is not the one asked for. */
export interface TransportChoice {
  /** The transport that carries the load. */
  readonly kind: TransportKind;
  /** Why another transport took over; absent when it is the one asked for. */
  readonly note?: string;
}

/** What {@link chooseTransport} consults; injectable for tests. */
export interface ChoiceSources {
  /** The environment, for proxy variables. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Whether an `https:` server speaks HTTP/1.1; the default asks it in TLS handshakes. */
  readonly speaksHttp1?: (host: string, caCerts?: readonly string[]) => Promise<boolean>;
}

/**
 * Chooses the transport for `config`. Only `http1` ever hands over: `node` and `fetch` run as
 * asked (the config refuses `--insecure` with fetch).
 */
export async function chooseTransport(
  config: Pick<RunConfig, "transport" | "host" | "insecure" | "caCerts">,
  sources: ChoiceSources = {},
): Promise<TransportChoice> {
  if (config.transport !== "http1") return { kind: config.transport };
  if (config.insecure) {
    return {
      kind: "node",
      note: "Using the node transport: --insecure needs it (Deno's own TLS client always " +
        "verifies certificates)",
    };
  }
  const proxy = fetchFallbackReason(sources.env ?? Deno.env.toObject(), config.host);
  if (proxy !== undefined) {
    return { kind: "fetch", note: `Using the fetch transport: ${proxy}` };
  }
  if (new URL(config.host).protocol !== "https:") return { kind: "http1" };
  if (await (sources.speaksHttp1 ?? speaksHttp1)(config.host, config.caCerts)) {
    return { kind: "http1" };
  }
  return {
    kind: "fetch",
    note: "Using the fetch transport: the server speaks only HTTP/2, and the http1 client " +
      "speaks HTTP/1.1",
  };
}

/**
 * Whether an `https:` server accepts HTTP/1.1. False only when a handshake that offers just
 * `http/1.1` fails and one that offers just `h2` succeeds: any other failure (no server, a bad
 * certificate) is left to the reachability check and the run, which report it as it is.
 */
export async function speaksHttp1(host: string, caCerts?: readonly string[]): Promise<boolean> {
  const offers = (protocol: string) =>
    tlsHandshake(host, { alpnProtocols: [protocol], caCerts, timeoutMs: ALPN_TIMEOUT_MS })
      // A server that ignores ALPN answers without a protocol: it speaks HTTP/1.1.
      .then((chosen) => chosen === null || chosen === protocol, () => false);
  return await offers("http/1.1") || !await offers("h2");
}
