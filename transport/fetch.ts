/**
 * Transport over the runtime's `fetch`: HTTP/2 and proxy support, at a higher cost per chunk.
 *
 * @module
 */
import type { ResponseSink, Transport, TransportRequest } from "./types.ts";
import { serverFacts } from "./server_headers.ts";

/**
 * Creates a `fetch` transport with its own connection pool (a `Deno.HttpClient`, which honours
 * `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` as the default one does), so that `close()` can close
 * its idle connections.
 */
export function createFetchTransport(caCerts?: readonly string[]): Transport {
  const client = Deno.createHttpClient(caCerts ? { caCerts: [...caCerts] } : {});

  function send(request: TransportRequest, sink: ResponseSink): Promise<void> {
    // Built here, outside the async part, so that a request fetch refuses to build (a header
    // value it rejects) throws at once: nothing was sent, and the caller can say so.
    const built = new Request(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: request.signal,
      // A load request never follows a redirect: fetch would resend the body, and the
      // credential headers, to whatever origin the Location names.
      redirect: "manual",
    });
    return receive(built, request.signal, sink);
  }

  async function receive(request: Request, signal: AbortSignal, sink: ResponseSink): Promise<void> {
    try {
      const response = await fetch(request, { client });
      sink.head({
        status: response.status,
        contentType: (response.headers.get("content-type") ?? "").toLowerCase(),
        location: response.headers.get("location") ?? undefined,
        ...serverFacts(response.headers),
      });
      if (!response.body) return;
      // Deno 2.9's fetch can leave a pending body read unsettled when the signal aborts; an
      // explicit reader cancelled on abort always ends it (and frees the connection).
      const reader = response.body.getReader();
      const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          sink.body(value, performance.now());
        }
        if (signal.aborted) throw signal.reason;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    } catch (error) {
      throw signal.aborted ? signal.reason : error;
    }
  }

  function close() {
    client.close();
  }

  return { send, close };
}
