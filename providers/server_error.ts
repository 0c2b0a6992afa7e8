/**
 * The error a provider throws for a server's error event, so the request path can quote it as
 * the server's own report rather than as an unreadable event.
 *
 * @module
 */

/**
 * A 2xx response that carried an error report instead of tokens (an SSE event or a body such as
 * `{"error": {...}}`): read fine, so it is quoted as the server's error, not as unreadable.
 */
export class ServerErrorEvent extends Error {
  /** Always `"ServerErrorEvent"`. */
  override name = "ServerErrorEvent";
}
