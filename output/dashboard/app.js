// The llmload dashboard. Live: polls api/results and api/timeseries once a second (ETags keep
// that cheap) and draws. Report (--html): reads the same two documents from the inline
// #llmload-data element and draws once. Charts are uPlot's (assets/uplot.js, loaded first, or
// inlined in the report); no build step, so the page works offline and inside a compiled binary.
// Text from the server only ever goes in as textContent.
"use strict";

(function dashboard() {
  const HEIGHT = 220;
  const WIDTH = 640;
  const COLORS = { main: "#2563eb", tail: "#ea580c", bad: "#dc2626", guide: "#9ca3af" };
  const POLL_MS = 1000;
  const POLL_DONE_MS = 5000;
  let renders = 0;
  // What an empty chart says: a finished run without a point ended before its first second.
  let emptyNote = "no data yet";

  const $ = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function formatNumber(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const abs = Math.abs(value);
    if (Number.isInteger(value) || abs >= 1000) return Math.round(value).toLocaleString("en-US");
    if (abs >= 100) return value.toFixed(1);
    if (abs >= 10) return value.toFixed(2);
    return value.toFixed(abs === 0 ? 0 : 3);
  }

  function formatDuration(ms) {
    const seconds = Math.max(0, Math.round(ms / 1000));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  /** An axis label: at most three decimals and no trailing zeros (3.75, not 3.750). */
  function axisNumber(value) {
    return value.toLocaleString("en-US", { maximumFractionDigits: 3 });
  }

  // The x of a latency curve is -log10(1 - p/100): p90, p99 and p99.9 are one step apart.
  const nines = (percentile) => -Math.log10(1 - percentile / 100);
  const NINES_SPLITS = [nines(50), 1, 2, 3, 4];
  function percentileLabel(x) {
    const percentile = 100 * (1 - Math.pow(10, -x));
    return `p${Number(percentile.toFixed(2))}`;
  }

  // One uPlot per figure, kept between renders; `key` says when its series changed shape.
  const charts = new Map();

  /**
   * Draws a line chart into a figure with uPlot (hover shows the values in the legend, dragging
   * zooms, a double click zooms out). `xs` are the x values, `series` are {label, color, dashed,
   * values} with one y (or null, a gap) per x; `axis` is "time" (seconds since load started)
   * or "percentile" (x from `nines`); `note` is what a chart without points says.
   */
  function drawChart(figure, xs, series, axis, note = emptyNote) {
    const plot = figure.querySelector(".plot");
    let points = 0;
    for (const s of series) for (const y of s.values) if (y !== null && y !== undefined) points++;
    figure.dataset.points = String(points);
    const first = series[0].values.filter((v) => v !== null && v !== undefined);
    figure.dataset.last = first.length > 0 ? String(first[first.length - 1]) : "";
    const existing = charts.get(figure.id);
    if (points === 0) {
      existing?.plot.destroy();
      charts.delete(figure.id);
      plot.replaceChildren(el("div", note, "empty"));
      return;
    }
    const width = plot.clientWidth || WIDTH;
    const key = `${axis}|${width}|${series.map((s) => s.label).join("|")}`;
    const data = [xs, ...series.map((s) => s.values)];
    if (existing && existing.key === key) {
      existing.plot.setData(data, !existing.zoomed);
      return;
    }
    existing?.plot.destroy();
    plot.replaceChildren();
    const xLabel = axis === "time" ? (x) => formatDuration(x * 1000) : percentileLabel;
    const entry = { key, zoomed: false, plot: undefined };
    entry.plot = new uPlot(
      {
        width,
        height: HEIGHT,
        scales: { x: { time: false } },
        cursor: { drag: { x: true, y: false } },
        series: [
          {
            label: axis === "time" ? "elapsed" : "percentile",
            value: (_, x) => x === null ? "–" : xLabel(x),
          },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dashed ? [5, 4] : undefined,
            points: { show: false },
            value: (_, y) => formatNumber(y),
          })),
        ],
        axes: [
          {
            values: (_, splits) => splits.map(xLabel),
            ...(axis === "percentile" ? { splits: () => NINES_SPLITS } : {}),
          },
          { values: (_, splits) => splits.map(axisNumber), size: 60 },
        ],
        hooks: { setSelect: [() => entry.zoomed = true] },
      },
      data,
      plot,
    );
    entry.plot.over.addEventListener("dblclick", () => entry.zoomed = false);
    charts.set(figure.id, entry);
  }

  /** The server's own series (--server-metrics), on the client's time axis; hidden without. */
  /** The server's own series (`--server-metrics`), on the client's time axis. */
  function drawServerCharts(results, start) {
    const server = results.serverMetrics;
    const points = server ? server.series : [];
    const xs = points.map((p) => (p.t - start) / 1000);
    const pick = (field) => points.map((p) => p[field] ?? null);
    const has = (field) => points.some((p) => typeof p[field] === "number");
    const queue = $("chart-server");
    queue.hidden = !has("running") && !has("waiting");
    if (!queue.hidden) {
      drawChart(queue, xs, [
        { label: "running", color: COLORS.main, values: pick("running") },
        { label: "waiting", color: COLORS.tail, values: pick("waiting") },
      ], "time");
    }
    const kv = $("chart-server-kv");
    kv.hidden = !has("kv_cache_usage");
    if (!kv.hidden) {
      const usage = points.map((p) =>
        p.kv_cache_usage === undefined ? null : p.kv_cache_usage * 100
      );
      drawChart(kv, xs, [{ label: "KV cache used", color: COLORS.main, values: usage }], "time");
    }
    const note = $("server-breakdown");
    const breakdown = server && server.breakdown;
    note.hidden = !breakdown;
    if (breakdown) {
      const ms = (value) => `${value.toFixed(1)} ms`;
      const terms = [["queue", breakdown.queue], ["prefill", breakdown.prefill]]
        .filter(([, term]) => term)
        .map(([name, term]) => `server ${name} ${term.statistic} ${ms(term.ms)}`);
      note.textContent = `${server.dialect ?? "server"}: client TTFT p50 ` +
        `${ms(breakdown.clientTtftMs)} = ${
          [...terms, `the rest ${ms(breakdown.restMs)}`].join(" + ")
        }`;
    }
  }

  function drawCharts(timeseries, results) {
    const start = timeseries.startedAt ?? timeseries.points[0]?.t ?? 0;
    const xs = timeseries.points.map((p) => (p.t + p.durationMs - start) / 1000);
    const pick = (field) => timeseries.points.map((p) => p[field]);
    const hasQps = timeseries.points.some((p) => p.targetQps !== null);
    drawChart($("chart-requests"), xs, [
      { label: "requests/s", color: COLORS.main, values: pick("requestsPerSec") },
      ...(hasQps
        ? [{ label: "target QPS", color: COLORS.guide, dashed: true, values: pick("targetQps") }]
        : []),
    ], "time");
    drawChart($("chart-tokens"), xs, [
      { label: "output tokens/s", color: COLORS.main, values: pick("outputTokensPerSec") },
    ], "time");
    drawChart($("chart-ttft"), xs, [
      { label: "p50", color: COLORS.main, values: pick("ttftP50") },
      { label: "p99", color: COLORS.tail, values: pick("ttftP99") },
    ], "time");
    drawChart($("chart-itl"), xs, [
      { label: "p50", color: COLORS.main, values: pick("itlP50") },
      { label: "p99", color: COLORS.tail, values: pick("itlP99") },
    ], "time");
    drawServerCharts(results, start);
    drawChart($("chart-errors"), xs, [
      { label: "failures/s", color: COLORS.bad, values: pick("failuresPerSec") },
    ], "time");
    drawChart($("chart-inflight"), xs, [
      { label: "in flight", color: COLORS.main, values: pick("inFlight") },
      {
        label: hasQps ? "in-flight cap" : "users",
        color: COLORS.guide,
        dashed: true,
        values: pick("users"),
      },
    ], "time");
  }

  /** Latency by percentile, from the HDR histograms: one curve per latency metric. */
  function drawDistributions(distributions) {
    const xs = distributions.percentiles.map(nines);
    for (const [name, label] of [["ttft", "TTFT"], ["itl", "ITL"], ["total_latency", "E2E"]]) {
      const values = distributions.metrics[name] ?? xs.map(() => null);
      const series = [{ label, color: COLORS.main, values }];
      drawChart($(`chart-dist-${name}`), xs, series, "percentile", "no samples yet");
    }
  }

  function setTile(id, value, label) {
    const tile = $(id);
    tile.querySelector(".value").textContent = value;
    if (label) tile.querySelector(".label").textContent = label;
  }

  function drawTiles(results, timeseries) {
    const last = timeseries.points[timeseries.points.length - 1];
    const running = results.state !== "done" && last;
    const live = results.live;
    setTile("tile-requests", formatNumber(results.requests.ok));
    setTile("tile-failed", formatNumber(results.requests.failed));
    $("tile-failed").classList.toggle("bad", results.requests.failed > 0);
    setTile(
      "tile-rps",
      formatNumber(running ? last.requestsPerSec : results.throughput.requestsPerSec),
      running ? "Requests/s (last second)" : "Requests/s (mean)",
    );
    setTile(
      "tile-tps",
      formatNumber(running ? last.outputTokensPerSec : results.throughput.outputTokensPerSec),
      running ? "Output tokens/s (last second)" : "Output tokens/s (mean)",
    );
    const ms = (metric) => metric ? `${formatNumber(metric.p50)} ms` : "–";
    setTile("tile-ttft", ms(results.metrics.ttft));
    setTile("tile-itl", ms(results.metrics.itl));
    // With --slo: good requests per second, and the share that met every bound.
    $("tile-goodput").hidden = !results.goodput;
    if (results.goodput) {
      const { requestsPerSec, attainment } = results.goodput;
      setTile(
        "tile-goodput",
        `${formatNumber(requestsPerSec)}/s (${formatNumber(attainment.all * 100)}%)`,
      );
    }
    // Where the server reported cached prompt tokens: requests that hit, and the cached share.
    const cache = results.tokens.promptCache;
    $("tile-cache").hidden = !(cache.requests > 0);
    if (cache.requests > 0) {
      const share = cache.promptTokens > 0 ? cache.cachedTokens / cache.promptTokens : 0;
      setTile(
        "tile-cache",
        `${formatNumber((cache.hits / cache.requests) * 100)}% · ${formatNumber(share * 100)}%`,
      );
    }
    // With --cancel-rate: requests closed after their first token (counted as ok).
    $("tile-cancelled").hidden = !(results.tokens.cancelled > 0);
    if (results.tokens.cancelled > 0) {
      setTile("tile-cancelled", formatNumber(results.tokens.cancelled));
    }
    const done = results.state === "done";
    setTile("tile-inflight", live && !done ? formatNumber(live.inFlight) : done ? "0" : "–");
    // A report has no live facts: the last point holds the load the run ended with.
    const users = live?.users ?? last?.users ?? results.config.users;
    const qps = live ? live.targetQps : last ? last.targetQps : results.config.qps ?? null;
    setTile(
      "tile-load",
      qps === null || qps === undefined
        ? `${users} ${users === 1 ? "user" : "users"}`
        : `${formatNumber(qps)} QPS`,
    );
    setTile(
      "tile-elapsed",
      live ? formatDuration(live.elapsedMs) : formatDuration(results.durationMs),
    );
    if (live && !done) {
      // CPU-bound needs more workers; delayed needs free cores: the tile says which.
      const state = live.client.saturated
        ? " (saturated)"
        : live.client.delayed
        ? ` (delayed ${Math.round(live.client.loopLagMs)} ms by other processes)`
        : "";
      setTile("tile-client", `${Math.round(live.client.cpu * 100)}%${state}`, "Client CPU");
    } else if (results.client) {
      const verdict = results.client.verdict === "cpu-bound"
        ? " (saturated)"
        : results.client.verdict === "delayed"
        ? ` (delayed up to ${Math.round(results.client.peakDelayMs)} ms by other processes)`
        : "";
      setTile(
        "tile-client",
        `${Math.round(results.client.peakCpu * 100)}%${verdict}`,
        "Client CPU (peak)",
      );
    }
  }

  function row(cells) {
    const tr = el("tr");
    for (const cell of cells) tr.append(el("td", cell));
    return tr;
  }

  function drawTables(results) {
    const metrics = Object.entries(results.metrics).map(([name, m]) =>
      row([
        name,
        m.unit,
        formatNumber(m.count),
        formatNumber(m.mean),
        formatNumber(m.min),
        formatNumber(m.p50),
        formatNumber(m.p90),
        formatNumber(m.p95),
        formatNumber(m.p99),
        formatNumber(m.p999),
        formatNumber(m.max),
      ])
    );
    $("metrics-table").querySelector("tbody").replaceChildren(...metrics);
    $("window-note").textContent = `measured window ${formatDuration(results.durationMs)}` +
      (results.partial ? ", live" : "");

    const failures = Object.entries(results.failures);
    $("failures-panel").hidden = failures.length === 0;
    $("failures-table").querySelector("tbody").replaceChildren(
      ...failures.map(([kind, f]) =>
        row([
          kind,
          String(f.count),
          Object.entries(f.statuses).map(([status, n]) => `${status}: ${n}`).join(", "),
          f.messages.join(" | "),
        ])
      ),
    );

    $("warnings-panel").hidden = results.warnings.length === 0;
    $("warnings").replaceChildren(...results.warnings.map((warning) => el("li", warning)));

    const config = [["provider", results.provider], ["model", results.model]];
    for (const [key, value] of Object.entries(results.config)) {
      config.push([key, typeof value === "object" ? JSON.stringify(value) : String(value)]);
    }
    $("config-table").querySelector("tbody").replaceChildren(...config.map((cells) => row(cells)));
  }

  function render(results, timeseries) {
    document.body.dataset.state = results.state;
    $("state").textContent = results.state;
    $("target").textContent = `${results.model} · ${results.provider} · ${results.config.host}`;
    drawTiles(results, timeseries);
    emptyNote = results.state === "done" ? "run too short for a time series" : "no data yet";
    drawCharts(timeseries, results);
    drawDistributions(results.distributions);
    drawTables(results);
    $("footer").textContent = `${results.tool.name} ${results.tool.version} · results schema ` +
      `${results.schemaVersion} · window ${results.startedAt} – ${results.endedAt}`;
    const qpsLabel = $("control-qps-label");
    if (qpsLabel) qpsLabel.hidden = results.config.qps === undefined;
    document.body.dataset.renders = String(++renders);
  }

  async function getJson(path) {
    // no-cache: revalidate every time; the server answers 304 when nothing changed.
    const response = await fetch(path, { cache: "no-cache" });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  async function poll() {
    let state = "running";
    try {
      const [results, timeseries] = await Promise.all([
        getJson("api/results"),
        getJson("api/timeseries"),
      ]);
      render(results, timeseries);
      state = results.state;
      $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      $("status").textContent = `not connected (${error.message})`;
    }
    setTimeout(poll, state === "done" ? POLL_DONE_MS : POLL_MS);
  }

  async function control(path, body) {
    const message = $("control-message");
    const token = $("control-token").value.trim();
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      message.textContent = response.ok
        ? (answer.load ? `Load now ${JSON.stringify(answer.load)}` : `Run ${answer.state}`)
        : `Refused (${response.status}): ${answer.error ?? response.statusText}`;
    } catch (error) {
      message.textContent = `Failed: ${error.message}`;
    }
  }

  function setUpControls() {
    $("control").hidden = false;
    $("control-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const body = {};
      const users = $("control-users").value;
      const qps = $("control-qps").value;
      if (users !== "") body.users = Number(users);
      if (qps !== "" && !$("control-qps-label").hidden) body.qps = Number(qps);
      control("api/load", body);
    });
    $("control-stop").addEventListener("click", () => control("api/stop", {}));
  }

  const embedded = document.getElementById("llmload-data");
  if (embedded) {
    document.body.dataset.mode = "report";
    const data = JSON.parse(embedded.textContent);
    render(data.results, data.timeseries);
    $("status").textContent = `report of a run that ended ${data.results.endedAt}`;
  } else {
    document.body.dataset.mode = "live";
    setUpControls();
    poll();
  }
})();
