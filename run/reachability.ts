/**
 * Fails fast when nothing answers at the target: one TCP connection attempt before the run,
 * instead of thousands of identical connect failures.
 *
 * @module
 */
import { StartError } from "../common/errors.ts";

/** How long the connection attempt may take. */
export const REACH_TIMEOUT_MS = 5000;

/** Throws a {@link StartError} when no TCP connection to the host's address can be opened. */
export async function checkReachable(host: string, timeoutMs = REACH_TIMEOUT_MS): Promise<void> {
  const url = new URL(host);
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const connection = await Promise.race([
      Deno.connect({ hostname, port }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    connection.close();
  } catch (error) {
    throw new StartError(
      `Cannot connect to ${url.protocol}//${url.host} (${(error as Error).message}): ` +
        `is the server running? Check -H/--host`,
    );
  } finally {
    clearTimeout(timer);
  }
}
