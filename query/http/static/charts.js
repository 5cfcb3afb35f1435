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

  /* Runs of consecutive points: a line must not draw straight across a day without runs, as
     if it had had some. points: [{i (day index), x, y, key}]. */
  function segments(points) {
    const runs = [];
    for (const p of points) {
      const last = runs[runs.length - 1];
      if (last && p.i === last[last.length - 1].i + 1) last.push(p);
      else runs.push([p]);
    }
    return runs;
  }

  function polylines(svg, points, cls) {
    for (const run of segments(points)) {
      if (run.length < 2) continue;
      el("polyline", {
        points: run.map((p) => p.x + "," + p.y).join(" "), class: cls,
        "data-days": run.map((p) => p.key).join(" "),
      }, svg);
    }
  }

  /* A link around `child` when there is somewhere to go (the runs a mark counts). */
  function linked(parent, href) {
    return href ? el("a", { href, class: "chart-link" }, parent) : parent;
  }

  /* Stacked bars of runs per day (succeeded / failed+timed out / other) and a failure-rate line
     on a 0-100 % right axis. days: [{key, total, succeeded, failed, timed_out, ...}].
     linkFor(key, statuses) gives the runs page of that day's runs of those statuses (all
     statuses for null), so that a click on a bar, one of its parts or a point opens the runs
     it counts. */
  const OK_STATUSES = ["Succeeded"];
  const BAD_STATUSES = ["Failed", "TimedOut"];
  const OTHER_STATUSES = ["Cancelled", "Running", "Pending"];

  function dailyChart(container, days, fmt, linkFor) {
    linkFor = linkFor || (() => null);
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
      const g = el("g", { class: "day", "data-day": d.key, "data-total": d.total }, svg);
      if (d.total > 0) {
        // The whole band opens the day's runs; each part of the bar, its statuses' runs.
        el("rect", { x: cx - band / 2, y: T, width: band, height: plotH, class: "day-hit" },
          linked(g, linkFor(d.key, null)));
      }
      for (const [value, cls, statuses] of [[ok, "bar-ok", OK_STATUSES],
        [failed, "bar-bad", BAD_STATUSES], [other, "bar-other", OTHER_STATUSES]]) {
        if (value > 0) {
          el("rect", {
            x: cx - barW / 2, y: y(base + value), width: barW,
            height: Math.max(0.5, y(base) - y(base + value)), class: cls, "data-count": value,
          }, linked(g, linkFor(d.key, statuses)));
        }
        base += value;
      }
      const finished = ok + failed + (d.cancelled || 0);
      const rate = finished ? failed / finished : null;
      title(g, d.key + ": " + d.total + " runs, " + ok + " succeeded, " + failed +
        " failed or timed out" + (rate === null ? "" : ", failure rate " + fmt.percent(rate)));
      if (rate !== null) points.push({ i, x: cx, y: yRate(rate), key: d.key });
      if (i % labelEvery === 0) {
        text(svg, cx, H - B + 16, dayLabel(d.key), { class: "axis", "text-anchor": "middle" });
      }
    });
    polylines(svg, points, "rate-line");
    for (const p of points) {
      el("circle", { cx: p.x, cy: p.y, r: 3, class: "rate-dot", "data-day": p.key },
        linked(svg, linkFor(p.key, BAD_STATUSES)));
    }
    el("line", { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, class: "axis-line" }, svg);
    return svg;
  }

  /* p50 and p95 duration per day of one pipeline. days: [{key, p50_duration_seconds, ...}];
     linkFor(key) gives the runs page of the runs a point counts. */
  function durationChart(container, name, days, fmt, linkFor) {
    linkFor = linkFor || (() => null);
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
        if (d[field] !== null && d[field] !== undefined) pts.push({ i, x: x(i), y: y(d[field]), key: d.key, d });
      });
      polylines(svg, pts, "line " + cls);
      for (const p of pts) {
        const dot = el("circle", { cx: p.x, cy: p.y, r: 3.5, class: "dot " + cls, "data-day": p.key },
          linked(svg, linkFor(p.key)));
        title(dot, p.key + " " + cls + ": " + fmt.humanDuration(p.d[field]) + " (" + p.d.total +
          " runs; open them)");
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

  root.RunlakeCharts = { dailyChart, durationChart, timeline, niceTicks, segments };
})(window);
