/**
 * Issue 13's next design, measured before building it: a poll loop over libc through
 * `Deno.dlopen` (`epoll_wait`, then one `recv` per ready socket into one shared buffer, the
 * timestamp taken straight after the wait), against a bare `Deno.connect` + `conn.read` loop doing
 * the same work and against the project's http1 transport, in one process run, round by round.
 * Linux x86_64 and aarch64 only; a bench, never product code, and it never fails on speed.
 *
 * Modes, each counting SSE events (`\n\n`) in what it receives and ending a stream at `[DONE]`:
 * - `ffi-async`: `epoll_wait` as a `nonblocking` FFI call (it runs on a runtime thread and returns
 *   a promise), the `recv`s synchronous on the main thread;
 * - `ffi-worker`: a dedicated Worker that blocks in `epoll_wait` (a sync FFI call), as a shard
 *   that polls its own sockets would;
 * - `bare`: one `conn.read` per read on `Deno.connect` sockets, the floor of Deno's op path;
 * - `http1`: `createTransport("http1")`, as the product reads.
 *
 * Scenarios: `stream` is 200 streams from `llmload mock --ttft 10ms --itl 10ms` (one token per
 * write), `lockstep` 400 streams from `llmload mock --lockstep --ttft 50ms --itl 20ms` (every
 * stream's token in the same tick). Each round streams every mode once; a warm-up round is not
 * counted. CPU is this process's (`process.cpuUsage()`: every thread, user and system apart)
 * divided by the events received. Timestamp error: each stream sends `x-bench-stream: <id>`, and
 * its first and last token's client time is compared with the mock's `firstTokenAt` and
 * `lastTokenAt` (`GET /mock/requests`, both clocks `performance.timeOrigin + performance.now()`).
 * `ev/wait` is events per `epoll_wait` that returned sockets (FFI modes). With `taskset` and two
 * cores, the mock runs on core 0 and this process on core 1.
 *
 * Usage: deno run -A tests/bench/ffi_poll.ts [--scenarios stream,lockstep] [--rounds 3]
 *        [--modes ffi-async,ffi-worker,bare,http1] [--tokens <n>]
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createTransport } from "../../transport/mod.ts";
import { startMockProcess } from "./_mock_process.ts";

/** How a mode reads its streams. */
export type Mode = "ffi-async" | "ffi-worker" | "bare" | "http1";

const MODES: readonly Mode[] = ["ffi-async", "ffi-worker", "bare", "http1"];

/** One load shape: the mock's flags and the streams sent at once. */
export interface Scenario {
  /** Name on the command line and in the table. */
  readonly name: string;
  /** Flags of `llmload mock` besides `--port`. */
  readonly mockArgs: readonly string[];
  /** Concurrent streams. */
  readonly streams: number;
  /** Tokens a stream asks for. */
  readonly tokens: number;
}

const SCENARIOS: readonly Scenario[] = [
  { name: "stream", mockArgs: ["--ttft", "10ms", "--itl", "10ms"], streams: 200, tokens: 100 },
  {
    name: "lockstep",
    mockArgs: ["--lockstep", "--ttft", "50ms", "--itl", "20ms"],
    streams: 400,
    tokens: 64,
  },
];

/** What one stream saw; times are absolute ms (`performance.timeOrigin + performance.now()`). */
export interface StreamSeen {
  /** The `x-bench-stream` id it sent. */
  readonly id: number;
  /** SSE events received, `[DONE]` included. */
  readonly events: number;
  /** When the first event arrived. */
  readonly firstAt: number;
  /** When the event of the last token arrived (events before it carry one token each). */
  readonly lastAt: number;
  /** Whether it ended without `[DONE]`. */
  readonly failed: boolean;
}

/** Counts SSE events in the bytes of one stream as they arrive. */
class EventCounter {
  events = 0;
  firstAt = 0;
  lastAt = 0;
  done = false;
  #newlineEnded = false;
  readonly #tokens: number;

