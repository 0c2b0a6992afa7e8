/**
 * A real PostgreSQL server for the tests, from Debian's `postgresql` package: `initdb` and
 * `pg_ctl` on a temporary directory and a free port, trusting local connections. The server
 * refuses to run as root, so as root it runs as the `postgres` user that package creates (through
 * `runuser`). Private to the tests.
 *
 * @module
 */
import postgres from "postgres";
import { toolPath } from "./_tools.ts";

/** A running server, its one database, and how to restart or stop it. */
export interface TestPostgres {
  /** `postgresql://llmload:<password>@127.0.0.1:<port>/postgres`; any password is accepted. */
  readonly url: (password?: string) => string;
  /** A client for the test's own queries; closed by `stop`. */
  readonly sql: postgres.Sql;
  /** Stops the server (fast: open connections are cut), as a crash or a restart would. */
  halt(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
}

/** A port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Initialises and starts a server; the caller must `stop` it. */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = await Deno.makeTempDir({ prefix: "llmload-pg-" });
  const asRoot = Deno.uid() === 0;
  if (asRoot) await command("chown", ["postgres", dir]);
  const data = `${dir}/data`;
  const port = freePort();
  const serverProgram = (name: "initdb" | "pg_ctl", args: string[]) =>
    asRoot
      ? command("runuser", ["-u", "postgres", "--", toolPath(name)!, ...args])
      : command(toolPath(name)!, args);
  await serverProgram("initdb", ["-D", data, "-A", "trust", "-U", "llmload", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () =>
    serverProgram("pg_ctl", ["-D", data, "-o", options, "-l", `${dir}/log`, "-w", "start"]);
  const halt = () => serverProgram("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
  await start();
  const url = (password = "pw") => `postgresql://llmload:${password}@127.0.0.1:${port}/postgres`;
  const sql = postgres(url(), { max: 1, onnotice: () => {} });
  return {
    url,
    sql,
    halt,
    start,
    async stop() {
      await sql.end({ timeout: 1 });
      await halt().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function command(program: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
    throw new Error(`${program} ${args.join(" ")} failed: ${text}`);
  }
}
