/**
 * The transport contract (`transport/types.ts`), checked on every transport `createTransport`
 * builds, against real servers on 127.0.0.1: the head once before any body bytes, the bytes as
 * sent (a character split across writes reaches the reader whole), kept-alive connections,
 * aborts that reject with the signal's reason, redirects returned rather than followed, and idle
 * connections closed by `close()`.
 *
 * @module
 */
import assert from "node:assert/strict";
import http from "node:http";
import type net from "node:net";
import { createTransport } from "../transport/mod.ts";
import type { ResponseHead, ResponseSink, TransportKind } from "../transport/types.ts";
import { ResponseReader } from "../request/response_reader.ts";
import type { RequestContext } from "../request/context.ts";
import { createOpenAIProvider } from "../providers/openai.ts";

/** Every transport kind; the compiler asks for a new kind here, one line. */
const KINDS = Object.keys(
  {
    node: true,
    fetch: true,
    http1: true,
  } satisfies Record<TransportKind, true>,
) as TransportKind[];

/** What a server does with one request. */
type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

/** A `node:http` server on 127.0.0.1 that counts its connections and their closes. */
interface TestServer {
  readonly url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Connections still open. */
  open(): number;
  /** Request paths received, in order. */
  readonly paths: string[];
  close(): Promise<void>;
}

async function serve(handler: Handler): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const paths: string[] = [];
  let accepted = 0;
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? "");
    request.resume();
    request.on("end", () => handler(request, response));
  });
  server.on("connection", (socket: net.Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    open: () => sockets.size,
    paths,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every call a sink received, in order (body bytes copied: the view is valid only in the call). */
type Call = { readonly head: ResponseHead } | { readonly bytes: Uint8Array };

function recordingSink(onCall: (call: Call) => void = () => {}): ResponseSink & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    head(head) {
      calls.push({ head });
      onCall({ head });
    },
    body(bytes) {
      const call = { bytes: bytes.slice() };
      calls.push(call);
      onCall(call);
    },
  };
}

function bytesOf(calls: readonly Call[]): Uint8Array {
  const pieces = calls.flatMap((call) => "bytes" in call ? [call.bytes] : []);
  const all = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    all.set(piece, at);
    at += piece.length;
  }
  return all;
}

function textOf(calls: readonly Call[]): string {
  return new TextDecoder().decode(bytesOf(calls));
}

function post(url: string, signal = new AbortController().signal) {
  return { url, headers: { "content-type": "application/json" }, body: '{"a":1}', signal };
}

/** Runs `check` with a fresh transport of each kind and a server, both closed after. */
async function eachTransport(
  handler: Handler,
  check: (kind: TransportKind, server: TestServer) => Promise<void>,
): Promise<void> {
  for (const kind of KINDS) {
    const server = await serve(handler);
    try {
      await check(kind, server);
    } finally {
      await server.close();
    }
  }
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A handler that answers 200 with `bytes` one byte per write, `ms` apart, so that every
 * multi-byte character is cut between writes.
 */
function byteByByte(contentType: string, bytes: Uint8Array, ms: number): Handler {
  return async (_request, response) => {
    response.writeHead(200, { "content-type": contentType });
    for (const byte of bytes) {
      response.write(new Uint8Array([byte]));
      await tick(ms);
    }
    response.end();
  };
}

/** Polls `condition` every 10 ms for at most `ms`. */
async function eventually(condition: () => boolean, ms = 5_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 10) {
    if (condition()) return true;
    await tick(10);
  }
  return condition();
}

Deno.test("transports: the head arrives once, before any bytes, and the bytes are the body", async () => {
  const pieces = ["data: one\n\n", "data: two\n\n", "data: three\n\n"];
  await eachTransport(async (_request, response) => {
    response.writeHead(201, { "content-type": "Text/Event-Stream", "x-other": "1" });
    for (const piece of pieces) {
      response.write(piece);
      await tick(5);
    }
    response.end();
  }, async (kind, server) => {
    const transport = createTransport(kind);
    try {
      const sink = recordingSink();
      await transport.send(post(`${server.url}/v1/completions`), sink);
      const heads = sink.calls.filter((call) => "head" in call);
      assert.equal(heads.length, 1, kind);
      assert.deepEqual(sink.calls[0], {
        head: { status: 201, contentType: "text/event-stream", location: undefined },
      }, `${kind}: the head first, its content type lower-cased`);
      assert.equal(textOf(sink.calls), pieces.join(""), kind);
      assert.deepEqual(server.paths, ["/v1/completions"], kind);
    } finally {
      transport.close();
    }
  });
});

Deno.test("transports: bytes arrive as written, a UTF-8 character split across writes", async () => {
  const body = "é 😀 ü€ — 中文 🚀";
  const bytes = new TextEncoder().encode(body);
  await eachTransport(byteByByte("text/plain", bytes, 1), async (kind, server) => {
    const transport = createTransport(kind);
    try {
      const sink = recordingSink();
      await transport.send(post(server.url), sink);
      assert.deepEqual(bytesOf(sink.calls), bytes, kind);
    } finally {
      transport.close();
    }
  });
});

