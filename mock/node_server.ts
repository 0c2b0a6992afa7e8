/**
 * Serves the mock's handler (a `Request` in, a `Response` out, as for `Deno.serve`) through
 * `node:http`. Used when faults are injected: some act on the connection itself (drop it without
 * an answer, close a kept-alive connection right after its response, reset it mid-stream), and
 * `Deno.serve` exposes no connection. Measured in Deno 2.9.6, `node:http` costs about a third
 * more server CPU per event than `Deno.serve`, which matters only to benchmarks, and those inject
 * no faults.
 *
 * @module
 */
import http from "node:http";

/**
 * What a response does to its connection: `drop` closes it without sending anything, `close`
 * closes it right after the response although the response said keep-alive.
 */
export type ConnectionFault = "drop" | "close";

const connectionFaults = new WeakMap<Response, ConnectionFault>();

/** Marks `response` with what it does to its connection; returns it. */
export function withConnectionFault(response: Response, fault: ConnectionFault): Response {
  connectionFaults.set(response, fault);
  return response;
}

/** What the server knows of the connection a request came on. */
export interface ConnectionInfo {
  /** Whether earlier requests came on the same connection (kept alive). */
  readonly reused: boolean;
}

/** A running `node:http` server. */
export interface NodeMockServer {
  /** The bound port. */
  readonly port: number;
  /** Stops listening and closes every connection, idle or not. */
  shutdown(): Promise<void>;
}

/** Where to listen and what answers. */
export interface NodeServeOptions {
  /** Interface to bind. */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Answers one request. A body stream that errors resets the connection. */
  readonly handler: (request: Request, connection: ConnectionInfo) => Response | Promise<Response>;
  /** Answers a request whose handler threw. */
  readonly onError: (error: unknown) => Response;
}

/**
 * Starts a `node:http` server that answers with `handler` and resolves once it listens. A body
 * stream that errors resets the connection; a response marked by {@link withConnectionFault}
 * does what the mark says.
 */
export async function serveNode(options: NodeServeOptions): Promise<NodeMockServer> {
  const served = new WeakMap<object, number>();
  const server = http.createServer((incoming, outgoing) => {
    const count = (served.get(incoming.socket) ?? 0) + 1;
    served.set(incoming.socket, count);
    void answer(incoming, outgoing, { ...options, reused: count > 1 });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    shutdown() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function answer(
  incoming: http.IncomingMessage,
  outgoing: http.ServerResponse,
  options: NodeServeOptions & ConnectionInfo,
): Promise<void> {
  const socket = incoming.socket;
  let response: Response;
  try {
    const request = await toRequest(incoming, options.hostname);
    response = await options.handler(request, { reused: options.reused });
  } catch (error) {
    response = options.onError(error);
  }
  if (connectionFaults.get(response) === "drop") {
    socket.destroy();
    await response.body?.cancel();
    return;
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => headers[name] = value);
  outgoing.writeHead(response.status, headers);
  // Headers go out at once, as Deno.serve sends them: a client waiting for a stalled body has
  // its status line.
  outgoing.flushHeaders();
  if (response.body !== null && !await pipe(response.body, outgoing)) {
    socket.destroy();
    return;
  }
  if (socket.destroyed) return;
  if (connectionFaults.get(response) === "close") outgoing.end(() => socket.destroy());
  else outgoing.end();
}

/**
 * Writes `body` to `outgoing`; `false` when the body stream errored (the server reset it). A
 * client that goes away cancels the body, so a stalled or trickling stream stops its timers.
 */
async function pipe(body: ReadableStream<Uint8Array>, outgoing: http.ServerResponse) {
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  outgoing.once("close", cancel);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      if (outgoing.destroyed) continue;
      outgoing.write(value);
    }
  } catch {
    return false;
  } finally {
    outgoing.off("close", cancel);
  }
}

async function toRequest(incoming: http.IncomingMessage, hostname: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = incoming.method ?? "GET";
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const chunks: Uint8Array[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Uint8Array);
    body = concatAll(chunks);
  }
  const host = headers.get("host") ?? hostname;
  return new Request(`http://${host}${incoming.url ?? "/"}`, { method, headers, body });
}

function concatAll(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const joined = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}
