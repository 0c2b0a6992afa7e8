/**
 * Bench helper: `llmload mock` in its own process on a free port. Private to the bench scripts.
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A mock process that accepts connections. */
export interface MockProcess {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Kills the process and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `llmload mock --port <free port> ...args`, pinned to `core` with taskset when given, and
 * waits (up to 10 s) until it accepts a connection.
 */
export async function startMockProcess(
  args: readonly string[],
  core?: number,
): Promise<MockProcess> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const deno = [Deno.execPath(), "run", "-A", MAIN, "mock", "--port", String(port), ...args];
  const [cmd, ...rest] = core === undefined ? deno : ["taskset", "-c", String(core), ...deno];
  const child = new Deno.Command(cmd, { args: rest, stdout: "null", stderr: "null" }).spawn();
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return {
        port,
        url: `http://127.0.0.1:${port}`,
        async stop() {
          child.kill();
          await child.status;
        },
      };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  child.kill();
  throw new Error(`The mock did not listen on port ${port} within 10 s`);
}
