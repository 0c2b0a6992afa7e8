/**
 * `llmload sweep --html FILE`: one self-contained page with a chart per view of the sweep
 * against its load (users or QPS): throughput (requests/s, output tokens/s), TTFT, ITL and E2E
 * p50 and p99, and goodput under `--slo`; the knee and the `--find-max` maximum are marked on
 * every chart. Drawn by uPlot with hover values and zoom, in the shell of output/chart_page.ts;
 * the page's script is imported as text, so the compiled binary carries it and the page opens
 * offline.
 *
 * @module
 */
import pageScript from "./sweep_report/app.js" with { type: "text" };
import { scrubSecrets } from "../common/secrets.ts";
import { chartPage } from "./chart_page.ts";
import type { MetricName } from "../stats/metrics.ts";
import type { SweepPoint } from "./sweep_table.ts";

/** What the page shows beside the points. */
export interface SweepReportInfo {
  /** What the points vary. */
  readonly unit: "users" | "qps";
  /** The knee's load, or `null`. */
  readonly knee: number | null;
  /** The `--find-max` maximum, or `null`. */
  readonly max: number | null;
}

/** One line of a chart: its legend label and a value per point (`null` where absent). */
interface ChartLine {
  readonly label: string;
  readonly values: readonly (number | null)[];
}

const LATENCY_CHARTS: readonly [string, MetricName, string][] = [
  ["ttft", "ttft", "TTFT"],
  ["itl", "itl", "ITL"],
  ["e2e", "total_latency", "E2E latency"],
];

/** The page's data: one entry per chart, each line a value per point, in order of load. */
export function sweepReportData(points: readonly SweepPoint[], info: SweepReportInfo) {
  const line = (label: string, value: (point: SweepPoint) => number | undefined): ChartLine => ({
    label,
    values: points.map((point) => value(point) ?? null),
  });
  const charts = [
    {
      id: "throughput",
      title: "Throughput",
      unit: "per second",
      series: [
        line("requests/s", (point) => point.results.throughput.requestsPerSec),
        line("output tokens/s", (point) => point.results.throughput.outputTokensPerSec),
      ],
    },
    ...LATENCY_CHARTS.map(([id, name, title]) => ({
      id,
      title: `${title} p50 and p99`,
      unit: "ms",
      series: (["p50", "p99"] as const).map((stat) =>
        line(`${id} ${stat}`, (point) => point.results.metrics[name]?.[stat])
      ),
    })),
  ];
  if (points.some((point) => point.results.goodput !== undefined)) {
    charts.push({
      id: "goodput",
      title: "Goodput and SLO attainment",
      unit: "requests/s, attainment %",
      series: [
        line("goodput requests/s", (point) => point.results.goodput?.requestsPerSec),
        line("attainment %", (point) => {
          const all = point.results.goodput?.attainment.all;
          return all === undefined ? undefined : all * 100;
        }),
      ],
    });
  }
  return { ...info, points: points.map((point) => ({ load: point.load })), charts };
}

/**
 * The page: uPlot and the script inline, the data as JSON with `<` escaped so no text can end
 * its script element, and scrubbed of `secrets`.
 */
export function renderSweepReport(
  points: readonly SweepPoint[],
  options: SweepReportInfo & { readonly secrets?: readonly string[] },
): string {
  const { secrets, ...info } = options;
  const data = scrubSecrets(sweepReportData(points, info), secrets ?? []);
  const first = points[0]?.results;
  const title = `llmload sweep: ${
    first?.model ?? "no points"
  }, ${points.length} points by ${info.unit}`;
  return chartPage({
    title,
    body: `<p>Knee: ${info.knee ?? "none"}; largest load meeting the SLO: ${
      info.max ?? "not searched or none"
    }. Drag to zoom, double-click to reset.</p>`,
    dataId: "llmload-sweep",
    data,
    script: pageScript,
  });
}
