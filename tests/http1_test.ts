/**
 * The HTTP/1.1 transport: its response framer over bytes (exact cases, every malformed input,
 * fast-check fuzzing of split points and of random bytes), its pool, stale-connection retry,
 * abort and HTTPS against real servers on 127.0.0.1, the proxy fallback rule, and whole runs
 * against the mock giving the same counts as the node transport on every dialect.
 */
import assert from "node:assert/strict";
import http from "node:http";
import fc from "fast-check";
import {
  createResponseParser,
  Http1Error,
  type Http1Head,
  MAX_HEAD_BYTES,
} from "../transport/http1_parser.ts";
import { createHttp1Transport, type Http1Transport } from "../transport/http1.ts";
import { createTransport, fetchFallbackReason } from "../transport/mod.ts";
import type { ResponseHead, TransportKind } from "../transport/types.ts";
import { needing } from "./_tools.ts";
import { makeCertificates } from "./_tls.ts";
import { withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { metricMean, tokenSources } from "./_dialect_harness.ts";
import { runCommand } from "../cli/run.ts";
import { MOCK_DIALECTS } from "../mock/server.ts";

const encoder = new TextEncoder();

/** What a parser found in `pieces` fed one after another, then a close if `close`. */
function parse(pieces: Uint8Array[], options: { close?: boolean } = {}) {
  let head: Http1Head | undefined;
  const decoder = new TextDecoder();
  let text = "";
  const parser = createResponseParser({
    head: (found) => head = found,
    body: (bytes) => {
      // The http1 transport hands each piece on to its sink unchecked.
      assert.ok(bytes.length > 0, "the parser never hands on an empty piece");
      text += decoder.decode(bytes, { stream: true });
    },
  });
  let done = false;
  for (const piece of pieces) done = parser.feed(piece);
  if (options.close) {
    parser.close();
    done = parser.done;
  }
  text += decoder.decode();
  return { head, text, done, reusable: parser.reusable };
}

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The Http1Error that `fn` throws (asserting it throws one). */
function http1Error(fn: () => unknown): Http1Error {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Http1Error, `expected an Http1Error, got ${error}`);
    return error;
  }
  assert.fail("expected an Http1Error, nothing was thrown");
}

Deno.test("parser: a Content-Length response gives its head and body, and the connection stays", () => {
  const result = parse([bytes(
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 8\r\nX-A: 1\r\nX-A: 2\r\n\r\nhé llo!",
  )]);
  assert.equal(result.head?.status, 200);
  assert.equal(result.head?.headers["content-type"], "text/event-stream");
  assert.equal(result.head?.headers["x-a"], "1, 2");
  assert.equal(result.text, "hé llo!");
  assert.equal(result.done, true);
  assert.equal(result.reusable, true);
});

Deno.test("parser: chunked bodies with extensions and trailers", () => {
  const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5;name=value\r\nhello\r\n" + "1 ; x\r\n \r\n" + "A\r\n0123456789\r\n" +
    "0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n";
  const result = parse([bytes(wire)]);
  assert.equal(result.text, "hello 0123456789");
  assert.equal(result.done, true);
  assert.equal(result.reusable, true);
});

Deno.test("parser: 1xx interim responses are skipped, the final head is the one reported", () => {
  const heads: number[] = [];
  const parser = createResponseParser({ head: (head) => heads.push(head.status), body() {} });
  const done = parser.feed(bytes(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
      "HTTP/1.1 302 Found\r\nLocation: https://elsewhere/\r\nContent-Length: 0\r\n\r\n",
  ));
  assert.deepEqual(heads, [302]);
  assert.equal(done, true);
});

Deno.test("parser: a body without length ends with the connection, which is not reused", () => {
  const result = parse([bytes("HTTP/1.1 200 OK\r\n\r\nall of it"), bytes(" and more")], {
    close: true,
  });
  assert.equal(result.text, "all of it and more");
  assert.equal(result.done, true);
  assert.equal(result.reusable, false);
});

