/**
 * Transport over the runtime's `fetch`: HTTP/2 and proxy support, at a higher cost per chunk.
 *
 * @module
 */
import type { ResponseSink, Transport, TransportRequest } from "./transport.ts";

/** Creates a `fetch` transport. */
export function createFetchTransport(): Transport {
  async function send(request: TransportRequest, sink: ResponseSink): Promise<void> {
    try {
      const response = await fetch(request.url, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        signal: request.signal,
      });
      sink.head({
        status: response.status,
        contentType: (response.headers.get("content-type") ?? "").toLowerCase(),
      });
      if (!response.body) return;
      const decoder = new TextDecoder();
      // Deno 2.9's fetch can leave a pending body read unsettled when the signal aborts; an
      // explicit reader cancelled on abort always ends it (and frees the connection).
      const reader = response.body.getReader();
      const onAbort = () => void reader.cancel(request.signal.reason).catch(() => {});
      request.signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          sink.text(decoder.decode(value, { stream: true }), performance.now());
        }
        if (request.signal.aborted) throw request.signal.reason;
      } finally {
        request.signal.removeEventListener("abort", onAbort);
      }
      const rest = decoder.decode();
      if (rest) sink.text(rest, performance.now());
    } catch (error) {
      throw request.signal.aborted ? request.signal.reason : error;
    }
  }

  return { send, close() {} };
}
