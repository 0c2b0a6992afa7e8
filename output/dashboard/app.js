// The llmload dashboard. Live: polls api/results and api/timeseries once a second (ETags keep
// that cheap) and draws. Report (--html): reads the same two documents from the inline
// #llmload-data element and draws once. No build step and no dependencies, so the page works
// offline and inside a compiled binary. Text from the server only ever goes in as textContent.
"use strict";

(function dashboard() {
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 640;
  const HEIGHT = 220;
  const MARGIN = { left: 52, right: 14, top: 10, bottom: 26 };
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

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
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

  /** Rounds up to 1, 2 or 5 times a power of ten, so axis labels read well. */
  function niceCeil(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  function timeStep(span) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];
    return steps.find((step) => span / step <= 6) ?? 28800;
  }

  /**
   * Draws one line chart into a figure: `series` are {label, color, dashed, values: [[x, y]]}
   * with x in seconds since load started and y possibly null (a gap).
   */
  function drawChart(figure, series, xMax) {
    const plot = figure.querySelector(".plot");
    const legend = figure.querySelector(".legend");
    const chart = svg("svg", {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-label": figure.querySelector("figcaption").textContent,
    });
    const innerW = WIDTH - MARGIN.left - MARGIN.right;
    const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
    let yMax = 0;
    let points = 0;
    for (const s of series) {
      for (const [, y] of s.values) {
        if (y === null || y === undefined) continue;
        points++;
        if (y > yMax) yMax = y;
      }
    }
    yMax = niceCeil(yMax * 1.05);
    const xSpan = Math.max(10, xMax);
    const x = (value) => MARGIN.left + (value / xSpan) * innerW;
    const y = (value) => MARGIN.top + innerH - (value / yMax) * innerH;

    for (let i = 0; i <= 4; i++) {
      const value = (yMax * i) / 4;
      chart.append(
        svg("line", {
          class: "grid",
          x1: MARGIN.left,
          x2: WIDTH - MARGIN.right,
          y1: y(value),
          y2: y(value),
        }),
      );
      const label = svg("text", {
        class: "axis-label",
        x: MARGIN.left - 6,
        y: y(value) + 4,
        "text-anchor": "end",
      });
      label.textContent = formatNumber(value);
      chart.append(label);
    }
    const step = timeStep(xSpan);
    for (let t = 0; t <= xSpan; t += step) {
      const label = svg("text", {
        class: "axis-label",
        x: x(t),
        y: HEIGHT - 8,
        "text-anchor": "middle",
      });
      label.textContent = formatDuration(t * 1000);
      chart.append(label);
    }

    for (const s of series) {
      let d = "";
      let pen = "M";
      for (const [px, py] of s.values) {
        if (py === null || py === undefined) {
          pen = "M";
          continue;
        }
        d += `${pen}${x(px).toFixed(1)},${y(py).toFixed(1)} `;
        pen = "L";
      }
      if (!d) continue;
      const path = svg("path", { class: "series", d: d.trim(), stroke: s.color });
      if (s.dashed) path.setAttribute("stroke-dasharray", "5 4");
      path.dataset.label = s.label;
      chart.append(path);
    }
    if (points === 0) {
      const empty = svg("text", {
        class: "empty",
        x: WIDTH / 2,
        y: HEIGHT / 2,
        "text-anchor": "middle",
      });
      empty.textContent = emptyNote;
      chart.append(empty);
    }
    plot.replaceChildren(chart);
    legend.replaceChildren(
      ...series.filter((s) => s.values.some(([, v]) => v !== null && v !== undefined)).map((s) => {
        const item = el("span", s.label);
        const swatch = el("span", undefined, "swatch");
        swatch.style.background = s.color;
        item.prepend(swatch);
        return item;
      }),
    );
    figure.dataset.points = String(points);
    const first = series[0].values.filter(([, v]) => v !== null && v !== undefined);
    figure.dataset.last = first.length > 0 ? String(first[first.length - 1][1]) : "";
  }

  /** The server's own series (--server-metrics), on the client's time axis; hidden without. */
  function drawServerCharts(results, axis) {
    const server = results.serverMetrics;
    const points = server ? server.series : [];
    const at = (p) => (p.t - axis.start) / 1000;
    const pick = (field) => points.map((p) => [at(p), p[field] ?? null]);
    const has = (field) => points.some((p) => typeof p[field] === "number");
    const queue = $("chart-server");
    queue.hidden = !has("running") && !has("waiting");
    if (!queue.hidden) {
      drawChart(queue, [
        { label: "running", color: COLORS.main, values: pick("running") },
        { label: "waiting", color: COLORS.tail, values: pick("waiting") },
      ], axis.xMax);
    }
    const kv = $("chart-server-kv");
    kv.hidden = !has("kv_cache_usage");
    if (!kv.hidden) {
      const usage = points.map((
        p,
      ) => [at(p), p.kv_cache_usage === undefined ? null : p.kv_cache_usage * 100]);
      drawChart(kv, [{ label: "KV cache used", color: COLORS.main, values: usage }], axis.xMax);
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
    const at = (p) => (p.t + p.durationMs - start) / 1000;
    const pick = (field) => timeseries.points.map((p) => [at(p), p[field]]);
    const xMax = timeseries.points.length > 0
      ? at(timeseries.points[timeseries.points.length - 1])
      : 0;
    const hasQps = timeseries.points.some((p) => p.targetQps !== null);
    drawChart($("chart-requests"), [
      { label: "requests/s", color: COLORS.main, values: pick("requestsPerSec") },
      ...(hasQps
        ? [{ label: "target QPS", color: COLORS.guide, dashed: true, values: pick("targetQps") }]
        : []),
    ], xMax);
    drawChart($("chart-tokens"), [
      { label: "output tokens/s", color: COLORS.main, values: pick("outputTokensPerSec") },
    ], xMax);
    drawChart($("chart-ttft"), [
      { label: "p50", color: COLORS.main, values: pick("ttftP50") },
      { label: "p99", color: COLORS.tail, values: pick("ttftP99") },
    ], xMax);
    drawChart($("chart-itl"), [
      { label: "p50", color: COLORS.main, values: pick("itlP50") },
      { label: "p99", color: COLORS.tail, values: pick("itlP99") },
    ], xMax);
    drawServerCharts(results, { start, xMax });
    drawChart($("chart-errors"), [
      { label: "failures/s", color: COLORS.bad, values: pick("failuresPerSec") },
    ], xMax);
    drawChart($("chart-inflight"), [
      { label: "in flight", color: COLORS.main, values: pick("inFlight") },
      {
        label: hasQps ? "in-flight cap" : "users",
        color: COLORS.guide,
        dashed: true,
        values: pick("users"),
      },
    ], xMax);
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