Deno.test("parser: 204 has no body; Connection: close and HTTP/1.0 are not reused", () => {
  assert.equal(parse([bytes("HTTP/1.1 204 No Content\r\n\r\n")]).done, true);
  const closing = parse([
    bytes("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"),
  ]);
  assert.equal(closing.done, true);
  assert.equal(closing.reusable, false);
  const old = parse([bytes("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx")]);
  assert.equal(old.reusable, false);
  const kept = parse([
    bytes("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx"),
  ]);
  assert.equal(kept.reusable, true);
});

Deno.test("parser: every malformed response is a bad_response Http1Error naming what is wrong", () => {
  const cases: Array<[string, string[], RegExp, { close?: boolean }?]> = [
    ["status line", ["HTTP/2 200 OK\r\n\r\n"], /Malformed status line "HTTP\/2 200 OK"/],
    ["status code", ["HTTP/1.1 20 OK\r\n\r\n"], /Malformed status line/],
    ["not HTTP", ["SSH-2.0-OpenSSH\r\n\r\n"], /Malformed status line/],
    ["header line", ["HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"], /Malformed header line/],
    ["folded header", ["HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"], /Malformed header line/],
    [
      "content length",
      ["HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"],
      /Malformed Content-Length/,
    ],
    [
      "two content lengths",
      ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"],
      /Malformed Content-Length "1, 2"/,
    ],
    [
      "chunk size",
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
      /Bad chunk size/,
    ],
    [
      "chunk size too large",
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"],
      /Chunk size too large/,
    ],
    [
      "chunk longer than its size",
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"],
      /Chunk longer than its size/,
    ],
    [
      "body longer than Content-Length",
      ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc"],
      /longer than its Content-Length \(2 bytes\)/,
    ],
    [
      "bytes after the last chunk",
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nextra"],
      /after the last chunk/,
    ],
    ["101", ["HTTP/1.1 101 Switching Protocols\r\n\r\n"], /Unexpected 101/],
    ["closed mid-head", ["HTTP/1.1 200 OK\r\nContent-"], /closed mid-head/, { close: true }],
    [
      "closed mid-body",
      ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],
      /closed mid-body \(3 of 10 bytes\)/,
      { close: true },
    ],
    [
      "closed mid-chunk",
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"],
      /closed mid-chunk/,
      { close: true },
    ],
    [
      "closed in the trailers",
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n"],
      /closed mid-chunk/,
      { close: true },
    ],
  ];
  for (const [label, pieces, message, options] of cases) {
    const error = http1Error(() => parse(pieces.map(bytes), options));
    assert.equal(error.kind, "bad_response", label);
    assert.equal(error.code, "ERR_HTTP1_BAD_RESPONSE", label);
    assert.match(error.message, message, label);
  }
});

Deno.test("parser: a head over 64 KiB, and trailers over 64 KiB, are refused", () => {
  const big = `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
  assert.match(http1Error(() => parse([bytes(big)])).message, /Response head over 65536 bytes/);
  // Fed a byte at a time, the limit holds just the same.
  const parser = createResponseParser({ head() {}, body() {} });
  const error = http1Error(() => {
    for (const byte of bytes(big)) parser.feed(Uint8Array.of(byte));
  });
  assert.match(error.message, /head over/);
  const trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" +
    `X-T: ${"b".repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
  assert.match(http1Error(() => parse([bytes(trailers)])).message, /Trailer section over/);
});

Deno.test("parser: a connection closed before any byte is a connect failure", () => {
  const error = http1Error(() => parse([], { close: true }));
  assert.equal(error.kind, "connect");
  assert.equal(error.code, "ECONNRESET");
  assert.match(error.message, /closed before any response/);
});

/** Raw bytes of real `node:http` responses: chunked and with Content-Length, multi-byte text. */
async function nodeResponses(): Promise<Uint8Array[]> {
  const pieces = ["data: héllo wörld 日本語\n\n", "data: 🎉🎉\n\n", "data: [DONE]\n\n"];
  const server = http.createServer((request, response) => {
    if (request.url === "/chunked") {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const piece of pieces) response.write(piece);
      response.end();
    } else {
      const body = pieces.join("");
      response.writeHead(201, {
        "content-type": "application/json; charset=utf-8",
        "content-length": String(encoder.encode(body).length),
      });
      response.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    const raws: Uint8Array[] = [];
    for (const path of ["/chunked", "/length"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(bytes(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      const chunks: Uint8Array[] = [];
      for (;;) {
        const buffer = new Uint8Array(4096);
        const n = await conn.read(buffer);
        if (n === null) break;
        chunks.push(buffer.subarray(0, n));
      }
      conn.close();
      const raw = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
      let at = 0;
      for (const chunk of chunks) raw.set(chunk, (at += chunk.length) - chunk.length);
      raws.push(raw);
    }
    return raws;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

Deno.test("fuzz: any split of real node:http responses gives the same head and text", async () => {
  const raws = await nodeResponses();
  for (const raw of raws) {
    const whole = parse([raw]);
    assert.equal(whole.done, true);
    assert.match(whole.text, /日本語[^]*🎉🎉[^]*\[DONE\]/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: raw.length - 1 })), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), raw.length];
        const pieces = points.slice(1).map((end, i) => raw.subarray(points[i], end));
        const split = parse(pieces);
        assert.deepEqual(split.head, whole.head);
        assert.equal(split.text, whole.text);
        assert.equal(split.done, true);
      }),
      { numRuns: 400, interruptAfterTimeLimit: 3000 },
    );
  }
});