  /** Counts a stream of `tokens` tokens. */
  constructor(tokens: number) {
    this.#tokens = tokens;
  }

  /** Takes `bytes` received at absolute time `at`. */
  feed(bytes: Uint8Array, at: number): void {
    const before = this.events;
    if (this.#newlineEnded && bytes[0] === NEWLINE) this.events++;
    for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) {
      if (bytes[i + 1] === NEWLINE) this.events++;
    }
    this.#newlineEnded = bytes.length > 0 && bytes[bytes.length - 1] === NEWLINE;
    // The mock writes each event whole, so `[DONE]` never straddles two reads.
    const done = findDone(bytes);
    if (this.events > before && before === 0) this.firstAt = at;
    if (this.events >= this.#tokens && before < this.#tokens) this.lastAt = at;
    if (done) this.done = true;
  }

  /** What the stream saw, under `id`. */
  seen(id: number): StreamSeen {
    return {
      id,
      events: this.events,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      failed: !this.done,
    };
  }
}

const NEWLINE = 10;
const DONE = new TextEncoder().encode("[DONE]");

function findDone(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(DONE[0]); i !== -1; i = bytes.indexOf(DONE[0], i + 1)) {
    let j = 1;
    while (j < DONE.length && bytes[i + j] === DONE[j]) j++;
    if (j === DONE.length) return true;
  }
  return false;
}

function requestBody(tokens: number): string {
  return JSON.stringify({ model: "mock-model", prompt: "hello", max_tokens: tokens, stream: true });
}

function rawRequest(port: number, id: number, tokens: number): Uint8Array {
  const body = requestBody(tokens);
  return new TextEncoder().encode(
    `POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n` +
      `content-type: application/json\r\nx-bench-stream: ${id}\r\n` +
      `content-length: ${body.length}\r\n\r\n${body}`,
  );
}

// libc through FFI. `recv`'s ssize_t is read as i32 (the low half of the return register on
// x86_64 and aarch64; reads are at most 64 KiB) so that no BigInt is made per read.
const LIBC = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epoll_wait_async: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC>["symbols"];

const AF_INET = 2;
const SOCK_STREAM = 1;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const EAGAIN = 11;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;
const MAX_EVENTS = 1024;
// struct epoll_event is packed on x86_64 (u32 events, u64 data: 12 bytes), aligned elsewhere (16).
const EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
const DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;

function errno(libc: Libc): number {
  const at = libc.__errno_location();
  return at === null ? 0 : new Deno.UnsafePointerView(at).getInt32();
}

function check(libc: Libc, result: number, call: string): number {
  if (result < 0) throw new Error(`${call} failed: errno ${errno(libc)}`);
  return result;
}

/** What `pollStreams` gave. */
export interface Polled {
  /** Each stream as it was seen. */
  readonly seen: StreamSeen[];
  /** `epoll_wait` calls that returned ready sockets. */
  readonly waits: number;
}

/** A blocking socket connected to 127.0.0.1:`port` with TCP_NODELAY, the request sent. */
function openSocket(libc: Libc, port: number, request: Uint8Array): number {
  const fd = check(libc, libc.socket(AF_INET, SOCK_STREAM, 0), "socket");
  const address = new Uint8Array(16);
  const view = new DataView(address.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  address.set([127, 0, 0, 1], 4);
  check(libc, libc.connect(fd, address, address.length), "connect");
  check(libc, libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Int32Array([1]), 4), "setsockopt");
  const sent = check(libc, libc.send(fd, request, BigInt(request.length), MSG_NOSIGNAL), "send");
  if (sent !== request.length) throw new Error(`send wrote ${sent} of ${request.length} bytes`);
  return fd;
}

/**
 * Streams `streams` completions over libc sockets polled with one epoll set: each wait, then one
 * `recv` with MSG_DONTWAIT into one shared buffer per ready socket (level-triggered, so a socket
 * with more to read is ready again next wait). `blocking` waits with the sync call, else with the
 * nonblocking one (a promise). Returns the streams and how many waits returned.
 */
