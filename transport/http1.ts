/**
 * A purpose-built HTTP/1.1 client over `Deno.connect` / `Deno.connectTls`, so that the client is
 * never the bottleneck on real streams: a keep-alive pool per origin, each request written in
 * one buffer (head and body) on a `TCP_NODELAY` socket, each connection reading into one
 * reusable buffer, and the time of a read taken the moment it resolves, before any parsing.
 * Framing is {@link createResponseParser}'s (transport/http1_parser.ts); this module only does
 * the sockets.
 *
 * Redirects are never followed. A connection the server closed while it sat idle in the pool
 * leaves the pool when its close arrives. A request on a reused connection that ends before one
 * byte of a response (the server closed the connection as the request went out, so it never
 * answered) is sent once more on a new connection, as Deno's fetch and most HTTP clients do;
 * never otherwise (a new connection, or any byte of a response, and the failure stands).
 *
 * @module
 */
import {
  createResponseParser,
  FIELD_VALUE,
  Http1Error,
  type ResponseParser,
} from "./http1_parser.ts";
import type { ResponseSink, Transport, TransportRequest } from "./types.ts";
import { serverFacts } from "./server_headers.ts";

export { Http1Error } from "./http1_parser.ts";

/** TLS settings of {@link createHttp1Transport}. */
export interface Http1Options {
  /**
   * PEM certificates trusted besides the system's roots (a private CA). `Deno.connectTls` cannot
   * skip verification: `--insecure` runs go to the node transport (run/transport_choice.ts).
   */
  readonly caCerts?: readonly string[];
}

/** The HTTP/1.1 transport, with a look at its pool (for tests and diagnostics). */
export interface Http1Transport extends Transport {
  /** Connections idle in the pool, over all origins. */
  idleConnections(): number;
}

/** One kept-alive connection and what it reuses from request to request. */
interface Connection {
  readonly conn: Deno.Conn;
  readonly origin: string;
  /** The read buffer, reused by every read. */
  readonly buffer: Uint8Array;
  readonly parser: ResponseParser;
  /** Where the parser's findings go for the request being read. */
  target: ResponseTarget;
  /** The read started while the connection sat idle, if it has not been taken over yet. */
  pending: Promise<number | null> | undefined;
  /** In the pool now. */
  idle: boolean;
  closed: boolean;
}

/** The request being read: its sink and the time of the read being parsed. */
interface ResponseTarget {
  sink: ResponseSink;
  now: number;
}

const READ_BUFFER_BYTES = 64 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const encoder = new TextEncoder();
const NO_TARGET: ResponseTarget = {
  sink: { head() {}, body() {} },
  now: 0,
};

/**
 * Creates an HTTP/1.1 transport with its own connection pools.
 *
 * @example
 * ```ts
 * const transport = createHttp1Transport({ caCerts: [await Deno.readTextFile("ca.pem")] });
 * await transport.send({ url, headers, body, signal }, sink);
 * transport.close();
 * ```
 */