Deno.test("transports: the reader never splits a UTF-8 character cut between writes", async () => {
  const pieces = ["é 😀", " ü€ — 中文", " 🚀", "\u{1F680}"];
  const wire = pieces.map((text) => `data: ${JSON.stringify({ choices: [{ text }] })}\n\n`)
    .join("") + "data: [DONE]\n\n";
  const bytes = new TextEncoder().encode(wire);
  await eachTransport(byteByByte("text/event-stream", bytes, 0), async (kind, server) => {
    const transport = createTransport(kind);
    try {
      const provider = createOpenAIProvider({
        model: "m",
        chat: false,
        stream: true,
        temperature: 1,
      });
      const reader = new ResponseReader(provider, {
        stream: true,
        fail: (error) => assert.fail(`${kind}: refused: ${error.message}`),
      });
      await transport.send(post(server.url), reader);
      reader.end();
      const shown: string[] = [];
      const context: RequestContext = {
        provider,
        transport,
        host: server.url,
        headers: {},
        timeoutMs: 5_000,
        countTokens: (text) => Promise.resolve([...text].length),
        onResponse: (text) => shown.push(text),
      };
      const record = await reader.finish(context, {
        sample: { prompt: "p", maxTokens: 4 },
        startedAt: 0,
      });
      assert.deepEqual(shown, [pieces.join("")], kind);
      assert.ok(shown[0].isWellFormed(), `${kind}: a lone surrogate`);
      assert.equal(record.chars, pieces.join("").length, kind);
      assert.equal(record.itl.length, pieces.length - 1, `${kind}: one token per event`);
    } finally {
      transport.close();
    }
  });
});

Deno.test("transports: requests in turn reuse one kept-alive connection", async () => {
  await eachTransport((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end('{"ok":true}');
  }, async (kind, server) => {
    const transport = createTransport(kind);
    try {
      for (let i = 0; i < 5; i++) {
        const sink = recordingSink();
        await transport.send(post(server.url), sink);
        assert.equal(textOf(sink.calls), '{"ok":true}', kind);
      }
      assert.equal(server.paths.length, 5, kind);
      assert.equal(server.connections(), 1, `${kind}: five requests, one connection`);
    } finally {
      transport.close();
    }
  });
});

Deno.test("transports: an abort rejects with the signal's reason, before and after the head", async () => {
  await eachTransport((request, response) => {
    if (request.url === "/silent") return; // never answers
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write("data: first\n\n"); // then stalls
  }, async (kind, server) => {
    const transport = createTransport(kind);
    try {
      const early = new AbortController();
      const reasonEarly = new Error("stop before the head");
      const silent = transport.send(post(`${server.url}/silent`, early.signal), recordingSink());
      await eventually(() => server.paths.includes("/silent"));
      early.abort(reasonEarly);
      await assert.rejects(silent, (error) => error === reasonEarly, `${kind}: before the head`);

      const late = new AbortController();
      const reasonLate = new Error("stop mid-stream");
      const sink = recordingSink((call) => {
        if ("bytes" in call) late.abort(reasonLate);
      });
      const stalled = transport.send(post(`${server.url}/stall`, late.signal), sink);
      await assert.rejects(stalled, (error) => error === reasonLate, `${kind}: mid-stream`);
      assert.equal(sink.calls.filter((call) => "head" in call).length, 1, kind);
    } finally {
      transport.close();
    }
  });
});

Deno.test("transports: a redirect is returned as it came, never followed", async () => {
  await eachTransport((request, response) => {
    if (request.url === "/moved") {
      response.writeHead(302, { location: "/target", "content-type": "text/plain" });
      response.end("see /target");
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end("{}");
  }, async (kind, server) => {
    const transport = createTransport(kind);
    try {
      const sink = recordingSink();
      await transport.send(post(`${server.url}/moved`), sink);
      assert.deepEqual(sink.calls[0], {
        head: { status: 302, contentType: "text/plain", location: "/target" },
      }, kind);
      assert.deepEqual(server.paths, ["/moved"], `${kind}: the Location was not requested`);
    } finally {
      transport.close();
    }
  });
});

Deno.test("transports: close() closes the idle kept-alive connections", async () => {
  await eachTransport((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end("{}");
  }, async (kind, server) => {
    const transport = createTransport(kind);
    await transport.send(post(server.url), recordingSink());
    await transport.send(post(server.url), recordingSink());
    assert.equal(server.connections(), 1, kind);
    assert.ok(await eventually(() => server.open() === 1), `${kind}: the connection stays open`);
    transport.close();
    assert.ok(await eventually(() => server.open() === 0), `${kind}: closed by close()`);
  });
});
