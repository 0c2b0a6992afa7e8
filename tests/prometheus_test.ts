import assert from "node:assert/strict";
import { formatNumber, formatPrometheus, RunMetrics } from "../output/prometheus.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { withMock, withTempDir } from "./_harness.ts";
import { runConfig } from "./_fixtures.ts";
import { needing, toolPath } from "./_tools.ts";
import {
  aggregateOf,
  liveView,
  requestRecord,
  startServedRun,
  waitFor,
} from "./_server_harness.ts";

/** Runs `promtool check metrics` on `text`; resolves to its exit code and output. */
async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(toolPath("promtool")!, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("the text format: HELP, TYPE, escaped labels, cumulative buckets, +Inf, NaN", () => {
  const text = formatPrometheus([
    {
      type: "counter",
      name: "demo_total",
      help: "Lines\nand back\\slashes",
      samples: [{ labels: { model: 'a "quoted"\\ name\n' }, value: 3 }],
    },
    { type: "gauge", name: "demo_ratio", help: "A gauge", samples: [{ labels: {}, value: NaN }] },
    {
      type: "histogram",
      name: "demo_seconds",
      help: "A histogram",
      samples: [{
        labels: { provider: "vllm" },
        buckets: [{ le: 0.005, count: 1 }, { le: 1, count: 3 }],
        sum: 1.25,
        count: 4,
      }],
    },
  ]);
  assert.equal(
    text,
    [
      "# HELP demo_total Lines\\nand back\\\\slashes",
      "# TYPE demo_total counter",
      'demo_total{model="a \\"quoted\\"\\\\ name\\n"} 3',
      "# HELP demo_ratio A gauge",
      "# TYPE demo_ratio gauge",
      "demo_ratio NaN",
      "# HELP demo_seconds A histogram",
      "# TYPE demo_seconds histogram",
      'demo_seconds_bucket{provider="vllm",le="0.005"} 1',
      'demo_seconds_bucket{provider="vllm",le="1"} 3',
      'demo_seconds_bucket{provider="vllm",le="+Inf"} 4',
      'demo_seconds_sum{provider="vllm"} 1.25',
      'demo_seconds_count{provider="vllm"} 4',
      "",
    ].join("\n"),
  );
  assert.equal(formatNumber(-Infinity), "-Inf");
  assert.equal(formatNumber(1e-7), "1e-7");
  assert.throws(
    () => formatPrometheus([{ type: "gauge", name: "bad-name", help: "", samples: [] }]),
    /Invalid metric name 'bad-name'/,
  );
  assert.throws(
    () =>
      formatPrometheus([{
        type: "gauge",
        name: "ok",
        help: "",
        samples: [{ labels: { "bad-label": "x" }, value: 1 }],
      }]),
    /Invalid label name 'bad-label'/,
  );
});

Deno.test("bucket counts come exactly from the live HDR histogram", () => {
  // TTFT of 1 ms, 5 ms twice, 20 ms and 2 s; bounds in µs, the recording unit.
  const aggregate = aggregateOf([1, 5, 5, 20, 2000].map((ttft) => requestRecord(ttft)));
  const slots = (bounds: number[]) => aggregate.buckets("ttft", bounds)?.slots;
  assert.deepEqual(slots([1_000, 5_000, 10_000, 1_000_000]), [1, 2, 0, 1, 1]);
  assert.deepEqual(slots([]), [5]);
  assert.deepEqual(slots([4_900, 3_000_000]), [1, 4, 0]);
  assert.deepEqual(aggregate.buckets("ttft", [])?.count, 5);
  assert.equal(new Aggregate().buckets("ttft", [1_000]), undefined);
});

Deno.test("run metrics: counters add up every interval and survive the warm-up reset", () => {
  const config = runConfig(["-u", "3", "-m", "org/model-7b", "--provider", "vllm"]);
  const metrics = new RunMetrics();
  assert.match(metrics.format("starting"), /^llmload_run_state\{state="starting"\} 1$/m);
  assert.doesNotMatch(metrics.format("starting"), /^llmload_requests_total\{/m);

  const first = aggregateOf(
    [requestRecord(30), requestRecord(70, { tokens: 9 })],
    [
      { kind: "http_5xx", message: "overloaded", status: 503 },
      { kind: "connect", message: "refused" },
    ],
  );
  metrics.observe(liveView(config, { interval: first, aggregate: first, inFlight: 2 }));
  // The warm-up reset empties the window; the next interval holds only new requests.
  const second = aggregateOf([requestRecord(3000)]);
  metrics.observe(liveView(config, {
    interval: second,
    aggregate: new Aggregate(),
    inFlight: 1,
    users: 5,
    cpu: 0.42,
    saturated: true,
  }));
  const text = metrics.format("running");
  const labels = 'provider="vllm",model="org/model-7b"';
  for (
    const line of [
      `llmload_requests_total{${labels},outcome="connect",status="none"} 1`,
      `llmload_requests_total{${labels},outcome="http_5xx",status="503"} 1`,
      `llmload_requests_total{${labels},outcome="ok",status="2xx"} 3`,
      `llmload_tokens_total{${labels},direction="input"} 60`,
      `llmload_tokens_total{${labels},direction="output"} 19`,
      `llmload_ttft_seconds_bucket{${labels},le="0.05"} 1`,
      `llmload_ttft_seconds_bucket{${labels},le="0.1"} 2`,
      `llmload_ttft_seconds_bucket{${labels},le="2.5"} 2`,
      `llmload_ttft_seconds_bucket{${labels},le="5"} 3`,
      `llmload_ttft_seconds_bucket{${labels},le="+Inf"} 3`,
      `llmload_ttft_seconds_sum{${labels}} 3.1`,
      `llmload_ttft_seconds_count{${labels}} 3`,
      `llmload_itl_seconds_count{${labels}} 16`,
      `llmload_tpot_seconds_count{${labels}} 3`,
      `llmload_total_latency_seconds_count{${labels}} 3`,
      `llmload_requests_in_flight{${labels}} 1`,
      `llmload_users{${labels}} 5`,
      `llmload_client_cpu_ratio{${labels}} 0.42`,
      `llmload_client_saturated{${labels}} 1`,
      `llmload_run_state{${labels},state="running"} 1`,
      `llmload_run_state{${labels},state="done"} 0`,
    ]
  ) {
    assert.ok(text.includes(`${line}\n`), `missing: ${line}\n${text}`);
  }
  // Not in QPS mode: no target QPS series.
  assert.doesNotMatch(text, /^llmload_target_qps\{/m);
});

Deno.test(needing(["promtool"], {
  name: "promtool check metrics accepts /metrics",
  fn: async () => {
    const config = runConfig(["--qps", "4", "-u", "8", "-m", 'odd "model"\\name']);
    const metrics = new RunMetrics();
    const interval = aggregateOf(
      [requestRecord(30), requestRecord(80)],
      [{ kind: "http_4xx", message: "bad", status: 429 }, { kind: "timeout", message: "slow" }],
    );
    metrics.observe(liveView(config, { interval, aggregate: interval }));
    const { code, output } = await promtoolCheck(metrics.format("running"));
    assert.equal(code, 0, output);
    assert.equal(output.trim(), "");
    // The checker is real: it rejects what Prometheus' linter rejects.
    const bad = await promtoolCheck("# HELP x_count c\n# TYPE x_count counter\nx_count 1\n");
    assert.notEqual(bad.code, 0);
  },
}));

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test(needing(["prometheus"], {
  name: "a real Prometheus scrapes /metrics during a run and answers queries for llmload series",
  // Prometheus and the run are stopped in `finally`; its child process is awaited there.
  fn: async () => {
    await withMock({ ttftMs: 5, itlMs: 2 }, async (mock) => {
      await withTempDir(async (dir) => {
        const run = startServedRun(mock, [
          "-u",
          "2",
          "-o",
          "4",
          "--warmup",
          "0",
          "--serve",
          "127.0.0.1:0",
        ]);
        const target = new URL(await run.url).host;
        await Deno.writeTextFile(
          `${dir}/prometheus.yml`,
          [
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "scrape_configs:",
            "  - job_name: llmload",
            "    static_configs:",
            `      - targets: ["${target}"]`,
          ].join("\n") + "\n",
        );
        const port = freePort();
        const prometheus = new Deno.Command(toolPath("prometheus")!, {
          args: [
            `--config.file=${dir}/prometheus.yml`,
            `--storage.tsdb.path=${dir}/data`,
            `--web.listen-address=127.0.0.1:${port}`,
          ],
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const logs = prometheus.stderr.pipeThrough(new TextDecoderStream()).getReader();
        let logText = "";
        const reading = (async () => {
          while (true) {
            const { value, done } = await logs.read();
            if (done) break;
            logText += value;
          }
        })();
        try {
          const query = async (promql: string) => {
            const url = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`;
            const response = await fetch(url).catch(() => undefined);
            if (!response?.ok) {
              await response?.body?.cancel();
              return undefined;
            }
            const body = await response.json();
            return body.data.result as {
              metric: Record<string, string>;
              value: [number, string];
            }[];
          };
          const ok = await waitFor("Prometheus to hold llmload_requests_total", async () => {
            const result = await query('llmload_requests_total{outcome="ok"}');
            return result && result.length > 0 && Number(result[0].value[1]) > 0
              ? result
              : undefined;
          }, 15_000).catch((error) => {
            throw new Error(`${error.message}\nPrometheus said:\n${logText.slice(-2000)}`);
          });
          assert.equal(ok[0].metric.job, "llmload");
          assert.equal(ok[0].metric.model, "mock-model");
          assert.equal(ok[0].metric.provider, "vllm");
          const ttft = await query("llmload_ttft_seconds_count");
          assert.ok(ttft && Number(ttft[0].value[1]) > 0, JSON.stringify(ttft));
          const up = await query('up{job="llmload"}');
          assert.equal(up?.[0].value[1], "1");
        } finally {
          run.stop();
          prometheus.kill("SIGTERM");
          await prometheus.status;
          await reading;
          await run.finished;
        }
        const { exitCode, log } = await run.finished;
        assert.equal(exitCode, 0, log.join("\n"));
      });
    });
  },
}));

Deno.test("/metrics counts prompt-cache hits, cached tokens and cancelled requests, once there are any", () => {
  const labels = 'provider="vllm",model="mock-model"';
  const metrics = new RunMetrics();
  const hit = { ...requestRecord(30), promptTokens: 64, cachedPromptTokens: 48 };
  const miss = { ...requestRecord(90), promptTokens: 64, cachedPromptTokens: 0 };
  const cancelled = { ...requestRecord(40), cancelled: true };
  metrics.observe(liveView(runConfig(), { interval: aggregateOf([hit, hit, miss, cancelled]) }));
  metrics.observe(liveView(runConfig(), { interval: aggregateOf([hit]) }));
  const text = formatPrometheus(metrics.families("running"));
  assert.match(text, new RegExp(`\\nllmload_prompt_cache_hits_total\\{${labels}\\} 3\\n`));
  assert.match(text, new RegExp(`\\nllmload_cached_prompt_tokens_total\\{${labels}\\} 144\\n`));
  assert.match(text, new RegExp(`\\nllmload_cancelled_requests_total\\{${labels}\\} 1\\n`));
  assert.match(text, /# TYPE llmload_cancelled_requests_total counter/);

  const plain = new RunMetrics();
  plain.observe(liveView(runConfig(), { interval: aggregateOf([requestRecord(10)]) }));
  assert.doesNotMatch(
    formatPrometheus(plain.families("running")),
    /llmload_prompt_cache_hits_total|llmload_cached_prompt_tokens_total|llmload_cancelled/,
  );
});
