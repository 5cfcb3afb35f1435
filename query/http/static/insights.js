/* runlake web page: the Insights page and the runs behind one of its numbers. Reads
   /v1/insights/... with the browser's session cookie, so it shows what the visitor's query
   token may see; every number links to /insights/runs, which lists the runs it counted. */
"use strict";

(function () {
  const F = window.RunlakeFormat;
  const C = window.RunlakeCharts;
  // The filters an insight takes; the rest of the filter bar's fields are not sent.
  const FILTERS = new Set(["cluster", "namespace", "pipeline", "task", "label", "since", "until"]);
  const TOP = 15;

  const { getJson, h } = window.RunlakeApi;

  function showNotice(err) {
    const box = document.getElementById("notice");
    box.hidden = false;
    box.className = "notice error";
    box.replaceChildren();
    if (err.status === 401) {
      box.append(h("strong", {}, "Sign in needed. "), err.message + " ", h("a", { href: "/" }, "Sign in again"));
      return;
    }
    const what = err.status === 503 ? "The archive cannot be read right now; retry in a moment."
      : err.status ? "The request failed (" + err.status + ")." : "";
    box.append(h("strong", {}, what + " "), err.message);
    if (err.details.length && err.details[0] !== err.message) {
      box.append(h("ul", {}, err.details.map((d) => h("li", {}, d))));
    }
  }

  /* The filter bar's insight filters (its default time range included), non-empty. */
  function filterPairs() {
    const form = document.getElementById("filters");
    const pairs = [];
    for (const [name, value] of new FormData(form).entries()) {
      if (FILTERS.has(name) && value.trim()) pairs.push([name, value.trim()]);
    }
    return pairs;
  }

  /* `pairs` with the names in `replace` given these values instead (null drops a name). */
  function withPairs(pairs, replace) {
    const out = pairs.filter(([name]) => !(name in replace));
    for (const [name, value] of Object.entries(replace)) {
      if (value !== null && value !== undefined && value !== "") out.push([name, String(value)]);
    }
    return out;
  }

  function behind(insight, pairs, replace) {
    return "/insights/runs?" + F.queryOf([["insight", insight], ...withPairs(pairs, replace)]);
  }

  function link(href, text, title) {
    return h("a", { href, class: "num-link", title: title || null }, text);
  }

  function numberCell(value, href, text) {
    return h("td", { class: "num" }, value === null || value === undefined ? "—" : link(href, text === undefined ? String(value) : text));
  }

  function table(heads, rows) {
    return h("table", { class: "runs compact insight-table" },
      h("thead", {}, h("tr", {}, heads.map(([label, num]) => h("th", { class: num ? "num" : null }, label)))),
      h("tbody", {}, rows));
  }

  function fill(section, content) {
    document.querySelector("#" + section + " .insight-body").replaceChildren(content);
  }

  function empty(text) {
    return h("p", { class: "muted empty" }, text);
  }

  function failed(section, err) {
    fill(section, h("p", { class: "muted" }, err.message));
    showNotice(err);
  }

  async function rowsOf(insight, pairs, extra) {
    const query = F.queryOf([...pairs, ...(extra || [])]);
    return (await getJson("/v1/insights/" + insight + (query ? "?" + query : ""))).rows;
  }

  function taskCell(row, name) {
    return h("td", {}, h("span", { class: "task-name" }, row[name] || "—"),
      h("div", { class: "sub" }, [row.pipeline, row.namespace, row.cluster].filter(Boolean).join(" · ")));
  }

  // ------------------------------------------------------------------------ the sections

  async function flakySection(pairs) {
    let rows;
    try { rows = await rowsOf("flaky", pairs, [["page_size", "50"]]); } catch (err) { return failed("flaky", err); }
    rows = rows.filter((r) => r.failures || r.passed_on_retry || r.flips).slice(0, TOP);
    if (!rows.length) return fill("flaky", empty("No pipeline task failed, passed on retry or flipped in this period."));
    fill("flaky", table(
      [["Pipeline task"], ["Runs", 1], ["Failures", 1], ["Passed on retry", 1], ["Flips", 1], ["Flip rate", 1]],
      rows.map((r) => {
        const keys = { cluster: r.cluster, namespace: r.namespace, pipeline: r.pipeline, pipeline_task: r.pipeline_task };
        const to = (measure) => behind("flaky", pairs, { ...keys, measure });
        return h("tr", { "data-task": r.pipeline_task, "data-pipeline": r.pipeline },
          taskCell(r, "pipeline_task"),
          numberCell(r.runs, to("runs")),
          numberCell(r.failures, to("failures")),
          numberCell(r.passed_on_retry, to("passed_on_retry")),
          numberCell(r.flips, to("flips"), r.flips + " of " + r.inputs),
          numberCell(r.flip_rate, to("flips"), F.percent(r.flip_rate)));
      })));
  }

  async function criticalPathSection(pairs) {
    let rows;
    try { rows = await rowsOf("critical-path", pairs, [["page_size", String(TOP)]]); } catch (err) { return failed("critical-path", err); }
    if (!rows.length) return fill("critical-path", empty("No finished PipelineRun with a task graph in this period."));
    fill("critical-path", table(
      [["Pipeline task"], ["On path", 1], ["Avg", 1], ["Total", 1], ["Share of wall", 1]],
      rows.map((r) => {
        const on = behind("critical-path", pairs, { cluster: r.cluster, namespace: r.namespace, pipeline: r.pipeline, pipeline_task: r.pipeline_task, measure: "on_path" });
        const all = behind("critical-path", pairs, { cluster: r.cluster, namespace: r.namespace, pipeline: r.pipeline });
        return h("tr", { "data-task": r.pipeline_task, "data-pipeline": r.pipeline },
          taskCell(r, "pipeline_task"),
          h("td", { class: "num" }, link(on, String(r.on_path)), " of ", link(all, String(r.pipeline_runs))),
          numberCell(r.avg_seconds, on, F.humanDuration(r.avg_seconds)),
          numberCell(r.path_seconds, on, F.humanDuration(r.path_seconds)),
          numberCell(r.wall_share, on, F.percent(r.wall_share)));
      })));
  }

  async function queueSection(pairs) {
    const chart = document.getElementById("queue-chart");
    let days, namespaces;
    try {
      [days, namespaces] = await Promise.all([
        rowsOf("queue", pairs, [["group_by", "day"], ["kind", "TaskRun"], ["page_size", "400"]]),
        rowsOf("queue", pairs, [["group_by", "namespace"], ["kind", "TaskRun"], ["page_size", String(TOP)]]),
      ]);
    } catch (err) {
      chart.replaceChildren();
      return failed("queue", err);
    }
    if (!days.length) {
      chart.replaceChildren(empty("No TaskRun started in this period."));
      return fill("queue", h("span"));
    }
    C.durationChart(chart, "queue time", days.map((d) => ({
      key: d.key, p50_duration_seconds: d.p50_queued_seconds, p95_duration_seconds: d.p95_queued_seconds,
    })), F);
    chart.append(h("p", { class: "legend" }, h("span", { class: "key key-p50" }), "p50 ",
      h("span", { class: "key key-p95" }), "p95 of TaskRuns' queue time per day"));
    const perNamespace = table(
      [["Namespace"], ["TaskRuns", 1], ["p50", 1], ["p95", 1], ["Longest", 1], ["Pod pending p95", 1]],
      namespaces.map((r) => {
        const to = behind("queue", pairs, { namespace: r.key, kind: "TaskRun" });
        return h("tr", { "data-namespace": r.key },
          h("td", {}, r.key || "—"),
          numberCell(r.runs, to),
          numberCell(r.p50_queued_seconds, to, F.humanDuration(r.p50_queued_seconds)),
          numberCell(r.p95_queued_seconds, to, F.humanDuration(r.p95_queued_seconds)),
          numberCell(r.max_queued_seconds, to, F.humanDuration(r.max_queued_seconds)),
          numberCell(r.p95_pod_pending_seconds, to, F.humanDuration(r.p95_pod_pending_seconds)));
      }));
    const perDay = h("details", { class: "per-day" }, h("summary", {}, "Per day"), table(
      [["Day"], ["TaskRuns", 1], ["p50", 1], ["p95", 1]],
      days.slice().reverse().map((d) => {
        const to = behind("queue", pairs, { since: d.key, until: nextDay(d.key), kind: "TaskRun" });
        return h("tr", { "data-day": d.key }, h("td", {}, d.key), numberCell(d.runs, to),
          numberCell(d.p50_queued_seconds, to, F.humanDuration(d.p50_queued_seconds)),
          numberCell(d.p95_queued_seconds, to, F.humanDuration(d.p95_queued_seconds)));
      })));
    fill("queue", h("div", {}, perNamespace, perDay));
  }

  function nextDay(key, days) {
    const t = Date.parse(key + "T00:00:00Z") + 86400000 * (days || 1);
    return new Date(t).toISOString().slice(0, 10);
  }

  async function usageSection(pairs) {
    const by = document.getElementById("usage-by").value;
    const labelKey = document.getElementById("usage-label").value.trim() || "team";
    document.getElementById("usage-label").hidden = by !== "label";
    const key = by === "label" ? "label:" + labelKey : "namespace";
    let rows;
    try { rows = await rowsOf("usage", pairs, [["group_by", key + ",week"], ["page_size", "200"]]); } catch (err) { return failed("usage", err); }
    if (!rows.length) return fill("usage", empty("No TaskRun in this period."));
    fill("usage", table(
      [[by === "label" ? labelKey : "Namespace"], ["Week of"], ["TaskRuns", 1], ["CI time", 1], ["CPU-hours", 1]],
      rows.map((r) => {
        const scope = by === "label"
          ? { label: r[key] === null ? null : labelKey + "=" + r[key] }
          : { namespace: r.namespace };
        const to = behind("usage", pairs, { ...scope, since: r.week, until: nextDay(r.week, 7) });
        return h("tr", { "data-key": r[key] === null ? "" : r[key], "data-week": r.week },
          h("td", {}, r[key] === null ? h("span", { class: "muted" }, "(none)") : r[key]),
          h("td", {}, r.week),
          numberCell(r.taskruns, to),
          numberCell(r.taskrun_seconds, to, F.humanDuration(r.taskrun_seconds)),
          numberCell(r.cpu_hours, to, r.cpu_hours === null ? "—" : r.cpu_hours.toFixed(2),
            r.taskruns_with_cpu + " of " + r.taskruns + " TaskRuns name their CPU request"));
      })));
  }

  async function stepFailuresSection(pairs) {
    let rows;
    try { rows = await rowsOf("step-failures", pairs, [["page_size", String(TOP)]]); } catch (err) { return failed("step-failures", err); }
    if (!rows.length) return fill("step-failures", empty("No step failed in this period."));
    fill("step-failures", table(
      [["Task · step"], ["Exit code", 1], ["Failures", 1], ["First error line of the newest"], ["Newest"]],
      rows.map((r) => {
        const to = behind("step-failures", pairs, { cluster: r.cluster, namespace: r.namespace, task: r.task, step: r.step, exit_code: r.exit_code });
        return h("tr", { "data-step": r.step, "data-task": r.task || "" },
          h("td", {}, h("span", { class: "task-name" }, (r.task || "—") + " · " + r.step), h("div", { class: "sub" }, r.namespace)),
          numberCell(r.exit_code, to),
          numberCell(r.failures, to),
          h("td", { class: "error-line" }, r.first_error_line ? h("code", {}, r.first_error_line) : h("span", { class: "muted" }, "no stored log")),
          h("td", {}, h("a", { href: "/runs/" + encodeURIComponent(r.newest_uid) }, F.relativeTime(r.newest_at))));
      })));
  }

  async function retriesSection(pairs) {
    let rows;
    try { rows = await rowsOf("retries", pairs, [["page_size", "200"]]); } catch (err) { return failed("retries", err); }
    const runs = new Map();
    for (const r of rows) {
      const run = runs.get(r.uid) || { ...r, tries: [] };
      run.tries.push(r);
      if (r.final) Object.assign(run, { status: r.status, attempts: r.attempts });
      runs.set(r.uid, run);
    }
    if (!runs.size) return fill("retries", empty("No TaskRun was retried in this period."));
    const all = behind("retries", pairs, {});
    fill("retries", h("div", {},
      h("p", {}, link(all, runs.size + (rows.length === 200 ? "+" : "") + " TaskRuns"), " were retried; the newest:"),
      table([["TaskRun"], ["Attempts", 1], ["In the end"]], [...runs.values()].slice(0, TOP).map((r) =>
        h("tr", { "data-uid": r.uid },
          h("td", {}, h("a", { href: "/runs/" + encodeURIComponent(r.uid) }, r.name), h("div", { class: "sub" }, [r.pipeline_task, r.namespace].filter(Boolean).join(" · "))),
          numberCell(r.attempts, "/runs/" + encodeURIComponent(r.uid)),
          h("td", {}, r.status || "—"))))));
  }

  function insightsPage() {
    const pairs = filterPairs();
    flakySection(pairs);
    criticalPathSection(pairs);
    queueSection(pairs);
    usageSection(pairs);
    stepFailuresSection(pairs);
    retriesSection(pairs);
    document.getElementById("usage-by").addEventListener("change", () => usageSection(filterPairs()));
    document.getElementById("usage-form").addEventListener("submit", (e) => { e.preventDefault(); usageSection(filterPairs()); });
  }

  // ------------------------------------------------------------------- the runs behind

  const MEASURES = {
    runs: "TaskRuns", failures: "failed TaskRuns", passed_on_retry: "TaskRuns that passed on retry",
    flips: "TaskRuns of inputs that both failed and passed", on_path: "PipelineRuns with the task on their critical path",
  };

  async function behindPage() {
    const params = new URLSearchParams(window.location.search);
    const insight = params.get("insight") || "";
    params.delete("insight");
    const tbody = document.getElementById("behind-body");
    const described = [...params].filter(([k]) => k !== "page_token" && k !== "measure").map(([k, v]) => k + " " + v);
    document.getElementById("behind-title").textContent = "Runs behind " + insight.replace("-", " ") +
      (params.get("measure") ? ": " + (MEASURES[params.get("measure")] || params.get("measure")) : "");
    document.getElementById("behind-caption").textContent = described.join(" · ");
    const back = new URLSearchParams([...params].filter(([k]) => FILTERS.has(k) && k !== "task"));
    document.getElementById("back-link").href = "/insights" + (back.toString() ? "?" + back.toString() : "");
    let body;
    try {
      body = await getJson("/v1/insights/" + encodeURIComponent(insight) + "/runs?" + params.toString());
    } catch (err) {
      tbody.replaceChildren(h("tr", { class: "placeholder" }, h("td", { colspan: 7 }, "No runs to show.")));
      return showNotice(err);
    }
    if (!body.runs.length) {
      tbody.replaceChildren(h("tr", { class: "placeholder" }, h("td", { colspan: 7 }, "No runs behind this number.")));
    } else {
      const now = Date.now();
      tbody.replaceChildren(...body.runs.map((run) => h("tr", { "data-uid": run.uid, "data-status": run.status },
        h("td", {}, h("span", { class: "status " + F.statusClass(run.status) }, h("span", { class: "dot", "aria-hidden": "true" }), run.status || "Unknown")),
        h("td", { class: "name" }, h("a", { href: "/runs/" + encodeURIComponent(run.uid) }, run.name || run.uid)),
        h("td", {}, run.kind),
        h("td", {}, run.namespace),
        h("td", {}, (run.kind === "PipelineRun" ? run.pipeline : run.pipeline_task || run.task) || "—"),
        h("td", { title: F.formatTimestamp(run.created_at) }, F.relativeTime(run.created_at, now)),
        h("td", { class: "num" }, F.humanDuration(run.duration_seconds)))));
    }
    const pager = document.getElementById("pager");
    pager.replaceChildren();
    if (body.next_page_token) {
      const next = new URLSearchParams(window.location.search);
      next.set("page_token", body.next_page_token);
      pager.append(h("a", { class: "button", href: "?" + next.toString(), id: "next-page", rel: "next" }, "Next page ›"));
    }
  }

  const page = document.body.dataset.page;
  if (page === "insights") insightsPage();
  else if (page === "insight-runs") behindPage();
})();
