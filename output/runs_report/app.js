// llmload runs report: draws the runs' latency distributions and time series, overlaid, with
// uPlot (inlined before this script), from the JSON in #llmload-runs. Nothing is fetched.
(function runsReport() {
  const data = JSON.parse(document.getElementById("llmload-runs").textContent);
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d"];
  const WIDTH = Math.min(900, document.body.clientWidth - 32);

  function chart(id, title, options, table) {
    const figure = document.createElement("figure");
    figure.id = `chart-${id}`;
    figure.className = "chart";
    document.getElementById("charts").append(figure);
    const series = [
      {},
      ...data.runs.map((run, index) => ({
        label: run.label,
        stroke: COLORS[index % COLORS.length],
        width: 2,
        spanGaps: true,
      })),
    ];
    figure.dataset.series = String(series.length - 1);
    // uPlot draws on a canvas; the hook marks the figure once it has, for tests and for print.
    const hooks = { draw: [() => figure.dataset.drawn = "true"] };
    new uPlot({ title, width: WIDTH, height: 300, series, hooks, ...options }, table, figure);
  }

  // x = 100 / (100 - percentile) on a log scale spreads the tail: 1 is p0, 10 p90, 100 p99.
  const tailX = data.percentiles.map((p) => 100 / (100 - p));
  const TICKS = [[1, "p0"], [2, "p50"], [10, "p90"], [100, "p99"], [1000, "p99.9"], [
    10000,
    "p99.99",
  ]];
  const percentileAxis = {
    splits: () => TICKS.map(([x]) => x),
    values: (_u, splits) => splits.map((x) => TICKS.find(([tick]) => tick === x)?.[1] ?? ""),
  };
  for (const metric of data.metrics) {
    chart(
      metric.name,
      `${metric.name} distribution (${metric.unit})`,
      { scales: { x: { time: false, distr: 3 } }, axes: [percentileAxis, {}] },
      [tailX, ...data.runs.map((run) => run.distributions[metric.name] ?? tailX.map(() => null))],
    );
  }

  const timeTable = (field) =>
    uPlot.join(
      data.runs.map((run) => [
        run.series.map((point) => point.s),
        run.series.map((point) => point[field]),
      ]),
    );
  for (const [field, title] of data.seriesFields) {
    chart(field, title, {
      scales: { x: { time: false } },
      axes: [{ label: "seconds since start" }, {}],
    }, timeTable(field));
  }
})();