export function createHttp1Transport(options: Http1Options = {}): Http1Transport {
  const caCerts = options.caCerts ? [...options.caCerts] : undefined;
  const pools = new Map<string, Connection[]>();
  let closed = false;

  function send(request: TransportRequest, sink: ResponseSink): Promise<void> {
    // Built before the async part, so a request that cannot be written (a header value with a
    // line break) throws at once: nothing was sent, and the caller can say so.
    const url = new URL(request.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Cannot send to ${url.protocol} URLs: expected http: or https:`);
    }
    const bytes = requestBytes(url, request.headers, request.body);
    return exchange(url, bytes, request.signal, sink);
  }

  async function exchange(
    url: URL,
    bytes: Uint8Array,
    signal: AbortSignal,
    sink: ResponseSink,
  ): Promise<void> {
    let connection: Connection | undefined;
    const onAbort = () => {
      if (connection) destroy(connection);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      signal.throwIfAborted();
      connection = takeIdle(url.origin);
      // A kept-alive connection may have been closed by the server just as this request went
      // out on it: then it ends before one byte of a response, and the request gets one more
      // try on a new connection.
      let retry = connection !== undefined;
      for (;;) {
        connection ??= await open(url, signal);
        try {
          await write(connection, bytes);
          await receive(connection, signal, sink);
          release(connection);
          return;
        } catch (error) {
          destroy(connection);
          connection = undefined;
          if (!retry || signal.aborted || !unanswered(error)) throw error;
          retry = false;
        }
      }
    } catch (error) {
      if (connection) destroy(connection);
      throw signal.aborted ? signal.reason : error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** A new connection to `url`'s origin, closed again if the signal aborts meanwhile. */
  async function open(url: URL, signal: AbortSignal): Promise<Connection> {
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const secure = url.protocol === "https:";
    const port = Number(url.port || (secure ? 443 : 80));
    let conn: Deno.Conn;
    try {
      conn = secure
        ? await untilAborted(connectTls(hostname, port, signal), signal)
        : await Deno.connect({ hostname, port, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw connectError(error);
    }
    if (signal.aborted) {
      conn.close();
      throw signal.reason;
    }
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const connection: Connection = {
      conn,
      origin: url.origin,
      buffer: new Uint8Array(READ_BUFFER_BYTES),
      // The handler runs only once a response is read, when `connection` is set.
      parser: createResponseParser({
        head(head) {
          connection.target.sink.head({
            status: head.status,
            contentType: (head.headers["content-type"] ?? "").toLowerCase(),
            location: head.headers.location,
            ...serverFacts(Object.entries(head.headers)),
          });
        },
        body(bytes) {
          // A view of the read buffer, valid during the call: no copy, no decoding.
          const target = connection.target;
          target.sink.body(bytes, target.now);
        },
      }),
      target: NO_TARGET,
      pending: undefined,
      idle: false,
      closed: false,
    };
    return connection;
  }

  /**
   * A TLS connection, its handshake done, so that a certificate problem reads as one and not as
   * a failed write; an abort during the handshake closes the connection.
   */
  async function connectTls(
    hostname: string,
    port: number,
    signal: AbortSignal,
  ): Promise<Deno.TlsConn> {
    const conn = await Deno.connectTls({ hostname, port, caCerts, alpnProtocols: ["http/1.1"] });
    const onAbort = () => conn.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      signal.throwIfAborted();
      await conn.handshake();
    } catch (error) {
      if (!signal.aborted) conn.close();
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    return conn;
  }

  /** Reads one response into `sink`. */
  async function receive(connection: Connection, signal: AbortSignal, sink: ResponseSink) {
    const { conn, buffer, parser } = connection;
    const target: ResponseTarget = { sink, now: 0 };
    connection.target = target;
    parser.reset();
    for (;;) {
      let read: number | null;
      try {
        const pending = connection.pending;
        connection.pending = undefined;
        read = await (pending ?? conn.read(buffer));
      } catch (error) {
        throw readError(error, parser.received);
      }
      // The time a piece arrived is when its read resolved, before any parsing.
      target.now = performance.now();
      if (read === null) {
        parser.close();
        break;
      }
      const done = parser.feed(buffer, read);
      if (signal.aborted) throw signal.reason;
      if (done) break;
    }
  }

  /** Puts a connection whose response ended back in the pool, or closes it. */
  function release(connection: Connection) {
    connection.target = NO_TARGET;
    if (closed || !connection.parser.reusable) {
      destroy(connection);
      return;
    }
    let pool = pools.get(connection.origin);
    if (pool === undefined) pools.set(connection.origin, pool = []);
    pool.push(connection);
    connection.idle = true;
    connection.conn.unref();
    watchIdle(connection);
  }

  /**
   * Keeps a read pending while the connection is idle: it settles when the server closes the
   * connection (or sends what nobody asked for), and the connection leaves the pool at once.
   * A request that takes the connection takes this read over as its first.
   */
  function watchIdle(connection: Connection) {
    const pending = connection.conn.read(connection.buffer);
    connection.pending = pending;
    pending.then(() => {
      if (connection.idle) destroy(connection);
    }, () => {
      if (connection.idle) destroy(connection);
    });
  }

  /** The most recently used idle connection to `origin`, taken out of the pool. */
  function takeIdle(origin: string): Connection | undefined {
    const connection = pools.get(origin)?.pop();
    if (connection === undefined) return undefined;
    connection.idle = false;
    connection.conn.ref();
    return connection;
  }

  function destroy(connection: Connection) {
    if (connection.idle) {
      const pool = pools.get(connection.origin)!;
      pool.splice(pool.indexOf(connection), 1);
      connection.idle = false;
    }
    if (connection.closed) return;
    connection.closed = true;
    try {
      connection.conn.close();
    } catch {
      // Already closed by the runtime.
    }
  }

  function close() {
    closed = true;
    for (const pool of pools.values()) {
      for (const connection of [...pool]) destroy(connection);
    }
    pools.clear();
  }

  function idleConnections(): number {
    let count = 0;
    for (const pool of pools.values()) count += pool.length;
    return count;
  }

  return { send, close, idleConnections };
}

/**
 * `connecting`, or the signal's reason as soon as it aborts (`Deno.connectTls` takes no signal);
 * a connection that comes after the abort is closed.
 */
function untilAborted(connecting: Promise<Deno.Conn>, signal: AbortSignal): Promise<Deno.Conn> {
  const { promise, resolve, reject } = Promise.withResolvers<Deno.Conn>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  connecting.then((conn) => {
    if (signal.aborted) conn.close();
    else resolve(conn);
  }, reject).finally(() => signal.removeEventListener("abort", onAbort));
  return promise;
}

/** Writes the whole request. */
async function write(connection: Connection, bytes: Uint8Array): Promise<void> {
  let sent = 0;
  try {
    while (sent < bytes.length) sent += await connection.conn.write(bytes.subarray(sent));
  } catch (error) {
    throw writeError(error);
  }
}

/** Whether a request failed before any byte of a response came: the connection went away. */
function unanswered(error: unknown): boolean {
  return error instanceof Http1Error && error.kind === "connect";
}

/** The request as bytes, head and body in one buffer, for one write. */
function requestBytes(
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string,
): Uint8Array {
  const bodyBytes = encoder.encode(body);
  let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\n`;
  const names = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
    if (!FIELD_VALUE.test(value)) {
      throw new TypeError(`Invalid value of header ${JSON.stringify(name)}`);
    }
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "transfer-encoding" || lower === "connection") {
      continue; // the framing is this client's
    }
    names.add(lower);
    head += `${name}: ${value}\r\n`;
  }
  if (!names.has("host")) head += `host: ${url.host}\r\n`;
  if (!names.has("authorization") && (url.username || url.password)) {
    // As node:http and fetch do with credentials in the URL.
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    head += `authorization: Basic ${btoa(latin1Of(credentials))}\r\n`;
  }
  head += `content-length: ${bodyBytes.length}\r\n\r\n`;
  const bytes = new Uint8Array(head.length + bodyBytes.length);
  // The head is ASCII (or Latin-1 header bytes, written one byte per character).
  for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i);
  bytes.set(bodyBytes, head.length);
  return bytes;
}

/** UTF-8 bytes of `text` as a one-byte-per-character string, for `btoa`. */
function latin1Of(text: string): string {
  return String.fromCharCode(...encoder.encode(text));
}

function connectError(error: unknown): Http1Error {
  const refused = (error as Error)?.name === "ConnectionRefused";
  const detail = (error as Error)?.message ?? String(error);
  return new Http1Error(
    "connect",
    `${refused ? "Connection refused" : "Cannot connect"} (${detail})`,
    {
      code: refused ? "ECONNREFUSED" : "ECONNRESET",
      cause: error,
    },
  );
}

function writeError(error: unknown): Http1Error {
  const detail = (error as Error)?.message ?? String(error);
  return new Http1Error("connect", `Connection closed while sending the request (${detail})`, {
    code: "EPIPE",
    cause: error,
  });
}

function readError(error: unknown, received: number): Http1Error {
  const detail = (error as Error)?.message ?? String(error);
  return received === 0
    ? new Http1Error("connect", `Connection reset before any response (${detail})`, {
      cause: error,
    })
    : new Http1Error("bad_response", `Connection reset mid-response (${detail})`, { cause: error });
}
