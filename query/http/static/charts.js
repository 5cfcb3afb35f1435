/* runlake web page: small SVG charts drawn with the DOM (no library). Every label goes in as a
   text node, never as markup. */
"use strict";

(function (root) {
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    const node = el("text", Object.assign({ x, y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }

  function title(node, content) {
    el("title", {}, node).textContent = content;
  }

  /* A rounded-up axis maximum and its ticks: 0, step, 2*step, ... >= max. */
  function niceTicks(max, count) {
    if (!(max > 0)) return [0, 1];
    const raw = max / (count || 4);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const ticks = [];
    for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(+v.toPrecision(12));
    return ticks;
  }

  /* Ticks for a duration axis, on steps a person would pick: 30s, 5m, 15m, 1h, ... */
  const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    10800, 21600, 43200, 86400, 172800, 604800];

  function durationTicks(max, count) {
    if (!(max > 0)) return [0, 1];
    const step = DURATION_STEPS.find((s) => s >= max / count) || Math.ceil(max / count / 86400) * 86400;
    const ticks = [];
    for (let v = 0; v < max + step; v += step) ticks.push(v);
    return ticks;
  }

  function svgFrame(container, width, height, label) {
    container.replaceChildren();
    const svg = el("svg", {
      viewBox: "0 0 " + width + " " + height, width: "100%", role: "img",
      "aria-label": label, class: "chart-svg", preserveAspectRatio: "xMidYMid meet",
    }, container);
    return svg;
  }

  function dayLabel(key) {
    return String(key).slice(5, 10); // MM-DD of a YYYY-MM-DD key
  }

  /* Stacked bars of runs per day (succeeded / failed+timed out / other) and a failure-rate line
     on a 0-100 % right axis. days: [{key, total, succeeded, failed, timed_out, ...}]. */
  function dailyChart(container, days, fmt) {
    const W = 900, H = 280, L = 48, R = 52, T = 16, B = 40;
    const svg = svgFrame(container, W, H, "Runs per day and failure rate");
    const maxTotal = Math.max(1, ...days.map((d) => d.total));
    const ticks = niceTicks(maxTotal, 4);
    const top = ticks[ticks.length - 1];
    const plotW = W - L - R, plotH = H - T - B;
    const y = (v) => T + plotH - (v / top) * plotH;
    const yRate = (r) => T + plotH - r * plotH;
    const band = plotW / Math.max(1, days.length);
    const barW = Math.max(2, Math.min(36, band * 0.7));

    for (const t of ticks) {
      el("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), class: "grid" }, svg);
      text(svg, L - 6, y(t) + 4, String(t), { class: "axis", "text-anchor": "end" });
    }
    for (const r of [0, 0.5, 1]) {
      text(svg, W - R + 6, yRate(r) + 4, Math.round(r * 100) + "%", { class: "axis rate-axis" });
    }
    text(svg, 12, T + plotH / 2, "runs", {
      class: "axis", transform: "rotate(-90 12 " + (T + plotH / 2) + ")", "text-anchor": "middle",
    });

    const labelEvery = Math.ceil(days.length / 12);
    const points = [];
    days.forEach((d, i) => {
      const cx = L + band * i + band / 2;
      const failed = (d.failed || 0) + (d.timed_out || 0);
      const ok = d.succeeded || 0;
      const other = Math.max(0, d.total - failed - ok);
      let base = 0;
      const g = el("g", { class: "day" }, svg);
      for (const [value, cls] of [[ok, "bar-ok"], [failed, "bar-bad"], [other, "bar-other"]]) {
        if (value > 0) {
          el("rect", {
            x: cx - barW / 2, y: y(base + value), width: barW,
            height: Math.max(0.5, y(base) - y(base + value)), class: cls,
          }, g);
        }
        base += value;
      }
      const finished = ok + failed + (d.cancelled || 0);
      const rate = finished ? failed / finished : null;
      title(g, d.key + ": " + d.total + " runs, " + ok + " succeeded, " + failed +
        " failed or timed out" + (rate === null ? "" : ", failure rate " + fmt.percent(rate)));
      if (rate !== null) points.push([cx, yRate(rate)]);
      if (i % labelEvery === 0) {
        text(svg, cx, H - B + 16, dayLabel(d.key), { class: "axis", "text-anchor": "middle" });
      }
    });
    if (points.length) {
      el("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "rate-line" }, svg);
      for (const [px, py] of points) el("circle", { cx: px, cy: py, r: 2.5, class: "rate-dot" }, svg);
    }
    el("line", { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, class: "axis-line" }, svg);
    return svg;
  }

  /* p50 and p95 duration per day of one pipeline. days: [{key, p50_duration_seconds, ...}]. */
  function durationChart(container, name, days, fmt) {
    const W = 440, H = 200, L = 46, R = 22, T = 12, B = 30;
    const svg = svgFrame(container, W, H, "Duration of " + name + " per day");
    const values = days.flatMap((d) => [d.p50_duration_seconds, d.p95_duration_seconds])
      .filter((v) => v !== null && v !== undefined);
    const ticks = durationTicks(Math.max(1, ...values), 3);
    const top = ticks[ticks.length - 1];
    const plotW = W - L - R, plotH = H - T - B;
    const x = (i) => L + (days.length <= 1 ? plotW / 2 : (i / (days.length - 1)) * plotW);
    const y = (v) => T + plotH - (v / top) * plotH;
    for (const t of ticks) {
      el("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), class: "grid" }, svg);
      text(svg, L - 6, y(t) + 4, fmt.shortDuration(t), { class: "axis", "text-anchor": "end" });
    }
    const labelEvery = Math.ceil(days.length / 6);
    days.forEach((d, i) => {
      if (i % labelEvery === 0) {
        text(svg, x(i), H - B + 16, dayLabel(d.key), { class: "axis", "text-anchor": "middle" });
      }
    });
    for (const [field, cls] of [["p95_duration_seconds", "p95"], ["p50_duration_seconds", "p50"]]) {
      const pts = [];
      days.forEach((d, i) => {
        if (d[field] !== null && d[field] !== undefined) pts.push([x(i), y(d[field]), d]);
      });
      if (pts.length > 1) {
        el("polyline", { points: pts.map((p) => p[0] + "," + p[1]).join(" "), class: "line " + cls }, svg);
      }
      for (const [px, py, d] of pts) {
        const dot = el("circle", { cx: px, cy: py, r: 3, class: "dot " + cls }, svg);
        title(dot, d.key + " " + cls + ": " + fmt.humanDuration(d[field]));
      }
    }
    el("line", { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, class: "axis-line" }, svg);
    return svg;
  }

  /* A PipelineRun's TaskRuns as bars on one time axis from the run's start.
     rows: [{label, start (ms), end (ms or null), status, href}]; end null = still running. */
  function timeline(container, rows, origin, finish, fmt) {
    const rowH = 26, L = 220, R = 70, T = 26, B = 8, W = 900;
    const H = T + B + rowH * rows.length;
    const svg = svgFrame(container, W, H, "TaskRuns on a timeline");
    const span = Math.max(1000, finish - origin);
    const plotW = W - L - R;
    const x = (t) => L + ((t - origin) / span) * plotW;
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const gx = L + f * plotW;
      el("line", { x1: gx, x2: gx, y1: T - 6, y2: H - B, class: "grid" }, svg);
      text(svg, gx, T - 10, f === 0 ? "0" : "+" + fmt.humanDuration((span * f) / 1000), {
        class: "axis", "text-anchor": f === 1 ? "end" : "middle",
      });
    }
    rows.forEach((r, i) => {
      const cy = T + i * rowH;
      const g = el("g", { class: "tl-row" }, svg);
      const link = r.href ? el("a", { href: r.href }, g) : g;
      const label = r.label.length > 30 ? r.label.slice(0, 29) + "…" : r.label;
      text(link, 8, cy + rowH / 2 + 4, label, { class: "tl-label" });
      if (r.start !== null) {
        const x0 = x(r.start), x1 = x(r.end === null ? finish : r.end);
        el("rect", {
          x: x0, y: cy + 5, width: Math.max(3, x1 - x0), height: rowH - 10, rx: 3,
          class: "tl-bar " + fmt.statusClass(r.status),
        }, link);
        text(link, Math.min(W - R + 4, Math.max(x1, x0 + 3) + 6), cy + rowH / 2 + 4,
          r.duration === null ? r.status : fmt.humanDuration(r.duration), { class: "axis" });
      } else {
        text(link, L + 4, cy + rowH / 2 + 4, r.status + " (not started)", { class: "axis" });
      }
      title(g, r.label + ": " + r.status + (r.duration === null ? "" : ", " + fmt.humanDuration(r.duration)));
    });
    return svg;
  }

  root.RunlakeCharts = { dailyChart, durationChart, timeline, niceTicks };
})(window);
