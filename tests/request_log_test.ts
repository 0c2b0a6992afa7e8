import assert from "node:assert/strict";
import { runAgainst, withMock, withTempDir } from "./_harness.ts";
import { createTransport } from "../transport/mod.ts";
import type { ResponseHead, TransportKind } from "../transport/types.ts";
import { UsageError } from "../common/errors.ts";
import type { RequestLogLine } from "../request/log_line.ts";

async function readLines(path: string): Promise<RequestLogLine[]> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith("\n"));
  return text.trimEnd().split("\n").map((line) => JSON.parse(line));
}

Deno.test("the request log has one line per request the mock saw, with the mock's ids", async () => {
  await withTempDir(async (dir) => {
    await withMock({ ttftMs: 20, itlMs: 3 }, async (mock) => {
      const path = `${dir}/requests.jsonl`;
      const run = await runAgainst(mock, [
        "-u",
        "4",
        "--max-requests",
        "40",
        "--max-tokens",
        "5",
        "--log-requests",
        path,
      ]);
      assert.equal(run.exitCode, 0, run.log.join("\n"));
      const lines = await readLines(path);
      const records = mock.records();
      assert.equal(records.length, 40);
      assert.equal(lines.length, records.length);
      assert.deepEqual(
        lines.map((line) => line.serverId).sort(),
        records.map((record) => record.id).sort(),
      );
      const byId = new Map(records.map((record) => [record.id, record]));
      for (const line of lines) {
        const seen = byId.get(line.serverId)!;
        assert.equal(line.status, 200);
        assert.equal(line.failure, undefined);
        assert.equal(line.outputTokens, seen.tokensSent);
        assert.ok(line.start <= seen.receivedAt + 5, "sent before the mock received it");
        assert.ok(line.end >= seen.doneAt! - 5, "ended after the mock finished it");
        assert.ok(line.ttftMs! >= 20 - 1 && line.ttftMs! < line.end - line.start);
        assert.equal(line.itl!.count, 4);
        assert.ok(line.itl!.maxMs >= line.itl!.meanMs);
      }
      assert.ok(run.log.includes(`Request log: 40 lines in ${path}`), run.log.join("\n"));
    });
  });
});

Deno.test("the request log keeps failed requests with their kind and status", async () => {
  await withTempDir(async (dir) => {
    await withMock(
      { ttftMs: 5, itlMs: 1, seed: 7, faults: [{ kind: "http_500", rate: 0.4 }] },
      async (mock) => {
        const path = `${dir}/requests.jsonl`;
        const run = await runAgainst(mock, [
          "-u",
          "2",
          "--max-requests",
          "30",
          "--max-tokens",
          "3",
          "--keep-going",
          "--log-requests",
          path,
        ]);
        const lines = await readLines(path);
        const records = mock.records();
        assert.equal(lines.length, records.length);
        const failed = lines.filter((line) => line.failure !== undefined);
        assert.equal(failed.length, records.filter((record) => record.status === 500).length);
        assert.equal(failed.length, run.results.requests.failed);
        assert.ok(failed.length > 0);
        for (const line of failed) {
          assert.equal(line.failure, "http_5xx");
          assert.equal(line.status, 500);
          assert.ok(line.end >= line.start);
        }
      },
    );
  });
});

Deno.test("a request log that cannot be opened is a usage error naming the file", async () => {
  await withMock({ ttftMs: 1, itlMs: 1 }, async (mock) => {
    await assert.rejects(
      runAgainst(mock, ["--max-requests", "1", "--log-requests", "/nonexistent/dir/r.jsonl"]),
      (error: unknown) =>
        error instanceof UsageError &&
        /Cannot open --log-requests file '\/nonexistent\/dir\/r\.jsonl'/.test(error.message),
    );
    assert.equal(mock.records().length, 0);
  });
});

for (const kind of ["http1", "node", "fetch"] as TransportKind[]) {
  Deno.test(`the ${kind} transport reports the server's request id and timing headers`, async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () =>
        new Response("data: {}\n\n", {
          headers: {
            "content-type": "text/event-stream",
            "X-Request-Id": "req-42",
            "fireworks-server-processing-time": "0.125",
            "fireworks-server-time-to-first-token": "0.031",
            "fireworks-prompt-tokens": "12",
          },
        }),
    );
    const transport = createTransport(kind);
    try {
      const heads: ResponseHead[] = [];
      await transport.send({
        url: `http://127.0.0.1:${server.addr.port}/v1/completions`,
        headers: { "content-type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(5000),
      }, { head: (head) => heads.push(head), body() {} });
      assert.equal(heads.length, 1);
      assert.equal(heads[0].requestId, "req-42");
      assert.deepEqual(heads[0].serverTiming, {
        "fireworks-server-processing-time": "0.125",
        "fireworks-server-time-to-first-token": "0.031",
      });
    } finally {
      transport.close();
      await server.shutdown();
    }
  });
}
