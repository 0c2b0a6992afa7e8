// llmload sweep report: draws throughput, latency percentiles and goodput against the load of
// each point with uPlot (inlined before this script), from the JSON in #llmload-sweep; the knee
// and the found maximum are dashed vertical lines. Nothing is fetched.
(function sweepReport() {
  const data = JSON.parse(document.getElementById("llmload-sweep").textContent);
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"];
  const WIDTH = Math.min(900, document.body.clientWidth - 32);
  const loads = data.points.map((point) => point.load);
  const marks = [
    data.knee === null ? null : { x: data.knee, label: "knee", color: "#ea580c" },
    data.max === null ? null : { x: data.max, label: "max", color: "#16a34a" },
  ].filter((mark) => mark !== null);

  // Draws each mark as a dashed vertical line with its name at the top.
  function drawMarks(u) {
    const { ctx, bbox } = u;
    for (const mark of marks) {
      const x = u.valToPos(mark.x, "x", true);
      ctx.save();
      ctx.strokeStyle = mark.color;
      ctx.fillStyle = mark.color;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.fillText(`${mark.label} ${mark.x}`, x + 4, bbox.top + 12);
      ctx.restore();
    }
  }

  function chart(chartData) {
    const figure = document.createElement("figure");
    figure.id = `chart-${chartData.id}`;
    figure.className = "chart";
    document.getElementById("charts").append(figure);
    const series = [
      { label: data.unit },
      ...chartData.series.map((line, index) => ({
        label: line.label,
        stroke: COLORS[index % COLORS.length],
        width: 2,
        points: { show: true, size: 6 },
        spanGaps: true,
      })),
    ];
    figure.dataset.series = String(chartData.series.length);
    figure.dataset.points = String(loads.length);
    // uPlot draws on a canvas; the hook marks the figure once it has, for tests and for print.
    const hooks = { draw: [drawMarks, () => figure.dataset.drawn = "true"] };
    new uPlot(
      {
        title: chartData.title,
        width: WIDTH,
        height: 300,
        series,
        hooks,
        scales: { x: { time: false } },
        axes: [{ label: data.unit }, { label: chartData.unit }],
      },
      [loads, ...chartData.series.map((line) => line.values)],
      figure,
    );
  }

  for (const chartData of data.charts) chart(chartData);
})();