Deno.test("fuzz: random bytes only ever throw an Http1Error, and always return", () => {
  const prefixes = [
    "",
    "HTTP/1.1 200 OK\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n",
  ].map(bytes);
  fc.assert(
    fc.property(
      fc.constantFrom(...prefixes),
      fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
      fc.boolean(),
      (prefix, pieces, close) => {
        try {
          parse([prefix, ...pieces], { close });
        } catch (error) {
          assert.ok(error instanceof Http1Error, String(error));
          assert.ok(error.kind === "bad_response" || error.kind === "connect");
        }
      },
    ),
    { numRuns: 2000, interruptAfterTimeLimit: 3000 },
  );
});

/** Runs `body` with a fresh transport; closes the transport, then `server`, after. */
async function withTransport(
  server: { close(): Promise<void> },
  body: (transport: Http1Transport) => Promise<void>,
): Promise<void> {
  const transport = createHttp1Transport();
  try {
    await body(transport);
  } finally {
    transport.close();
    await server.close();
  }
}

/** A raw TCP server on 127.0.0.1: `serve` gets each connection and its number (from 0). */
function rawServer(serve: (conn: Deno.Conn, index: number) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served: Promise<void>[] = [];
  let requests = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      served.push(
        serve(conn, served.length).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch {
            // closed by `serve`
          }
        }),
      );
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get connections() {
      return served.length;
    },
    get requests() {
      return requests;
    },
    /** Reads one request (head and Content-Length body) from `conn`; `false` at its end. */
    async readRequest(conn: Deno.Conn): Promise<boolean> {
      let text = "";
      const buffer = new Uint8Array(65536);
      for (;;) {
        const end = text.indexOf("\r\n\r\n");
        if (end >= 0) {
          const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
          if (text.length >= end + 4 + length) {
            requests++;
            return true;
          }
        }
        const n = await conn.read(buffer);
        if (n === null) return false;
        text += new TextDecoder("latin1").decode(buffer.subarray(0, n));
      }
    },
    async close() {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(served);
    },
  };
}

/** A sink that keeps what arrived: the heads, and the body decoded in `received`. */
function collector() {
  const decoder = new TextDecoder();
  const sink = {
    heads: [] as ResponseHead[],
    received: "",
    head: (head: ResponseHead) => void sink.heads.push(head),
    body: (bytes: Uint8Array) => void (sink.received += decoder.decode(bytes, { stream: true })),
  };
  return sink;
}

function post(url: string, signal = AbortSignal.timeout(10_000)) {
  return { url, headers: { "content-type": "application/json" }, body: '{"a":"é"}', signal };
}

const OK = bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");

