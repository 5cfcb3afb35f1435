/* runlake web page: each page's script. Reads the JSON API of this same service with the
   browser's session cookie, so it sees exactly what the visitor's query token may see. */
"use strict";

(function () {
  const F = window.RunlakeFormat;
  const C = window.RunlakeCharts;
  // API parameters the summary endpoint takes (it pages nothing).
  const SUMMARY_SKIP = new Set(["page_size", "page_token"]);

  class ApiFailure extends Error {
    constructor(status, body) {
      super((body && body.error) || "request failed with status " + status);
      this.status = status;
      this.details = (body && body.errors) || [];
    }
  }

  async function getJson(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (err) {
      throw new ApiFailure(0, { error: "the service cannot be reached", errors: [String(err)] });
    }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok) throw new ApiFailure(response.status, body);
    return body;
  }

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function statusPill(status) {
    return h("span", { class: "status " + F.statusClass(status) },
      h("span", { class: "dot", "aria-hidden": "true" }), status || "Unknown");
  }

  function showNotice(err) {
    const box = document.getElementById("notice");
    if (!box) return;
    box.hidden = false;
    box.className = "notice error";
    box.replaceChildren();
    if (err.status === 401) {
      box.append(h("strong", {}, "Sign in needed. "), err.message + " ",
        h("a", { href: "/" }, "Sign in again"));
      return;
    }
    const what = err.status === 503 ? "The archive cannot be read right now; retry in a moment."
      : err.status ? "The request failed (" + err.status + ")." : "";
    box.append(h("strong", {}, what + " "), err.message);
    if (err.details.length && err.details[0] !== err.message) {
      box.append(h("ul", {}, err.details.map((d) => h("li", {}, d))));
    }
  }

  function formPairs(form, skip) {
    const pairs = [];
    for (const [name, value] of new FormData(form).entries()) {
      if (!(skip && skip.has(name))) pairs.push([name, value.trim()]);
    }
    return pairs;
  }

  /* Suggestions for the cluster, namespace and pipeline boxes, from what the token may read. */
  async function fillSuggestions() {
    for (const [group, id, kind] of [["cluster", "clusters", ""], ["namespace", "namespaces", ""], ["pipeline", "pipelines", "PipelineRun"]]) {
      const list = document.getElementById(id);
      if (!list) continue;
      try {
        const body = await getJson("/v1/summary?group_by=" + group + (kind ? "&kind=" + kind : ""));
        list.replaceChildren(...body.groups.filter((g) => g.key).map((g) => h("option", { value: g.key })));
      } catch (err) { /* suggestions are a convenience; the table shows any real error */ }
    }
  }

  // ----------------------------------------------------------------------------- runs page

  /* The page's URL parameters without empty ones (the API refuses `status=`). */
  function pageParams() {
    const params = new URLSearchParams();
    for (const [k, v] of new URLSearchParams(window.location.search)) if (v.trim()) params.append(k, v.trim());
    return params;
  }

  /* Filters go into the URL without the empty fields, and a new filter starts at page one. */
  function cleanSubmit() {
    const form = document.getElementById("filters");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = F.queryOf(formPairs(form, new Set(["page_token"])));
      window.location.assign(window.location.pathname + (query ? "?" + query : ""));
    });
  }

  async function runsPage() {
    const params = pageParams();
    const tbody = document.getElementById("runs-body");
    const pager = document.getElementById("pager");
    const caption = document.getElementById("runs-caption");
    fillSuggestions();
    let body;
    try {
      body = await getJson("/v1/runs?" + params.toString());
    } catch (err) {
      tbody.replaceChildren(h("tr", { class: "placeholder" }, h("td", { colspan: 8 }, "No runs to show.")));
      showNotice(err);
      return;
    }
    const keep = params.toString();
    if (!body.runs.length) {
      const filtered = [...params.keys()].some((k) => k !== "page_token");
      tbody.replaceChildren(h("tr", { class: "placeholder" }, h("td", { colspan: 8 },
        filtered ? "No runs match these filters." : "No runs archived yet.")));
    } else {
      const now = Date.now();
      tbody.replaceChildren(...body.runs.map((run) => {
        const href = "/runs/" + encodeURIComponent(run.uid) + (keep ? "?" + keep : "");
        const owner = run.kind === "PipelineRun" ? run.pipeline : (run.task || run.pipeline_task);
        const sub = run.kind === "TaskRun" && run.pipeline ? run.pipeline : null;
        return h("tr", { "data-uid": run.uid, "data-status": run.status },
          h("td", {}, statusPill(run.status)),
          h("td", { class: "name" }, h("a", { href }, run.name || run.uid),
            run.reason && run.reason !== run.status ? h("div", { class: "sub" }, run.reason) : null),
          h("td", {}, run.kind),
          h("td", {}, run.cluster),
          h("td", {}, run.namespace),
          h("td", {}, owner || "—", sub && sub !== owner ? h("div", { class: "sub" }, sub) : null),
          h("td", { title: F.formatTimestamp(run.created_at) }, F.relativeTime(run.created_at, now)),
          h("td", { class: "num", title: run.duration_seconds === null ? "" : run.duration_seconds + " s" },
            run.duration_seconds === null && run.started_at
              ? h("span", { class: "muted" }, "running " + F.humanDuration((now - F.parseTime(run.started_at)) / 1000))
              : F.humanDuration(run.duration_seconds)));
      }));
    }
    caption.textContent = body.runs.length
      ? "Showing " + body.runs.length + " run" + (body.runs.length === 1 ? "" : "s") +
        (params.get("page_token") ? " (a later page)" : "") + ", newest first."
      : "";
    pager.replaceChildren();
    if (params.get("page_token")) {
      const first = new URLSearchParams(params);
      first.delete("page_token");
      pager.append(h("a", { class: "button", href: "?" + first.toString() }, "« First page"));
      pager.append(h("a", { class: "button", href: "#", id: "prev-page" }, "‹ Previous"));
      document.getElementById("prev-page").addEventListener("click", (e) => { e.preventDefault(); history.back(); });
    }
    if (body.next_page_token) {
      const next = new URLSearchParams(params);
      next.set("page_token", body.next_page_token);
      pager.append(h("a", { class: "button", href: "?" + next.toString(), id: "next-page", rel: "next" }, "Next page ›"));
    }
  }

  // ------------------------------------------------------------------------------ run page

  function field(label, value) {
    return h("div", { class: "fact" }, h("dt", {}, label),
      h("dd", {}, value === null || value === undefined || value === "" ? "—" : value));
  }

  function runLink(uid, keep) {
    return "/runs/" + encodeURIComponent(uid) + (keep ? "?" + keep : "");
  }

  async function runPage() {
    const root = document.getElementById("run");
    const uid = root.dataset.uid;
    const keep = pageParams().toString();
    document.getElementById("back-link").href = "/" + (keep ? "?" + keep : "");
    let run;
    try {
      run = await getJson("/v1/runs/" + encodeURIComponent(uid));
    } catch (err) {
      document.getElementById("run-loading").remove();
      if (err.status === 404) {
        root.append(h("div", { class: "card empty" }, h("h1", {}, "Run not found"),
          h("p", { class: "muted" }, "No run with uid " + uid + " is in the archive, or your token may not read its namespace.")));
      } else {
        showNotice(err);
      }
      return;
    }
    document.getElementById("run-loading").remove();
    document.title = run.name + " · runlake";
    const obj = run.object || {};
    const meta = obj.metadata || {};
    const failedStep = (run.steps || []).find((s) => s.exit_code !== null && s.exit_code !== undefined && s.exit_code !== 0);

    const head = h("div", { class: "run-head" },
      h("div", {}, h("p", { class: "eyebrow" }, run.kind + " · " + run.cluster + " / " + run.namespace),
        h("h1", {}, run.name)),
      statusPill(run.status));
    const details = h("dl", { class: "facts" },
      field("Status", run.reason && run.reason !== run.status ? run.status + " (" + run.reason + ")" : run.status),
      field("Cluster", run.cluster),
      field("Pipeline", run.pipeline),
      run.kind === "PipelineRun" ? null : field("Task", run.task || run.pipeline_task),
      run.kind === "PipelineRun" ? null : field("PipelineRun", run.pipeline_run),
      field("Created", F.formatTimestamp(run.created_at)),
      field("Started", F.formatTimestamp(run.started_at)),
      field("Completed", F.formatTimestamp(run.completed_at)),
      field("Duration", F.humanDuration(run.duration_seconds)),
      field("UID", h("code", {}, run.uid)));
    root.append(head, h("section", { class: "card" }, details,
      run.message ? h("p", { class: "message " + (run.status === "Succeeded" ? "" : "bad") }, run.message) : null));

    const labels = Object.entries(meta.labels || run.labels || {});
    if (labels.length) {
      root.append(h("section", { class: "card" }, h("h2", {}, "Labels"),
        h("ul", { class: "labels" }, labels.sort().map(([k, v]) => h("li", {}, h("span", { class: "k" }, k), h("span", { class: "v" }, v))))));
    }

    if (run.kind === "PipelineRun") {
      root.append(taskRunTimeline(run, keep));
    } else if (run.kind === "TaskRun") {
      root.append(stepsTable(run));
      root.append(logsSection(run, failedStep));
    }
  }

  function taskRunTimeline(run, keep) {
    const section = h("section", { class: "card" }, h("h2", {}, "TaskRuns"));
    const children = run.steps || [];
    if (!children.length) {
      section.append(h("p", { class: "muted" }, "No TaskRuns of this PipelineRun are archived."));
      return section;
    }
    const now = Date.now();
    const starts = children.map((c) => F.parseTime(c.started_at)).filter((t) => t !== null);
    const origin = Math.min(F.parseTime(run.started_at) || Infinity, ...starts);
    const ends = children.map((c) => F.parseTime(c.completed_at) || (c.started_at ? now : null)).filter((t) => t !== null);
    const finish = Math.max(F.parseTime(run.completed_at) || 0, ...ends, origin + 1000);
    const rows = children.map((c) => ({
      label: c.pipeline_task || c.name, status: c.status,
      start: F.parseTime(c.started_at), end: F.parseTime(c.completed_at),
      duration: c.duration_seconds, href: runLink(c.uid, keep),
    }));
    const chart = h("div", { class: "timeline", id: "timeline" });
    section.append(chart);
    if (isFinite(origin)) C.timeline(chart, rows, origin, finish, F);
    section.append(h("table", { class: "runs compact" },
      h("thead", {}, h("tr", {}, ["Status", "Task", "TaskRun", "Started", "Duration"].map((t) => h("th", { class: t === "Duration" ? "num" : null }, t)))),
      h("tbody", {}, children.map((c) => h("tr", { "data-uid": c.uid },
        h("td", {}, statusPill(c.status)),
        h("td", {}, c.pipeline_task || "—"),
        h("td", { class: "name" }, h("a", { href: runLink(c.uid, keep) }, c.name),
          c.reason && c.reason !== c.status ? h("div", { class: "sub" }, c.reason) : null),
        h("td", {}, F.formatTimestamp(c.started_at)),
        h("td", { class: "num" }, F.humanDuration(c.duration_seconds)))))));
    return section;
  }

  function stepsTable(run) {
    const section = h("section", { class: "card" }, h("h2", {}, "Steps"));
    const steps = run.steps || [];
    if (!steps.length) {
      section.append(h("p", { class: "muted" }, "This TaskRun lists no steps."));
      return section;
    }
    section.append(h("table", { class: "runs compact steps" },
      h("thead", {}, h("tr", {}, ["Step", "Exit code", "Reason", "Started", "Duration"].map((t) => h("th", { class: t === "Exit code" || t === "Duration" ? "num" : null }, t)))),
      h("tbody", {}, steps.map((s) => {
        const code = s.exit_code;
        const cls = code === null || code === undefined ? "" : code === 0 ? "exit-ok" : "exit-bad";
        return h("tr", { "data-step": s.step },
          h("td", {}, h("a", { href: "#log-" + s.step }, s.step)),
          h("td", { class: "num " + cls }, code === null || code === undefined ? "—" : String(code)),
          h("td", {}, s.reason || "—"),
          h("td", {}, F.formatTimestamp(s.started_at)),
          h("td", { class: "num" }, F.humanDuration(s.duration_seconds)));
      }))));
    return section;
  }

  function logsSection(run, failedStep) {
    const section = h("section", { class: "card" }, h("h2", {}, "Logs"));
    const stored = new Map((run.logs || []).map((l) => [l.step, l]));
    const names = (run.steps || []).map((s) => s.step);
    for (const log of run.logs || []) if (!names.includes(log.step)) names.push(log.step);
    if (!names.length) {
      section.append(h("p", { class: "muted" }, "No step logs."));
      return section;
    }
    const opened = failedStep ? failedStep.step : names[names.length - 1];
    for (const step of names) {
      const log = stored.get(step);
      const size = log ? (log.size_bytes !== undefined ? log.size_bytes : log.stored_bytes) : null;
      const available = log && log.available !== false;
      const pre = h("div", { class: "log", role: "log", "data-step": step });
      const state = h("span", { class: "muted log-state" }, available ? (size !== null ? formatBytes(size) + (log.size_bytes === undefined ? " compressed" : "") : "") : "not stored");
      const box = h("details", { class: "log-box", id: "log-" + step, "data-step": step },
        h("summary", {}, h("span", { class: "step-name" }, step), state),
        available ? pre : h("p", { class: "muted" }, "This step's log was never stored (its pod may have been gone)."));
      let loaded = false;
      box.addEventListener("toggle", () => {
        if (box.open && available && !loaded) {
          loaded = true;
          streamLog(run.uid, step, pre, state);
        }
      });
      if (step === opened && available) box.open = true;
      section.append(box);
    }
    return section;
  }

  function formatBytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }

  /* Streams one step's log into `box`, rendering ANSI colours as it arrives: a long log shows
     its first lines at once and grows as the rest is read. Each batch of whole lines becomes
     its own block, which the browser lays out once (and skips while off screen), so a log of
     many megabytes does not re-lay out everything read so far at every batch. */
  async function streamLog(uid, step, box, state) {
    const url = "/v1/runs/" + encodeURIComponent(uid) + "/logs?step=" + encodeURIComponent(step);
    state.textContent = "loading…";
    box.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin" });
    } catch (err) {
      state.textContent = "the service cannot be reached";
      box.removeAttribute("aria-busy");
      return;
    }
    if (!response.ok) {
      let message = "could not be loaded (" + response.status + ")";
      try { message = (await response.json()).error || message; } catch (err) { /* not JSON */ }
      state.textContent = message;
      box.classList.add("log-error");
      box.removeAttribute("aria-busy");
      return;
    }
    const renderer = new F.AnsiRenderer();
    const decoder = new TextDecoder();
    let bytes = 0;
    let carry = ""; // the last, unfinished line: held so no block ends mid-line
    let html = "";
    let lines = 0;
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (!html) return;
      const block = document.createElement("div");
      block.className = "log-chunk";
      // Its height until first laid out (1.5 line height of 12.5px), so scrolling stays true.
      block.style.containIntrinsicSize = "auto " + Math.ceil(Math.max(1, lines) * 18.75) + "px";
      block.innerHTML = html; // built by the renderer: escaped text in styled spans
      box.append(block);
      html = "";
      lines = 0;
    };
    const countLines = (text) => { for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++; };
    const reader = response.body.getReader();
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        state.textContent = "the log stream broke off after " + formatBytes(bytes);
        break;
      }
      if (chunk.done) {
        const rest = carry + decoder.decode();
        countLines(rest + "\n");
        html += renderer.feed(rest, true);
        carry = "";
        state.textContent = formatBytes(bytes);
        break;
      }
      bytes += chunk.value.length;
      const text = carry + decoder.decode(chunk.value, { stream: true });
      const cut = text.lastIndexOf("\n") + 1;
      carry = text.slice(cut);
      countLines(text.slice(0, cut));
      html += renderer.feed(text.slice(0, cut), false);
      state.textContent = "loading… " + formatBytes(bytes);
      if (!scheduled && html) { scheduled = true; requestAnimationFrame(flush); }
    }
    flush();
    if (!bytes) box.append(h("span", { class: "muted" }, "(empty log)"));
    box.removeAttribute("aria-busy");
    box.dataset.loaded = "true";
  }

  // --------------------------------------------------------------------------- trends page

  async function trendsPage() {
    const form = document.getElementById("filters");
    const pairs = formPairs(form, SUMMARY_SKIP).filter(([, v]) => v !== "");
    const query = F.queryOf(pairs);
    const daily = document.getElementById("chart-daily");
    const grid = document.getElementById("chart-pipelines");
    fillSuggestions();
    let days;
    try {
      days = (await getJson("/v1/summary?group_by=day" + (query ? "&" + query : ""))).groups;
    } catch (err) {
      daily.replaceChildren(h("p", { class: "muted" }, "No data."));
      grid.replaceChildren();
      showNotice(err);
      return;
    }
    if (!days.length) {
      daily.replaceChildren(h("p", { class: "muted empty" }, "No runs in this period."));
      grid.replaceChildren(h("p", { class: "muted empty" }, "No pipelines to chart."));
      return;
    }
    const range = [days[0].key, days[days.length - 1].key];
    C.dailyChart(daily, fillDays(days, range), F);
    const totals = days.reduce((acc, d) => {
      acc.total += d.total; acc.failed += (d.failed || 0) + (d.timed_out || 0);
      acc.finished += d.succeeded + d.failed + d.cancelled + d.timed_out; return acc;
    }, { total: 0, failed: 0, finished: 0 });
    daily.append(h("p", { class: "legend" },
      h("span", { class: "key key-ok" }), "succeeded ", h("span", { class: "key key-bad" }), "failed or timed out ",
      h("span", { class: "key key-other" }), "other ", h("span", { class: "key key-rate" }), "failure rate (of finished runs) · ",
      totals.total + " runs, " + F.percent(totals.finished ? totals.failed / totals.finished : null) + " failed"));

    // One chart per pipeline (the busiest first), of its PipelineRuns' durations.
    const own = pairs.filter(([k]) => k !== "pipeline" && k !== "kind");
    const kind = pairs.find(([k]) => k === "kind");
    const pipelineKind = kind ? kind[1] : "PipelineRun";
    let pipelines;
    try {
      const chosen = pairs.find(([k]) => k === "pipeline");
      pipelines = chosen ? [chosen[1]] : (await getJson("/v1/summary?group_by=pipeline&" +
        F.queryOf([...own, ["kind", pipelineKind]]))).groups.map((g) => g.key).filter(Boolean).slice(0, 12);
    } catch (err) {
      showNotice(err);
      return;
    }
    grid.replaceChildren();
    if (!pipelines.length) {
      grid.append(h("p", { class: "muted empty" }, "No pipelines to chart."));
      return;
    }
    const cards = pipelines.map((name) => {
      const box = h("div", { class: "chart" }, h("p", { class: "muted" }, "Loading…"));
      const card = h("section", { class: "card chart-card small", "data-pipeline": name },
        h("h3", {}, h("a", { href: "/?" + F.queryOf([["pipeline", name], ["kind", pipelineKind]]) }, name)), box);
      grid.append(card);
      return [name, box];
    });
    await Promise.all(cards.map(async ([name, box]) => {
      try {
        const groups = (await getJson("/v1/summary?group_by=day&" +
          F.queryOf([...own, ["pipeline", name], ["kind", pipelineKind]]))).groups;
        C.durationChart(box, name, fillDays(groups, range), F);
        box.append(h("p", { class: "legend" }, h("span", { class: "key key-p50" }), "p50 ",
          h("span", { class: "key key-p95" }), "p95"));
      } catch (err) {
        box.replaceChildren(h("p", { class: "muted" }, err.message));
      }
    }));
  }

  /* Days with no runs are absent from the summary; charts show them as zero, not skip them,
     over one range of days [first, last] so that every chart shares its time axis. */
  function fillDays(groups, range) {
    const byKey = new Map(groups.map((g) => [g.key, g]));
    const out = [];
    const first = Date.parse(range[0] + "T00:00:00Z");
    const last = Date.parse(range[1] + "T00:00:00Z");
    if (isNaN(first) || isNaN(last) || (last - first) / 86400000 > 400) return groups;
    for (let t = first; t <= last; t += 86400000) {
      const key = new Date(t).toISOString().slice(0, 10);
      out.push(byKey.get(key) || { key, total: 0, succeeded: 0, failed: 0, cancelled: 0, timed_out: 0,
        running: 0, pending: 0, p50_duration_seconds: null, p95_duration_seconds: null });
    }
    return out;
  }

  const pages = { runs: runsPage, run: runPage, trends: trendsPage };
  const page = pages[document.body.dataset.page];
  cleanSubmit();
  if (page) page();
})();