export async function pollStreams(
  port: number,
  options: { readonly streams: number; readonly tokens: number; readonly blocking: boolean },
): Promise<Polled> {
  const library = Deno.dlopen("libc.so.6", LIBC);
  const libc = library.symbols;
  const epoll = check(libc, libc.epoll_create1(0), "epoll_create1");
  const shared = new Uint8Array(64 * 1024);
  const sharedLength = BigInt(shared.length);
  const ready = new Uint8Array(MAX_EVENTS * EVENT_SIZE);
  const readyView = new DataView(ready.buffer);
  const byFd: { id: number; counter: EventCounter }[] = [];
  const seen: StreamSeen[] = [];
  try {
    const event = new Uint8Array(EVENT_SIZE);
    const eventView = new DataView(event.buffer);
    for (let id = 0; id < options.streams; id++) {
      const fd = openSocket(libc, port, rawRequest(port, id, options.tokens));
      eventView.setUint32(0, EPOLLIN, true);
      eventView.setUint32(DATA_OFFSET, fd, true);
      check(libc, libc.epoll_ctl(epoll, EPOLL_CTL_ADD, fd, event), "epoll_ctl");
      byFd[fd] = { id, counter: new EventCounter(options.tokens) };
    }
    const deadline = performance.now() + 120_000;
    let open = options.streams;
    let waits = 0;
    while (open > 0 && performance.now() < deadline) {
      const count = options.blocking
        ? libc.epoll_wait(epoll, ready, MAX_EVENTS, 1000)
        : await libc.epoll_wait_async(epoll, ready, MAX_EVENTS, 1000);
      const at = performance.timeOrigin + performance.now();
      if (check(libc, count, "epoll_wait") > 0) waits++;
      for (let i = 0; i < count; i++) {
        const fd = readyView.getUint32(i * EVENT_SIZE + DATA_OFFSET, true);
        const stream = byFd[fd];
        const got = libc.recv(fd, shared, sharedLength, MSG_DONTWAIT);
        if (got < 0 && errno(libc) === EAGAIN) continue;
        if (got > 0) stream.counter.feed(shared.subarray(0, got), at);
        if (got <= 0 || stream.counter.done) {
          libc.close(fd);
          seen.push(stream.counter.seen(stream.id));
          delete byFd[fd];
          open--;
        }
      }
    }
    for (const [fd, stream] of byFd.entries()) {
      if (stream === undefined) continue;
      libc.close(fd);
      seen.push(stream.counter.seen(stream.id));
    }
    return { seen, waits };
  } finally {
    libc.close(epoll);
    library.close();
  }
}

/** Streams `streams` completions with `conn.read` on bare `Deno.connect` sockets. */
export async function bareStreams(
  port: number,
  options: { readonly streams: number; readonly tokens: number },
): Promise<StreamSeen[]> {
  async function one(id: number): Promise<StreamSeen> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const counter = new EventCounter(options.tokens);
    try {
      await conn.write(rawRequest(port, id, options.tokens));
      const buffer = new Uint8Array(64 * 1024);
      while (!counter.done) {
        const got = await conn.read(buffer);
        if (got === null) break;
        counter.feed(buffer.subarray(0, got), performance.timeOrigin + performance.now());
      }
    } finally {
      conn.close();
    }
    return counter.seen(id);
  }
  return await Promise.all(Array.from({ length: options.streams }, (_, id) => one(id)));
}

/** Streams `streams` completions through the project's http1 transport. */
export async function http1Streams(
  port: number,
  options: { readonly streams: number; readonly tokens: number },
): Promise<StreamSeen[]> {
  const transport = createTransport("http1");
  const body = requestBody(options.tokens);
  async function one(id: number): Promise<StreamSeen> {
    const counter = new EventCounter(options.tokens);
    try {
      await transport.send({
        url: `http://127.0.0.1:${port}/v1/completions`,
        headers: { "content-type": "application/json", "x-bench-stream": String(id) },
        body,
        signal: AbortSignal.timeout(120_000),
      }, {
        head() {},
        body(bytes, now) {
          counter.feed(bytes, performance.timeOrigin + now);
        },
      });
    } catch {
      counter.done = false;
    }
    return counter.seen(id);
  }
  try {
    return await Promise.all(Array.from({ length: options.streams }, (_, id) => one(id)));
  } finally {
    transport.close();
  }
}