Deno.test("pool: sequential requests to one origin reuse one connection", async () => {
  const server = rawServer(async (conn) => {
    while (await server.readRequest(conn)) await conn.write(OK);
  });
  await withTransport(server, async (transport) => {
    for (let i = 0; i < 3; i++) {
      const sink = collector();
      await transport.send(post(`${server.url}/v1/completions`), sink);
      assert.equal(sink.received, "ok");
      assert.equal(sink.heads[0].contentType, "text/plain");
      assert.equal(transport.idleConnections(), 1);
    }
    assert.equal(server.connections, 1);
    assert.equal(server.requests, 3);
  });
});

Deno.test("pool: a connection the server closed after its response is replaced, each request sent once", async () => {
  // The server answers as if keeping the connection, then closes it: the next request either
  // finds it gone from the pool, or goes out on it as it closes and is sent again on a new one.
  const server = rawServer(async (conn) => {
    if (await server.readRequest(conn)) await conn.write(OK);
  });
  await withTransport(server, async (transport) => {
    for (let i = 0; i < 4; i++) {
      const sink = collector();
      await transport.send(post(`${server.url}/`), sink);
      assert.equal(sink.received, "ok");
    }
    assert.equal(server.requests, 4, "the server saw each request once");
    assert.equal(server.connections, 4);
  });
});

Deno.test("pool: a connection closed while idle leaves the pool", async () => {
  let closeIdle!: () => void;
  const idleClosed = new Promise<void>((resolve) => closeIdle = resolve);
  const server = rawServer(async (conn) => {
    if (await server.readRequest(conn)) await conn.write(OK);
    conn.close();
    closeIdle();
  });
  await withTransport(server, async (transport) => {
    await transport.send(post(server.url), collector());
    await idleClosed;
    for (let i = 0; i < 100 && transport.idleConnections() > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(transport.idleConnections(), 0);
  });
});

Deno.test("no retry: a request unanswered on a new connection, or cut after a byte, fails once", async () => {
  const server = rawServer(async (conn, index) => {
    if (index === 0) {
      await server.readRequest(conn); // read, then closed unanswered
    } else if (index === 1) {
      await server.readRequest(conn);
      await conn.write(OK);
      await server.readRequest(conn);
      await conn.write(bytes("HTTP/1.1 200 OK\r\nContent-Le")); // cut mid-head
    }
  });
  await withTransport(server, async (transport) => {
    const unanswered = await transport.send(post(server.url), collector()).catch((e) => e);
    assert.ok(unanswered instanceof Http1Error);
    assert.equal(unanswered.kind, "connect");
    assert.equal(server.requests, 1);
    await transport.send(post(server.url), collector());
    const cut = await transport.send(post(server.url), collector()).catch((e) => e);
    assert.ok(cut instanceof Http1Error);
    assert.equal(cut.kind, "bad_response");
    assert.match(cut.message, /mid-head/);
    assert.equal(server.requests, 3, "nothing was sent twice");
    assert.equal(server.connections, 2);
  });
});

Deno.test("a refused connection is a connect Http1Error with ECONNREFUSED", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const transport = createHttp1Transport();
  const error = await transport.send(post(`http://127.0.0.1:${port}/`), collector()).catch((e) =>
    e
  );
  assert.ok(error instanceof Http1Error);
  assert.equal(error.kind, "connect");
  assert.equal(error.code, "ECONNREFUSED");
  transport.close();
});

