/**
 * Transport over `node:http`/`node:https` with keep-alive agents: about half of `fetch`'s cost per
 * received chunk in Deno 2.9 (see the README's Performance section), and the one transport that
 * can skip certificate verification (`--insecure`).
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import type { ResponseSink, TlsOptions, Transport, TransportRequest } from "./types.ts";
import { serverFacts } from "./server_headers.ts";

/** Creates a `node:http` transport with its own connection pools and the run's TLS settings. */
export function createNodeTransport(tls: TlsOptions = {}): Transport {
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets: Infinity }),
    "https:": new https.Agent({
      keepAlive: true,
      maxSockets: Infinity,
      ca: tls.caCerts ? [...tls.caCerts] : undefined,
      rejectUnauthorized: !tls.insecure,
    }),
  };

  function send(request: TransportRequest, sink: ResponseSink): Promise<void> {
    const url = new URL(request.url);
    const secure = url.protocol === "https:";
    const client = secure ? https : http;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    // Called outside the promise, so that a request node:http refuses to build (a header value
    // it rejects) throws here: nothing was sent, and the caller can say so.
    // Redirects are never followed (node:http does not); the 3xx is reported as it came.
    const outgoing = client.request(url, {
      method: "POST",
      headers: request.headers,
      agent: secure ? agents["https:"] : agents["http:"],
      signal: request.signal,
    }, (incoming) => {
      // Listeners first: the sink may abort the request from inside head() or the first
      // body() (a refused first event that came in the same read as the headers), and an
      // error emitted before a listener exists would escape as an uncaught exception.
      incoming.on("error", (error) => reject(abortReason(request.signal) ?? error));
      incoming.on("aborted", () => reject(abortReason(request.signal) ?? closedEarly()));
      incoming.on("end", () => resolve());
      try {
        sink.head({
          status: incoming.statusCode ?? 0,
          contentType: (incoming.headers["content-type"] ?? "").toLowerCase(),
          location: incoming.headers.location,
          ...serverFacts(Object.entries(incoming.headers)),
        });
      } catch (error) {
        fail(error);
        return;
      }
      // Bytes as read, no decoding here; passed as a plain Uint8Array view, because a Buffer's
      // own `indexOf` and `subarray` (which the stream decoder calls) are slower.
      incoming.on("data", (chunk: Uint8Array) => {
        try {
          sink.body(
            new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length),
            performance.now(),
          );
        } catch (error) {
          fail(error);
        }
      });

      /** A sink that throws ends the request with its error, never outside this promise. */
      function fail(error: unknown) {
        reject(error);
        incoming.destroy();
      }
    });
    outgoing.on("error", (error) => reject(abortReason(request.signal) ?? error));
    outgoing.end(request.body);
    return promise;
  }

  function close() {
    agents["http:"].destroy();
    agents["https:"].destroy();
  }

  return { send, close };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : undefined;
}

function closedEarly(): Error {
  return Object.assign(new Error("Connection closed before the response ended"), {
    code: "ECONNRESET",
  });
}
