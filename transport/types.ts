/**
 * The one interface every request goes through: a response arrives as a head and body bytes,
 * pushed synchronously from the transport's I/O callbacks. Transports never decode text: the
 * request path decodes only the payload bytes it needs.
 *
 * @module
 */

/** Which HTTP client carries the requests. */
export type TransportKind = "node" | "fetch" | "http1";

/** Status line facts, delivered once before any body bytes. */
export interface ResponseHead {
  /** HTTP status code. */
  readonly status: number;
  /** `content-type` header, lower-cased, or `""`. */
  readonly contentType: string;
  /** `location` header of a redirect (never followed), if any. */
  readonly location?: string;
  /** The server's id of the request (`x-request-id`), if it sent one. */
  readonly requestId?: string;
  /** Server-side timing headers (Fireworks' `fireworks-server-*`) by lower-cased name. */
  readonly serverTiming?: Readonly<Record<string, string>>;
}

/** Receives a response as it arrives. Called synchronously from the transport's I/O callbacks. */
export interface ResponseSink {
  /** The status line and headers arrived. */
  head(head: ResponseHead): void;
  /**
   * Body bytes arrived at `now` (`performance.now()`), as read: a piece may end inside a UTF-8
   * character. The view is valid only during the call (a transport may pass a part of its read
   * buffer, which the next read overwrites): a sink that keeps bytes copies them.
   */
  body(bytes: Uint8Array, now: number): void;
}

/** One POST request. Redirects are never followed: a 3xx is the response. */
export interface TransportRequest {
  /** Absolute URL. */
  readonly url: string;
  /** Request headers, content-type included. */
  readonly headers: Readonly<Record<string, string>>;
  /** Request body. */
  readonly body: string;
  /** Aborts the request; the rejection carries the signal's reason. */
  readonly signal: AbortSignal;
}

/** Sends requests over kept-alive connections. */
export interface Transport {
  /** Resolves when the body has been read to its end; rejects on a network error or abort. */
  send(request: TransportRequest, sink: ResponseSink): Promise<void>;
  /** Closes idle connections. */
  close(): void;
}

/** The TLS settings of a run's transport. */
export interface TlsOptions {
  /** PEM certificates trusted besides the system's roots (a private CA). */
  readonly caCerts?: readonly string[];
  /** Skips certificate verification: only the node transport can (Deno's TLS client cannot). */
  readonly insecure?: boolean;
}