Deno.test("abort: a stalled response ends with the signal's reason and its connection closes", async () => {
  let closedByClient!: () => void;
  const clientGone = new Promise<void>((resolve) => closedByClient = resolve);
  const server = rawServer(async (conn) => {
    await server.readRequest(conn);
    await conn.write(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
    const rest = await conn.read(new Uint8Array(16)).catch(() => null);
    if (rest === null) closedByClient();
  });
  await withTransport(server, async (transport) => {
    const controller = new AbortController();
    const reason = new Error("stop now");
    const sink = collector();
    const sending = transport.send(post(server.url, controller.signal), {
      head: sink.head,
      body(bytes) {
        sink.body(bytes);
        controller.abort(reason);
      },
    });
    await assert.rejects(sending, (error) => error === reason);
    await clientGone;
    assert.equal(sink.received, "abc");
    assert.equal(transport.idleConnections(), 0);
    const early = new AbortController();
    early.abort(reason);
    await assert.rejects(transport.send(post(server.url, early.signal), sink), (e) => e === reason);
  });
});

Deno.test("abort: a TLS handshake that never ends gives way to the signal", async () => {
  // Accepts the TCP connection, reads the TLS hello and never answers it.
  const { promise: done, resolve: finish } = Promise.withResolvers<void>();
  const server = rawServer(async (conn) => {
    await conn.read(new Uint8Array(65536)).catch(() => null);
    await done;
  });
  const transport = createHttp1Transport();
  try {
    const controller = new AbortController();
    const reason = new Error("gave up");
    const sending = transport.send(
      post(server.url.replace("http:", "https:"), controller.signal),
      collector(),
    );
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(sending, (error) => error === reason);
  } finally {
    finish();
    transport.close();
    await server.close();
  }
});

Deno.test("a redirect is the response, never followed; a header with a line break throws at once", async () => {
  const server = rawServer(async (conn) => {
    while (await server.readRequest(conn)) {
      await conn.write(
        bytes(
          "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere/\r\nContent-Length: 0\r\n\r\n",
        ),
      );
    }
  });
  await withTransport(server, async (transport) => {
    const sink = collector();
    await transport.send(post(server.url), sink);
    assert.deepEqual(sink.heads, [{ status: 307, contentType: "", location: "http://elsewhere/" }]);
    assert.equal(server.requests, 1);
    assert.throws(
      () => transport.send({ ...post(server.url), headers: { "x-a": "1\r\nx-injected: 2" } }, sink),
      /Invalid value of header "x-a"/,
    );
  });
});

Deno.test("the request goes out in one write: head, Host, Content-Length in bytes, body", async () => {
  let seen = "";
  const server = rawServer(async (conn) => {
    const buffer = new Uint8Array(65536);
    const n = await conn.read(buffer);
    seen = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    await conn.write(OK);
  });
  await withTransport(server, async (transport) => {
    const url = new URL(server.url);
    url.username = "bob";
    url.password = "pw";
    await transport.send(post(`${url.origin.replace("//", "//bob:pw@")}/v1/x?y=1`), collector());
    assert.match(seen, /^POST \/v1\/x\?y=1 HTTP\/1\.1\r\n/);
    assert.match(seen, new RegExp(`\r\nhost: ${url.host}\r\n`));
    assert.match(seen, /\r\ncontent-length: 10\r\n/);
    assert.match(seen, /\r\nauthorization: Basic Ym9iOnB3\r\n/);
    assert.ok(seen.endsWith('\r\n\r\n{"a":"é"}'), seen);
  });
});

Deno.test(needing(["openssl"], {
  name:
    "https: a private CA is trusted through caCerts; without it a certificate error is a connect failure",
  async fn() {
    await withTempDir(async (dir) => {
      const { ca, cert, key } = await makeCertificates(dir);
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, cert, key, onListen() {} },
        (request) => new Response(`hello ${new URL(request.url).host} ${request.method}`),
      );
      const url = `https://localhost:${server.addr.port}/v1/completions`;
      const trusting = createHttp1Transport({ caCerts: [ca] });
      const untrusting = createHttp1Transport();
      try {
        const sink = collector();
        await trusting.send(post(url), sink);
        await trusting.send(post(url), collector());
        assert.equal(sink.heads[0].status, 200);
        assert.equal(sink.received, `hello localhost:${server.addr.port} POST`);
        assert.equal(trusting.idleConnections(), 1, "kept alive over TLS");
        const error = await untrusting.send(post(url), collector()).catch((e) => e);
        assert.ok(error instanceof Http1Error);
        assert.equal(error.kind, "connect");
        assert.match(error.message, /certificate/i);
      } finally {
        trusting.close();
        untrusting.close();
        await server.shutdown();
      }
    });
  },
}));

