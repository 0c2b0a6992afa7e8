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
      for await (const bytes of response.body) {
        sink.text(decoder.decode(bytes, { stream: true }), performance.now());
      }
      const rest = decoder.decode();
      if (rest) sink.text(rest, performance.now());
    } catch (error) {
      throw request.signal.aborted ? request.signal.reason : error;
    }
  }

  return { send, close() {} };
}
