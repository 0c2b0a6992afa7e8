/**
 * Client CPU per received stream event, for each transport: starts `llmload mock` in its own
 * process (one token per write, `--itl 10ms`), streams `--requests` concurrent completions
 * through each transport in this process, and prints the process's CPU time (user + system)
 * divided by the SSE events received. A warm-up round per transport is not counted. Never fails
 * on speed.
 *
 * `--floor` adds a row that only reads the same responses with `conn.read` on bare sockets (no
 * HTTP parsing, no decoding): what one read per event costs in the runtime, below any transport.
 *
 * `--reader` also passes every response through the request path's reader (the stream decoder and
 * the OpenAI provider's event parse), as a run does: the client's whole cost per event.
 *
 * Usage: deno run -A tests/bench/transport_cpu.ts [--requests 200] [--tokens 100] [--rounds 3]
 *        [--transports node,fetch,http1] [--floor] [--reader]
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createTransport } from "../../transport/mod.ts";
import { startMockProcess } from "./_mock_process.ts";
import type { ResponseSink, Transport, TransportKind } from "../../transport/types.ts";
import { ResponseReader } from "../../request/response_reader.ts";
import { createOpenAIProvider } from "../../providers/openai.ts";

/** What one measured round of one transport gave. */
export interface TransportCpu {
  /** The transport, or `floor` for bare reads. */
  readonly transport: TransportKind | "floor";
  /** SSE events received over all requests. */
  readonly events: number;
  /** `sink.body` calls (reads that carried body bytes). */
  readonly pieces: number;
  /** Client CPU time, user + system, in microseconds. */
  readonly cpuMicros: number;
  /** Requests that failed. */
  readonly failed: number;
}

/**
 * Streams `requests` concurrent completions of `tokens` tokens from `url` through `kind`, and
 * measures this process's CPU time over them.
 */
export async function measureTransportCpu(
  kind: TransportKind,
  url: string,
  options: { readonly requests: number; readonly tokens: number; readonly reader?: boolean },
): Promise<TransportCpu> {
  const transport = createTransport(kind);
  try {
    const before = process.cpuUsage();
    const counts = await Promise.all(
      Array.from(
        { length: options.requests },
        () => stream(transport, url, options.tokens, options.reader === true),
      ),
    );
    const used = process.cpuUsage(before);
    return {
      transport: kind,
      events: counts.reduce((sum, count) => sum + count.events, 0),
      pieces: counts.reduce((sum, count) => sum + count.pieces, 0),
      cpuMicros: used.user + used.system,
      failed: counts.filter((count) => count.failed).length,
    };
  } finally {
    transport.close();
  }
}

const PROVIDER = createOpenAIProvider({
  model: "mock-model",
  chat: false,
  stream: true,
  temperature: 1,
});

async function stream(transport: Transport, url: string, tokens: number, read: boolean) {
  let events = 0;
  let pieces = 0;
  let failed = false;
  const body = JSON.stringify({
    model: "mock-model",
    prompt: "hello",
    max_tokens: tokens,
    stream: true,
  });
  // With --reader, each response also goes through the request path's reader (stream decoder
  // and provider), as in a run.
  const reader = read
    ? new ResponseReader(PROVIDER, { stream: true, fail: () => (failed = true) })
    : undefined;
  try {
    await transport.send(
      {
        url: `${url}/v1/completions`,
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(60_000),
      },
      {
        head(head) {
          reader?.head(head);
        },
        body(bytes, now) {
          pieces++;
          // Events end with a blank line; counting them costs the same on every transport.
          for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) {
            if (bytes[at + 1] === 10) events++;
          }
          reader?.body(bytes, now);
        },
      } satisfies ResponseSink,
    );
    reader?.end();
  } catch {
    failed = true;
  }
  return { events, pieces, failed };
}

/** The floor: the same streams read with `conn.read` on bare sockets, counting reads only. */
async function measureFloor(
  url: string,
  options: { readonly requests: number; readonly tokens: number },
): Promise<TransportCpu> {
  const { hostname, port, host } = new URL(url);
  const body = JSON.stringify({
    model: "mock-model",
    prompt: "hello",
    max_tokens: options.tokens,
    stream: true,
  });
  const request = new TextEncoder().encode(
    `POST /v1/completions HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
      `connection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
  async function readAll(): Promise<number> {
    const conn = await Deno.connect({ hostname, port: Number(port) });
    await conn.write(request);
    const buffer = new Uint8Array(64 * 1024);
    let reads = 0;
    while ((await conn.read(buffer)) !== null) reads++;
    conn.close();
    return reads;
  }
  const before = process.cpuUsage();
  const reads = await Promise.all(Array.from({ length: options.requests }, readAll));
  const used = process.cpuUsage(before);
  const total = reads.reduce((sum, count) => sum + count, 0);
  return {
    transport: "floor",
    events: total,
    pieces: total,
    cpuMicros: used.user + used.system,
    failed: 0,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "200" },
      tokens: { type: "string", default: "100" },
      rounds: { type: "string", default: "3" },
      transports: { type: "string", default: "node,fetch,http1" },
      itl: { type: "string", default: "10ms" },
      floor: { type: "boolean", default: false },
      reader: { type: "boolean", default: false },
    },
  });
  const settings = {
    requests: Number(values.requests),
    tokens: Number(values.tokens),
    reader: values.reader,
  };
  const kinds = values.transports.split(",") as TransportKind[];
  const mock = await startMockProcess(["--ttft", "10ms", "--itl", values.itl]);
  try {
    for (const kind of kinds) await measureTransportCpu(kind, mock.url, settings); // warm-up
    console.log("transport  round  events  reads  failed  cpu_ms  us_per_event");
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const kind of [...kinds, ...(values.floor ? ["floor" as const] : [])]) {
        const result = kind === "floor"
          ? await measureFloor(mock.url, settings)
          : await measureTransportCpu(kind, mock.url, settings);
        const perEvent = result.cpuMicros / Math.max(1, result.events);
        console.log(
          [
            kind.padEnd(9),
            String(round).padStart(5),
            String(result.events).padStart(7),
            String(result.pieces).padStart(6),
            String(result.failed).padStart(7),
            (result.cpuMicros / 1000).toFixed(0).padStart(7),
            perEvent.toFixed(1).padStart(13),
          ].join("  "),
        );
      }
    }
  } finally {
    await mock.stop();
  }
}