Deno.test("fetchFallbackReason: a proxy that applies to the URL, unless NO_PROXY covers it", () => {
  const proxy = "http://user:secret@proxy:3128";
  assert.equal(fetchFallbackReason({}, "https://api.example.com/v1"), undefined);
  const reason = fetchFallbackReason({ HTTPS_PROXY: proxy }, "https://api.example.com/v1");
  assert.equal(
    reason,
    "HTTPS_PROXY applies to api.example.com, and the http1 client does not go through proxies",
  );
  assert.ok(!reason!.includes("secret"));
  assert.equal(fetchFallbackReason({ HTTPS_PROXY: proxy }, "http://api.example.com"), undefined);
  assert.match(fetchFallbackReason({ http_proxy: proxy }, "http://h:8000")!, /^http_proxy /);
  assert.match(fetchFallbackReason({ ALL_PROXY: proxy }, "http://h")!, /^ALL_PROXY /);
  assert.equal(fetchFallbackReason({ HTTPS_PROXY: "" }, "https://h"), undefined);
  const covered: Array<[string, string]> = [
    ["*", "https://api.example.com"],
    ["example.com", "https://api.example.com"],
    [".example.com", "https://example.com"],
    ["other.org, api.example.com", "https://api.example.com"],
    ["localhost,127.0.0.1", "https://127.0.0.1:8000"],
    ["h:8443", "https://h:8443"],
    ["[::1]", "https://[::1]:8000"],
  ];
  for (const [noProxy, url] of covered) {
    assert.equal(fetchFallbackReason({ HTTPS_PROXY: proxy, NO_PROXY: noProxy }, url), undefined);
  }
  const notCovered: Array<[string, string]> = [
    ["example.com", "https://badexample.com"],
    ["h:8443", "https://h:8000"],
  ];
  for (const [noProxy, url] of notCovered) {
    assert.ok(fetchFallbackReason({ HTTPS_PROXY: proxy, no_proxy: noProxy }, url), noProxy);
  }
});

Deno.test('createTransport("http1") serves the mock like the other transports', async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    const transport = createTransport("http1");
    try {
      const sink = collector();
      await transport.send({
        ...post(`${mock.url}/v1/completions`),
        body: JSON.stringify({ model: "mock-model", prompt: "hi", max_tokens: 5, stream: true }),
      }, sink);
      assert.equal(sink.heads[0].status, 200);
      assert.equal(sink.heads[0].contentType.split(";")[0], "text/event-stream");
      assert.match(sink.received, /data: \[DONE\]/);
    } finally {
      transport.close();
    }
  });
});

/** One short run of llmload against a mock of `dialect` over `transport`. */
async function runOver(dialect: string, transport: TransportKind) {
  const triton = dialect.startsWith("triton");
  return await withMock(
    { ttftMs: 2, itlMs: 1, dialect, models: triton ? ["ensemble"] : undefined },
    async (mock) => {
      const args = ["-H", mock.url, "--provider", dialect, "-u", "2", "-o", "12", "-p", "40"];
      args.push("--warmup", "0", "-t", "20s", "--max-requests", "6");
      if (dialect === "triton-infer") args.push("--no-stream");
      const config = runConfig(args, { transport });
      const out: string[] = [];
      const log: string[] = [];
      const { exitCode, results } = await runCommand(config, {
        out: (text) => out.push(text),
        log: (line) => log.push(line),
      });
      const run = { exitCode, out: out.join("\n"), log, config, results };
      const records = mock.records().filter((record) => !record.path.endsWith("/models"));
      return { run, records };
    },
  );
}

Deno.test("whole runs over http1 count the same requests and tokens as node, on every dialect", async () => {
  for (const dialect of MOCK_DIALECTS) {
    const node = await runOver(dialect, "node");
    const http1 = await runOver(dialect, "http1");
    const logs = [...http1.run.log, http1.run.out].join("\n");
    assert.equal(http1.run.exitCode, 0, `${dialect}: ${logs}`);
    assert.equal(node.run.exitCode, 0, dialect);
    assert.equal(http1.records.length, node.records.length, `${dialect}: requests the mock saw`);
    assert.match(http1.run.out, /Requests: 6 ok, 0 failed, 6 total/, dialect);
    assert.equal(metricMean(http1.run, "num_tokens"), metricMean(node.run, "num_tokens"), dialect);
    assert.deepEqual(tokenSources(http1.run), tokenSources(node.run), dialect);
  }
});
