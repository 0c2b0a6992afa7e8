/**
 * HTTPS end to end: `--ca-cert` for a private CA on every transport, `--insecure` handing the load
 * to the node transport, an HTTP/2-only server handing it to fetch, and the transport choice's
 * other rules (proxies, the transport asked for).
 *
 * @module
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { chooseTransport, speaksHttp1 } from "../run/transport_choice.ts";
import { StartError } from "../common/errors.ts";
import { needing } from "./_tools.ts";
import { makeCertificates } from "./_tls.ts";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import type { MockServer } from "../mock/server.ts";

const RUN = ["-m", "mock-model", "-u", "2", "-o", "6", "--max-requests", "6", "-t", "30s"];

/** Runs `body` with a TLS mock whose certificate a private CA signed; `caFile` holds that CA. */
function withTlsMock<T>(body: (mock: MockServer, caFile: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const { ca, cert, key } = await makeCertificates(dir);
    const caFile = `${dir}/ca.pem`;
    await Deno.writeTextFile(caFile, ca);
    return await withMock(
      { ttftMs: 2, itlMs: 1, tls: { cert, key } },
      (mock) => body(mock, caFile),
    );
  });
}

Deno.test(needing(["openssl"], {
  name: "--ca-cert: an https run over each transport counts exactly what the mock served",
  async fn() {
    await withTlsMock(async (mock, caFile) => {
      assert.match(mock.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      for (const transport of ["http1", "node", "fetch"]) {
        mock.clearRecords();
        const run = await runAgainst(mock, [...RUN, "--ca-cert", caFile, "--transport", transport]);
        assert.equal(run.exitCode, 0, `${transport}: ${run.log.join("\n")}`);
        const served = mock.records().filter((record) => !record.path.endsWith("/models"));
        assert.equal(run.results.requests.ok, 6, transport);
        assert.equal(served.length, 6, transport);
        assert.ok(!run.log.some((line) => line.startsWith("Using the")), "no hand-over");
      }
    });
  },
}));

Deno.test(needing(["openssl"], {
  name: "--insecure: the node transport takes over, says so once, and the run succeeds",
  async fn() {
    await withTlsMock(async (mock) => {
      const run = await runAgainst(mock, [...RUN, "--insecure"]);
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      assert.equal(run.results.requests.ok, 6);
      const notes = run.log.filter((line) => line.startsWith("Using the"));
      assert.deepEqual(notes, [
        "Using the node transport: --insecure needs it (Deno's own TLS client always verifies " +
        "certificates)",
      ]);
    });
  },
}));

Deno.test(needing(["openssl"], {
  name: "a private certificate without --ca-cert or --insecure stops the run with one clear line",
  async fn() {
    await withTlsMock(async (mock) => {
      await assert.rejects(
        () => runAgainst(mock, [...RUN, "--provider", "openai"]),
        (error: Error) => {
          assert.ok(error instanceof StartError, String(error));
          assert.match(
            error.message,
            /^Cannot verify the TLS certificate of https:\/\/127\.0\.0\.1:\d+ \(.*\): pass --ca-cert FILE with the CA that signed it, or --insecure to accept any certificate$/,
          );
          return true;
        },
      );
      assert.equal(mock.records().filter((r) => !r.path.endsWith("/models")).length, 0);
    });
  },
}));

Deno.test(needing(["openssl"], {
  name: "speaksHttp1: a server that also speaks HTTP/1.1 does; an HTTP/2-only one does not",
  async fn() {
    await withTempDir(async (dir) => {
      const { ca, cert, key } = await makeCertificates(dir);
      const h2Only = http2.createSecureServer({ cert, key, allowHTTP1: false });
      h2Only.on("stream", (stream) => {
        stream.respond({ ":status": 200 });
        stream.end();
      });
      await new Promise<void>((resolve) => h2Only.listen(0, "127.0.0.1", resolve));
      const both = Deno.serve(
        { hostname: "127.0.0.1", port: 0, cert, key, onListen() {} },
        () => new Response("ok"),
      );
      try {
        const h2Port = (h2Only.address() as { port: number }).port;
        assert.equal(await speaksHttp1(`https://127.0.0.1:${h2Port}`, [ca]), false);
        assert.equal(await speaksHttp1(`https://127.0.0.1:${both.addr.port}`, [ca]), true);
        // An untrusted certificate is no sign of HTTP/2: the run reports it as it is.
        assert.equal(await speaksHttp1(`https://127.0.0.1:${h2Port}`), true);
        const choice = await chooseTransport({
          transport: "http1",
          host: `https://127.0.0.1:${h2Port}`,
          insecure: false,
          caCerts: [ca],
        }, { env: {} });
        assert.deepEqual(choice, {
          kind: "fetch",
          note: "Using the fetch transport: the server speaks only HTTP/2, and the http1 client " +
            "speaks HTTP/1.1",
        });
      } finally {
        await both.shutdown();
        await new Promise((resolve) => h2Only.close(resolve));
      }
    });
  },
}));

Deno.test("chooseTransport: a proxy hands http1 to fetch, NO_PROXY keeps it; node and fetch stay", async () => {
  const plain = { host: "http://10.0.0.5:8000", insecure: false } as const;
  const never = () => Promise.reject(new Error("no handshake for http:"));
  const proxied = await chooseTransport({ ...plain, transport: "http1" }, {
    env: { HTTP_PROXY: "http://user:secret@proxy:3128" },
    speaksHttp1: never,
  });
  assert.equal(proxied.kind, "fetch");
  assert.match(proxied.note!, /^Using the fetch transport: HTTP_PROXY applies to 10\.0\.0\.5/);
  assert.ok(!proxied.note!.includes("secret"));
  assert.deepEqual(
    await chooseTransport({ ...plain, transport: "http1" }, {
      env: { HTTP_PROXY: "http://proxy:3128", NO_PROXY: "10.0.0.5" },
      speaksHttp1: never,
    }),
    { kind: "http1" },
  );
  for (const transport of ["node", "fetch"] as const) {
    assert.deepEqual(
      await chooseTransport({ ...plain, transport, insecure: transport === "node" }, {
        env: { HTTP_PROXY: "http://proxy:3128" },
        speaksHttp1: never,
      }),
      { kind: transport },
    );
  }
});

Deno.test("--insecure with fetch and a bad --ca-cert file are refused with what would be right", async () => {
  assert.throws(
    () => runConfig(["--insecure", "--transport", "fetch"]),
    /^UsageError: Cannot use --insecure with --transport fetch: Deno's fetch always verifies certificates; use --transport node or http1/,
  );
  await withTempDir(async (dir) => {
    assert.throws(
      () => runConfig(["--ca-cert", `${dir}/missing.pem`]),
      /^UsageError: Cannot read --ca-cert file '.*missing\.pem': /,
    );
    await Deno.writeTextFile(`${dir}/key.pem`, "-----BEGIN PRIVATE KEY-----\nAAAA\n");
    assert.throws(
      () => runConfig(["--ca-cert", `${dir}/key.pem`]),
      /^UsageError: Invalid --ca-cert file '.*key\.pem': no certificate in it, expected PEM text with -----BEGIN CERTIFICATE----- blocks$/,
    );
    const pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    await Deno.writeTextFile(`${dir}/ca.pem`, pem);
    assert.deepEqual(runConfig(["--ca-cert", `${dir}/ca.pem`]).caCerts, [pem]);
  });
});