/** A Worker of this module that streams with `pollStreams` and a blocking wait. */
class PollWorker {
  #worker = new Worker(import.meta.url, { type: "module" });

  /** Streams `streams` completions in the Worker. */
  run(
    port: number,
    options: { readonly streams: number; readonly tokens: number },
  ): Promise<Polled> {
    return new Promise((resolve, reject) => {
      this.#worker.onmessage = (message: MessageEvent<Polled | string>) => {
        if (typeof message.data === "string") reject(new Error(message.data));
        else resolve(message.data);
      };
      this.#worker.onerror = (error) => reject(error);
      this.#worker.postMessage({ port, ...options });
    });
  }

  /** Ends the Worker. */
  close(): void {
    this.#worker.terminate();
  }
}

/** What one round of one mode gave. */
export interface ModeResult {
  /** Streams as each mode saw them. */
  readonly seen: readonly StreamSeen[];
  /** FFI modes: `epoll_wait` calls that returned ready sockets. */
  readonly waits?: number;
  /** Process CPU in µs over the round, user and system. */
  readonly user: number;
  readonly system: number;
}

/** Streams one round of `mode` and measures this process's CPU over it. */
export async function measureMode(
  mode: Mode,
  port: number,
  options: { readonly streams: number; readonly tokens: number },
): Promise<ModeResult> {
  // The Worker starts and loads libc outside the measured window, as a shard that lives for
  // the run would.
  const worker = mode === "ffi-worker" ? new PollWorker() : undefined;
  try {
    await worker?.run(port, { streams: 0, tokens: options.tokens });
    const before = process.cpuUsage();
    const polled = mode === "ffi-async"
      ? await pollStreams(port, { ...options, blocking: false })
      : worker !== undefined
      ? await worker.run(port, options)
      : {
        seen: mode === "bare"
          ? await bareStreams(port, options)
          : await http1Streams(port, options),
      };
    const used = process.cpuUsage(before);
    return { ...polled, user: used.user, system: used.system };
  } finally {
    worker?.close();
  }
}

