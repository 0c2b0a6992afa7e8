/**
 * Goodput, stages and thresholds in the outputs: the CSV columns, the Prometheus series, the
 * console sections, built from real recorders and aggregates.
 */
import assert from "node:assert/strict";
import { buildResults } from "../output/results.ts";
import { summaryRow } from "../output/summary_csv.ts";
import { RunMetrics } from "../output/prometheus.ts";
import { formatGoalSections } from "../output/goals_table.ts";
import { formatMetricTable } from "../output/report.ts";
import { Recorder } from "../stats/recorder.ts";
import { Aggregate } from "../stats/aggregate.ts";
import { oneSecondRun, runConfig } from "./_fixtures.ts";
import { liveView, requestRecord } from "./_server_harness.ts";

const config = runConfig([
  ...["--slo", "ttft<=50ms,e2e<=100ms", "--threshold", "goodput>=0.5"],
  ...["--threshold", "ttft.max<50ms"],
]);

/** Two good requests of 5 tokens, one too slow to start, one failure. */
function judged(): Aggregate {
  const recorder = new Recorder(config.slo);
  recorder.recordRequest(requestRecord(20, { tokens: 5 }));
  recorder.recordRequest(requestRecord(30, { tokens: 5 }));
  recorder.recordRequest(requestRecord(70, { tokens: 2 }));
  recorder.recordFailure({ kind: "http_5xx", message: "busy", status: 503 });
  const aggregate = new Aggregate();
  aggregate.merge(recorder.takeDelta());
  return aggregate;
}

Deno.test("results carry goodput and the threshold verdicts; the console shows both", () => {
  const results = buildResults(judged(), oneSecondRun(config));
  assert.deepEqual(results.goodput, {
    slo: [{ metric: "ttft", limitMs: 50 }, { metric: "e2e", limitMs: 100 }],
    judged: 4,
    met: 2,
    requestsPerSec: 2,
    outputTokensPerSec: 10,
    attainment: { all: 0.5, bounds: { ttft: 0.5, e2e: 0.75 } },
  });
  assert.deepEqual(results.thresholds, {
    passed: false,
    checks: [
      { threshold: "goodput>=0.5", value: 0.5, pass: true },
      { threshold: "ttft.max<50ms", value: 70, pass: false },
    ],
  });
  assert.deepEqual(formatGoalSections(results), [
    [
      "Goodput (ttft<=50ms, e2e<=100ms): 2.00 requests/s, 10.00 output tokens/s",
      "SLO attainment: 50.00% all (ttft 50.00%, e2e 75.00%) of 4 requests",
    ],
    [
      "Thresholds: 1 of 2 failed (exit code 3)",
      "threshold      measured  result",
      "goodput>=0.5   0.5       pass",
      "ttft.max<50ms  70        FAIL",
    ],
  ]);
  assert.match(formatMetricTable(results), /SLO attainment: 50\.00%[^]*Throughput:/);
});

Deno.test("the CSV row ends with the goodput columns under --slo only", () => {
  const info = {
    generationTokens: "Constant(5)",
    users: 1,
    qpsDistribution: "constant" as const,
    stream: true,
    temperature: 1,
    promptTokens: 512,
  };
  const row = summaryRow(buildResults(judged(), oneSecondRun(config)), info);
  assert.deepEqual(Object.entries(row).slice(-3), [
    ["Goodput Requests Per Sec", "2.0"],
    ["Goodput Output Tokens Per Sec", "10.0"],
    ["Slo Attainment", "0.5"],
  ]);
  const plain = summaryRow(buildResults(new Aggregate(), oneSecondRun(runConfig())), info);
  assert.equal("Slo Attainment" in plain, false);
});

Deno.test("/metrics counts judged and met requests per bound, adding up the intervals", () => {
  const metrics = new RunMetrics();
  metrics.observe(liveView(config, { interval: judged() }));
  metrics.observe(liveView(config, { interval: judged() }));
  const text = metrics.format("running");
  const labels = 'provider="vllm",model="mock-model"';
  assert.match(text, new RegExp(`^llmload_slo_judged_requests_total\\{${labels}\\} 8$`, "m"));
  assert.match(
    text,
    new RegExp(`^llmload_slo_met_requests_total\\{${labels},bound="all"\\} 4$`, "m"),
  );
  assert.match(
    text,
    new RegExp(`^llmload_slo_met_requests_total\\{${labels},bound="e2e"\\} 6$`, "m"),
  );
  assert.match(text, new RegExp(`^llmload_goodput_output_tokens_total\\{${labels}\\} 20$`, "m"));
  const without = new RunMetrics();
  without.observe(liveView(runConfig(), {}));
  assert.doesNotMatch(without.format("running"), /llmload_slo_/);
});
