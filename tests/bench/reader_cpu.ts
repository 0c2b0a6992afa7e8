/**
 * Client CPU per stream event in the request path alone, without a network: `--streams`
 * responses of `--tokens` tokens (the mock's own OpenAI-style wire, vLLM flavour, with usage) are
 * pushed into as many `ResponseReader`s, one event per `body()` call and the streams taking turns,
 * as a transport would deliver them; each reader is then ended and finished. Prints the process's
 * CPU time (user + system) per event over `--rounds` rounds after warm-up ones. Run with
 * `--v8-flags=--trace-gc` to count the collections. Never fails on speed.
 *
 * Usage: deno run -A tests/bench/reader_cpu.ts [--streams 200] [--tokens 100] [--rounds 30]
 *        [--chat]
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { ResponseReader } from "../../request/response_reader.ts";
import type { RequestContext } from "../../request/context.ts";
import { createProvider } from "../../providers/mod.ts";
import { wholeStream } from "../../mock/openai.ts";

/** What one measurement gave. */
export interface ReaderCpu {
  /** Events pushed into readers. */
  readonly events: number;
  /** CPU time, user + system, in microseconds. */
  readonly cpuMicros: number;
}

/** Pushes `rounds` rounds of `streams` interleaved responses through readers; measures CPU. */
export async function measureReaderCpu(options: {
  readonly streams: number;
  readonly tokens: number;
  readonly rounds: number;
  readonly chat: boolean;
}): Promise<ReaderCpu> {
  const { streams, chat } = options;
  const provider = createProvider("openai", { model: "m", chat, stream: true, temperature: 1 });
  const wire = wholeStream({
    chat,
    id: "cmpl-3f8a9b",
    created: 1764650000,
    model: "mock-model",
    tokens: options.tokens,
    promptTokens: 12,
    logprobs: false,
    includeUsage: true,
  });
  const utf8 = new TextEncoder();
  const events = wire.split(/(?<=\n\n)/).map((event) => utf8.encode(event));
  const context: RequestContext = {
    provider,
    transport: { send: () => Promise.resolve(), close() {} },
    host: "",
    headers: {},
    timeoutMs: 1000,
    countTokens: () => Promise.resolve(0),
  };
  const sent = { sample: { prompt: "p", maxTokens: options.tokens }, startedAt: 0 };
  async function round() {
    const readers = Array.from({ length: streams }, () =>
      new ResponseReader(provider, {
        stream: true,
        fail: (error) => {
          throw error;
        },
      }));
    for (const reader of readers) reader.head({ status: 200, contentType: "text/event-stream" });
    for (let k = 0; k < events.length; k++) {
      for (const reader of readers) reader.body(events[k], k);
    }
    for (const reader of readers) {
      reader.end();
      await reader.finish(context, sent);
    }
  }
  for (let i = 0; i < 5; i++) await round();
  const before = process.cpuUsage();
  for (let i = 0; i < options.rounds; i++) await round();
  const used = process.cpuUsage(before);
  return { events: options.rounds * streams * events.length, cpuMicros: used.user + used.system };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      streams: { type: "string", default: "200" },
      tokens: { type: "string", default: "100" },
      rounds: { type: "string", default: "30" },
      chat: { type: "boolean", default: false },
    },
  });
  const result = await measureReaderCpu({
    streams: Number(values.streams),
    tokens: Number(values.tokens),
    rounds: Number(values.rounds),
    chat: values.chat,
  });
  console.log(
    `${result.events} events, ${(result.cpuMicros / result.events).toFixed(2)} µs CPU per event`,
  );
}