/** The mock's record of one request, the fields compared here. */
interface MockRecord {
  readonly headers: Readonly<Record<string, string>>;
  readonly firstTokenAt?: number;
  readonly lastTokenAt?: number;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** Client time − mock write time of each stream's first and last token, in ms. */
export function timestampErrors(
  seen: readonly StreamSeen[],
  records: readonly MockRecord[],
): { first: number[]; last: number[] } {
  const byId = new Map(seen.map((stream) => [String(stream.id), stream]));
  const first: number[] = [];
  const last: number[] = [];
  for (const record of records) {
    const stream = byId.get(record.headers["x-bench-stream"]);
    if (stream === undefined || stream.failed) continue;
    if (record.firstTokenAt !== undefined) first.push(stream.firstAt - record.firstTokenAt);
    if (record.lastTokenAt !== undefined) last.push(stream.lastAt - record.lastTokenAt);
  }
  return { first, last };
}

async function commandExists(name: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

function row(cells: readonly (string | number)[]): string {
  return cells.map((cell, i) => String(cell)[i < 2 ? "padEnd" : "padStart"](i === 0 ? 10 : 8))
    .join("  ");
}

function usage(message: string): never {
  console.error(message);
  Deno.exit(2);
}

async function main(): Promise<void> {
  if (Deno.build.os !== "linux" || !["x86_64", "aarch64"].includes(Deno.build.arch)) {
    console.log(
      `ffi_poll: needs Linux on x86_64 or aarch64 (libc.so.6, epoll); this is ` +
        `${Deno.build.os} ${Deno.build.arch}`,
    );
    return;
  }
  const { values } = parseArgs({
    options: {
      scenarios: { type: "string", default: SCENARIOS.map((s) => s.name).join(",") },
      modes: { type: "string", default: MODES.join(",") },
      rounds: { type: "string", default: "3" },
      tokens: { type: "string" },
    },
  });
  const modes = values.modes.split(",") as Mode[];
  for (const mode of modes) {
    if (!MODES.includes(mode)) usage(`Unknown --modes '${mode}': expected some of ${MODES}`);
  }
  const pin = (await commandExists("taskset")) && navigator.hardwareConcurrency >= 2;
  if (pin) {
    await new Deno.Command("taskset", {
      args: ["-a", "-p", "-c", "1", String(Deno.pid)],
      stdout: "null",
    }).output();
  }
  console.log(
    `loadavg ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}; ` +
      (pin ? "mock on core 0, client on core 1" : "not pinned"),
  );
  for (const name of values.scenarios.split(",")) {
    const found = SCENARIOS.find((s) => s.name === name);
    if (found === undefined) {
      usage(`Unknown --scenarios '${name}': expected some of ${SCENARIOS.map((s) => s.name)}`);
    }
    const scenario = values.tokens === undefined
      ? found
      : { ...found, tokens: Number(values.tokens) };
    const mock = await startMockProcess(scenario.mockArgs, pin ? 0 : undefined);
    const url = `http://127.0.0.1:${mock.port}/mock/requests`;
    const settings = { streams: scenario.streams, tokens: scenario.tokens };
    try {
      console.log(
        `\n${scenario.name}: ${scenario.streams} streams x ${scenario.tokens} tokens, ` +
          `mock ${scenario.mockArgs.join(" ")}`,
      );
      for (const mode of modes) await measureMode(mode, mock.port, settings); // warm-up
      console.log(row([
        "mode",
        "round",
        "events",
        "failed",
        "user_us/ev",
        "sys_us/ev",
        "us/ev",
        "ev/cpu_s",
        "ev/wait",
        "first_ms_mean",
        "first_p99",
        "last_p99",
        "last_max",
      ]));
      for (let round = 1; round <= Number(values.rounds); round++) {
        for (const mode of modes) {
          await (await fetch(url, { method: "DELETE" })).body?.cancel();
          const result = await measureMode(mode, mock.port, settings);
          const records: MockRecord[] = await (await fetch(url)).json();
          const errors = timestampErrors(result.seen, records);
          const events = result.seen.reduce((sum, s) => sum + s.events, 0);
          const per = (micros: number) => micros / Math.max(1, events);
          const mean = errors.first.reduce((a, b) => a + b, 0) / errors.first.length;
          console.log(row([
            mode,
            round,
            events,
            result.seen.filter((s) => s.failed).length,
            per(result.user).toFixed(2),
            per(result.system).toFixed(2),
            per(result.user + result.system).toFixed(2),
            Math.round(events / ((result.user + result.system) / 1e6)),
            result.waits === undefined ? "-" : (events / result.waits).toFixed(2),
            mean.toFixed(3),
            percentile(errors.first, 0.99).toFixed(3),
            percentile(errors.last, 0.99).toFixed(3),
            Math.max(...errors.last).toFixed(3),
          ]));
        }
      }
    } finally {
      await mock.stop();
    }
  }
}

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";

if (inWorker) {
  const scope = globalThis as unknown as {
    onmessage: (message: MessageEvent<{ port: number; streams: number; tokens: number }>) => void;
    postMessage(data: unknown): void;
  };
  scope.onmessage = async ({ data }) => {
    try {
      scope.postMessage(await pollStreams(data.port, { ...data, blocking: true }));
    } catch (error) {
      scope.postMessage(String(error));
    }
  };
} else if (import.meta.main) {
  await main();
}
