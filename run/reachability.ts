/**
 * Fails fast when nothing answers at the target, or when its TLS certificate cannot be verified:
 * one connection attempt before the run, instead of thousands of identical connect failures.
 *
 * @module
 */
import { StartError } from "../common/errors.ts";
import type { TlsOptions } from "../transport/types.ts";

/** How long the connection attempt may take. */
export const REACH_TIMEOUT_MS = 5000;

/**
 * Throws a {@link StartError} when no TCP connection to the host's address can be opened, or,
 * for an `https:` host without `--insecure`, when its certificate fails verification.
 */
export async function checkReachable(
  host: string,
  tls: TlsOptions = {},
  timeoutMs = REACH_TIMEOUT_MS,
): Promise<void> {
  const url = new URL(host);
  const { hostname, port } = addressOf(url);
  try {
    const connection = await withTimeout(Deno.connect({ hostname, port }), timeoutMs);
    connection.close();
  } catch (error) {
    throw new StartError(
      `Cannot connect to ${url.protocol}//${url.host} (${(error as Error).message}): ` +
        `is the server running? Check -H/--host`,
    );
  }
  if (url.protocol !== "https:" || tls.insecure) return;
  try {
    await tlsHandshake(host, { caCerts: tls.caCerts, timeoutMs });
  } catch (error) {
    const reason = (error as Error).message;
    // Other TLS failures (a protocol the client does not offer) are the run's to report.
    if (!/certificate|issuer/i.test(reason)) return;
    throw new StartError(
      `Cannot verify the TLS certificate of ${url.protocol}//${url.host} (${reason}): pass ` +
        `--ca-cert FILE with the CA that signed it, or --insecure to accept any certificate`,
    );
  }
}

/** Settings of {@link tlsHandshake}. */
export interface HandshakeOptions {
  /** Protocols offered through ALPN. */
  readonly alpnProtocols?: readonly string[];
  /** CA certificates trusted besides the system's. */
  readonly caCerts?: readonly string[];
  /** How long the connection and the handshake may take. */
  readonly timeoutMs?: number;
}

/**
 * Opens a TLS connection to `host`, completes the handshake and closes it; resolves to the
 * protocol the server chose through ALPN (`null` for none). Rejects on any failure or timeout.
 */
export async function tlsHandshake(
  host: string,
  options: HandshakeOptions = {},
): Promise<string | null> {
  let conn: Deno.TlsConn | undefined;
  const attempt = (async () => {
    conn = await Deno.connectTls({
      ...addressOf(new URL(host)),
      alpnProtocols: options.alpnProtocols ? [...options.alpnProtocols] : undefined,
      caCerts: options.caCerts ? [...options.caCerts] : undefined,
    });
    return (await conn.handshake()).alpnProtocol;
  })();
  try {
    return await withTimeout(attempt, options.timeoutMs ?? REACH_TIMEOUT_MS);
  } finally {
    // A handshake still under way closes when it ends.
    attempt.catch(() => {}).finally(() => closeQuietly(conn));
  }
}

function addressOf(url: URL): { hostname: string; port: number } {
  return {
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port) || (url.protocol === "https:" ? 443 : 80),
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // Already closed.
  }
}
