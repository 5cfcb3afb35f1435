/* runlake web page: each page's script. Reads the JSON API of this same service with the
   browser's session cookie, so it sees exactly what the visitor's query token may see. */
"use strict";

(function () {
  const F = window.RunlakeFormat;
  const C = window.RunlakeCharts;
  // API parameters the summary endpoint takes (it pages nothing).
  const SUMMARY_SKIP = new Set(["page_size", "page_token"]);

  const { getJson, h } = window.RunlakeApi;

  function statusPill(status) {
    return h("span", { class: "status " + F.statusClass(status) },
      h("span", { class: "dot", "aria-hidden": "true" }), status || "Unknown");
  }

  /* One error, said once: a headline for what happened, then the service's own words only
     where they add something (a 503's cause, the problems of a 400). */
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
    const unreadable = err.status === 503;
    box.append(h("strong", {}, unreadable ? "The archive cannot be read right now; retry in a moment."
      : err.status ? err.message + " (" + err.status + ")" : err.message));
    const details = err.details.filter((d) => d && d !== err.message);
    if (details.length) {
      box.append(details.length === 1 ? h("div", { class: "cause" }, details[0])
        : h("ul", {}, details.map((d) => h("li", {}, d))));
    }
  }

  function formPairs(form, skip) {
    const pairs = [];
    for (const [name, value] of new FormData(form).entries()) {
      if (!(skip && skip.has(name))) pairs.push([name, value.trim()]);
    }
    return pairs;
  }

  /* Suggestions for the cluster, namespace, pipeline and task boxes, from what the token may
     read. */
  async function fillSuggestions() {
    for (const [group, id, kind] of [["cluster", "clusters", ""], ["namespace", "namespaces", ""],
      ["pipeline", "pipelines", "PipelineRun"], ["task", "tasks", "TaskRun"]]) {
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
      // One box takes several labels, `team=web, tier`: the API takes each as its own `label`.
      const pairs = formPairs(form, new Set(["page_token"])).flatMap(([k, v]) =>
        k === "label" ? v.split(",").map((one) => [k, one.trim()]) : [[k, v]]);
      const query = F.queryOf(pairs);
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
          durationCell(run, now));
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

  /* A finished run's duration; an unfinished one's time running, or when it was last seen. */
  function durationCell(run, now) {
    const progress = F.runProgress(run, now);
    const title = progress.state === "done" ? (run.duration_seconds === null ? "" : run.duration_seconds + " s")
      : "last seen " + F.formatTimestamp(run.received_at);
    return h("td", { class: "num", title, "data-progress": progress.state },
      progress.state === "done" ? progress.text : h("span", { class: "muted" }, progress.text));
  }

  // ------------------------------------------------------------------------------ run page

  function field(label, value) {
    return h("div", { class: "fact" }, h("dt", {}, label),
      h("dd", {}, value === null || value === undefined || value === "" ? "—" : value));
  }

  function runLink(uid, keep) {
    return "/runs/" + encodeURIComponent(uid) + (keep ? "?" + keep : "");
  }

  function failingStep(run) {
    return (run.steps || []).find((s) => s.exit_code !== null && s.exit_code !== undefined && s.exit_code !== 0);
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
    const now = Date.now();

    root.append(h("div", { class: "run-head" },
      h("div", {}, h("p", { class: "eyebrow" }, run.kind + " · " + run.cluster + " / " + run.namespace),
        h("h1", {}, run.name)),
      statusPill(run.status)));
    root.append(summaryCard(run, obj, now));
    if (run.kind === "PipelineRun") {
      root.append(taskRunTimeline(run, now));
      root.append(tasksSection(run, keep));
    } else if (run.kind === "TaskRun") {
      root.append(stepsTable(run));
      root.append(logsSection(run, failingStep(run)));
    }
    for (const section of [paramsCard(obj), resultsCard(obj), workspacesCard(obj), attemptsCard(obj),
      pairsCard("Labels", "labels", (obj.metadata || {}).labels || run.labels),
      pairsCard("Annotations", "annotations", (obj.metadata || {}).annotations || run.annotations),
      yamlCard(run)]) {
      if (section) root.append(section);
    }
  }

  /* What a Tekton user looks for first: status, where it ran, what it built, how long. */
  function summaryCard(run, obj, now) {
    const spec = obj.spec || {}, status = obj.status || {};
    const source = F.source(obj);
    const progress = F.runProgress(run, now);
    const retries = (status.retriesStatus || []).length;
    const timeout = spec.timeout || (spec.timeouts || {}).pipeline;
    const serviceAccount = spec.serviceAccountName || (spec.taskRunTemplate || {}).serviceAccountName;
    const details = h("dl", { class: "facts", id: "facts" },
      field("Status", run.reason && run.reason !== run.status ? run.status + " (" + run.reason + ")" : run.status),
      field("Cluster", run.cluster),
      field("Pipeline", run.pipeline),
      run.kind === "PipelineRun" ? null : field("Task", run.task || run.pipeline_task),
      run.kind === "PipelineRun" ? null : field("PipelineRun", run.pipeline_run),
      source.revision ? field("Revision", h("code", {}, source.revision)) : null,
      source.branch ? field("Branch", source.branch) : null,
      source.author ? field("Author", source.author) : null,
      field("Created", F.formatTimestamp(run.created_at)),
      field("Started", F.formatTimestamp(run.started_at)),
      field("Completed", F.formatTimestamp(run.completed_at)),
      field("Duration", progress.text),
      progress.state === "done" ? null : field("Last seen", F.formatTimestamp(run.received_at)),
      run.kind === "TaskRun" ? field("Pod", status.podName ? h("code", {}, status.podName) : null) : null,
      run.kind === "TaskRun" ? field("Retries", retries ? retries + " of " + (spec.retries || retries) : (spec.retries ? "0 of " + spec.retries : "none")) : null,
      serviceAccount ? field("Service account", serviceAccount) : null,
      timeout ? field("Timeout", timeout) : null,
      field("UID", h("code", {}, run.uid)));
    return h("section", { class: "card" }, details,
      run.message ? h("p", { class: "message " + F.messageTone(run.status), "data-tone": F.messageTone(run.status) }, run.message) : null);
  }

  function namedTable(id, title, headers, rows) {
    return h("section", { class: "card", id },
      h("h2", {}, title),
      h("table", { class: "runs compact kv" },
        h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
        h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c, n) =>
          h("td", { class: n === 0 ? "key" : "value" }, c)))))));
  }

  function paramsCard(obj) {
    const params = F.params(obj);
    return params.length ? namedTable("params", "Params", ["Name", "Value"],
      params.map((p) => [p.name, h("code", {}, p.value)])) : null;
  }

  function resultsCard(obj) {
    const results = F.results(obj);
    return results.length ? namedTable("results", "Results", ["Name", "Value"],
      results.map((r) => [r.name, h("code", {}, r.value)])) : null;
  }

  function workspacesCard(obj) {
    const workspaces = F.workspaces(obj);
    return workspaces.length ? namedTable("workspaces", "Workspaces", ["Name", "Backed by", "Sub-path"],
      workspaces.map((w) => [w.name, w.source || "—", w.subPath || "—"])) : null;
  }

  /* A TaskRun's attempts: Tekton keeps each failed one in status.retriesStatus. */
  function attemptsCard(obj) {
    const attempts = F.attempts(obj);
    return attempts.length ? namedTable("retries", "Attempts", ["#", "Outcome", "Pod", "Started", "Duration"],
      attempts.map((a) => [String(a.attempt + 1), a.reason || "—", a.podName ? h("code", {}, a.podName) : "—",
        F.formatTimestamp(a.started),
        F.humanDuration(a.started && a.completed ? (F.parseTime(a.completed) - F.parseTime(a.started)) / 1000 : null)])) : null;
  }

  function pairsCard(title, id, mapping) {
    const pairs = Object.entries(mapping || {});
    if (!pairs.length) return null;
    return h("section", { class: "card", id },
      h("h2", {}, title),
      h("ul", { class: "labels" }, pairs.sort().map(([k, v]) =>
        h("li", {}, h("span", { class: "k" }, k), h("span", { class: "v" }, v)))));
  }

  /* The whole object, as `kubectl get -o yaml` would print it, with a copy button. */
  function yamlCard(run) {
    if (!run.object) return null;
    const text = F.toYaml(run.object);
    const pre = h("pre", { class: "yaml", id: "yaml-text" }, text);
    const copy = h("button", { type: "button", class: "copy", id: "copy-yaml" }, "Copy YAML");
    copy.addEventListener("click", async (event) => {
      event.preventDefault();
      copy.textContent = (await copyText(text, pre)) ? "Copied" : "Select and copy (Ctrl+C)";
      setTimeout(() => { copy.textContent = "Copy YAML"; }, 2500);
    });
    const download = h("a", { class: "button", download: run.name + ".yaml",
      href: "data:text/yaml;charset=utf-8," + encodeURIComponent(text) }, "Download");
    return h("section", { class: "card", id: "yaml" },
      h("details", { class: "yaml-box" },
        h("summary", {}, h("h2", {}, "YAML"), h("span", { class: "muted" }, "the whole object as archived")),
        h("div", { class: "toolbar" }, copy, download), pre));
  }

  async function copyText(text, node) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) { /* no clipboard permission (plain http, an older browser): select instead */ }
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (err) { return false; }
  }

  function taskRunTimeline(run, now) {
    const section = h("section", { class: "card" }, h("h2", {}, "Timeline"));
    const children = run.steps || [];
    if (!children.length) {
      section.append(h("p", { class: "muted" }, "No TaskRuns of this PipelineRun are archived."));
      return section;
    }
    // Bars of unfinished TaskRuns end where the run is last known, not years later.
    const until = F.knownUntil(run, now);
    const starts = children.map((c) => F.parseTime(c.started_at)).filter((t) => t !== null);
    const origin = Math.min(F.parseTime(run.started_at) || Infinity, ...starts);
    const ends = children.map((c) => F.parseTime(c.completed_at) || (c.started_at ? until : null)).filter((t) => t !== null);
    const finish = Math.max(F.parseTime(run.completed_at) || 0, ...ends, origin + 1000);
    const rows = children.map((c) => ({
      label: c.pipeline_task || c.name, status: c.status,
      start: F.parseTime(c.started_at), end: F.parseTime(c.completed_at),
      duration: c.duration_seconds, href: "#task-" + c.uid,
    }));
    const chart = h("div", { class: "timeline", id: "timeline" });
    section.append(chart);
    if (isFinite(origin)) C.timeline(chart, rows, origin, finish, F);
    return section;
  }

  /* The PipelineRun's TaskRuns, each with its steps and their logs, as the Dashboard shows
     them: task, then step, then log. The failed TaskRun opens by itself, with its failing
     step's log; the others load when opened. */
  function tasksSection(run, keep) {
    const section = h("section", { class: "card", id: "tasks" }, h("h2", {}, "Tasks"));
    const children = run.steps || [];
    if (!children.length) {
      section.append(h("p", { class: "muted" }, "No TaskRuns of this PipelineRun are archived."));
      return section;
    }
    const failed = children.find((c) => c.status === "Failed" || c.status === "TimedOut");
    const now = Date.now();
    for (const child of children) {
      const body = h("div", { class: "task-body" });
      const box = h("details", { class: "task-box", id: "task-" + child.uid, "data-uid": child.uid,
        "data-task": child.pipeline_task || child.name, "data-status": child.status },
        h("summary", {}, statusPill(child.status),
          h("span", { class: "task-name" }, child.pipeline_task || child.name),
          h("a", { class: "taskrun-link", href: runLink(child.uid, keep) }, child.name),
          h("span", { class: "muted log-state" }, F.runProgress(child, now).text)),
        body);
      let loaded = false;
      box.addEventListener("toggle", () => {
        if (!box.open || loaded) return;
        loaded = true;
        loadTask(child, body);
      });
      if (child === failed) box.open = true;
      section.append(box);
    }
    return section;
  }

  async function loadTask(child, body) {
    if (child.kind !== "TaskRun") {
      body.append(h("p", { class: "muted" }, child.kind + ": it has no steps."));
      return;
    }
    body.append(h("p", { class: "muted" }, "Loading…"));
    let taskRun;
    try {
      taskRun = await getJson("/v1/runs/" + encodeURIComponent(child.uid));
    } catch (err) {
      body.replaceChildren(h("p", { class: "muted" }, err.message));
      return;
    }
    const message = taskRun.message && taskRun.status !== "Succeeded"
      ? h("p", { class: "message " + F.messageTone(taskRun.status) }, taskRun.message) : null;
    body.replaceChildren(...[message, stepsTable(taskRun, true), logsSection(taskRun, failingStep(taskRun), true)]
      .filter(Boolean));
  }

  function stepsTable(run, nested) {
    const section = h(nested ? "div" : "section", { class: nested ? "steps-part" : "card" },
      h(nested ? "h3" : "h2", {}, "Steps"));
    const steps = run.steps || [];
    if (!steps.length) {
      section.append(h("p", { class: "muted" }, "This TaskRun lists no steps."));
      return section;
    }
    section.append(h("table", { class: "runs compact steps", "data-uid": run.uid },
      h("thead", {}, h("tr", {}, ["Step", "Exit code", "Reason", "Started", "Duration"].map((t) => h("th", { class: t === "Exit code" || t === "Duration" ? "num" : null }, t)))),
      h("tbody", {}, steps.map((s) => {
        const code = s.exit_code;
        const cls = code === null || code === undefined ? "" : code === 0 ? "exit-ok" : "exit-bad";
        return h("tr", { "data-step": s.step },
          h("td", {}, h("a", { href: "#" + logId(run.uid, s.step) }, s.step)),
          h("td", { class: "num " + cls }, code === null || code === undefined ? "—" : String(code)),
          h("td", {}, s.reason || "—"),
          h("td", {}, F.formatTimestamp(s.started_at)),
          h("td", { class: "num" }, F.humanDuration(s.duration_seconds)));
      }))));
    return section;
  }

  function logId(uid, step) {
    return "log-" + uid + "-" + step;
  }

  function logsSection(run, failedStep, nested) {
    const section = h(nested ? "div" : "section", { class: nested ? "logs-part" : "card" },
      h(nested ? "h3" : "h2", {}, "Logs"));
    const stored = new Map((run.logs || []).map((l) => [l.step, l]));
    const names = (run.steps || []).map((s) => s.step);
    for (const log of run.logs || []) if (!names.includes(log.step)) names.push(log.step);
    if (!names.length) {
      section.append(h("p", { class: "muted" }, "No step logs."));
      return section;
    }
    const opened = failedStep ? failedStep.step : names[names.length - 1];
    for (const step of names) section.append(logBox(run, step, stored.get(step), step === opened));
    return section;
  }

  /* One step's log: opened, it streams in with line numbers, and a toolbar searches it,
     toggles wrapping and links the raw text (to open or to download). */
  function logBox(run, step, log, open) {
    const size = log ? (log.size_bytes !== undefined ? log.size_bytes : log.stored_bytes) : null;
    const available = Boolean(log) && log.available !== false;
    const pre = h("div", { class: "log", role: "log", "data-step": step });
    const state = h("span", { class: "muted log-state" }, available ? (size !== null ? formatBytes(size) + (log.size_bytes === undefined ? " compressed" : "") : "") : "not stored");
    const box = h("details", { class: "log-box", id: logId(run.uid, step), "data-step": step, "data-uid": run.uid },
      h("summary", {}, h("span", { class: "step-name" }, step), state));
    if (!available) {
      box.append(h("p", { class: "muted" }, "This step's log was never stored (its pod may have been gone)."));
      return box;
    }
    const raw = "/v1/runs/" + encodeURIComponent(run.uid) + "/logs?step=" + encodeURIComponent(step);
    box.append(logToolbar(pre, raw, run.name + "-" + step + ".log"), pre);
    let loaded = false;
    box.addEventListener("toggle", () => {
      if (box.open && !loaded) {
        loaded = true;
        streamLog(raw, pre, state);
      }
    });
    if (open) box.open = true;
    return box;
  }

  function logToolbar(pre, raw, filename) {
    const search = h("input", { type: "search", class: "log-search", placeholder: "Search this log", "aria-label": "Search this log" });
    const count = h("span", { class: "muted log-count", "aria-live": "polite" });
    const prev = h("button", { type: "button", class: "small", title: "Previous match (Shift+Enter)" }, "↑");
    const next = h("button", { type: "button", class: "small", title: "Next match (Enter)" }, "↓");
    const wrap = h("input", { type: "checkbox", class: "log-wrap", checked: "checked" });
    wrap.addEventListener("change", () => pre.classList.toggle("nowrap", !wrap.checked));
    const finder = logSearch(pre, count);
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => finder.find(search.value), 150);
    });
    search.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      clearTimeout(timer);
      if (finder.query() !== search.value) finder.find(search.value);
      else finder.step(event.shiftKey ? -1 : 1);
    });
    prev.addEventListener("click", () => finder.step(-1));
    next.addEventListener("click", () => finder.step(1));
    pre.addEventListener("log-loaded", () => { if (search.value) finder.find(search.value); });
    return h("div", { class: "toolbar log-toolbar" }, search, prev, next, count,
      h("label", { class: "check" }, wrap, "Wrap lines"),
      h("a", { class: "button small", href: raw, target: "_blank", rel: "noopener" }, "Raw"),
      h("a", { class: "button small", href: raw, download: filename }, "Download"));
  }

  /* Finds the lines of a log holding a text (any case), marks them and steps through them. */
  function logSearch(pre, count) {
    let hits = [], at = -1, query = "";
    const show = () => {
      pre.querySelectorAll(".line.current").forEach((l) => l.classList.remove("current"));
      if (!hits.length) return;
      const line = hits[at];
      line.classList.add("current");
      line.scrollIntoView({ block: "center" });
      count.textContent = (at + 1) + " of " + hits.length;
    };
    return {
      query: () => query,
      find(text) {
        query = text;
        pre.querySelectorAll(".line.hit").forEach((l) => l.classList.remove("hit", "current"));
        hits = [];
        at = -1;
        const needle = text.trim().toLowerCase();
        if (!needle) { count.textContent = ""; return; }
        for (const line of pre.querySelectorAll(".line")) {
          if (line.textContent.toLowerCase().includes(needle)) { line.classList.add("hit"); hits.push(line); }
        }
        if (!hits.length) { count.textContent = "no match"; return; }
        at = 0;
        show();
      },
      step(by) {
        if (!hits.length) return;
        at = (at + by + hits.length) % hits.length;
        show();
      },
    };
  }

  function formatBytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }

  /* Streams one step's log into `box`, rendering ANSI colours as it arrives: a long log shows
     its first lines at once and grows as the rest is read. Each line is an element numbered
     by its data-n (the number is drawn by CSS, so it is never copied with the text); each
     batch of whole lines becomes its own block, which the browser lays out once (and skips
     while off screen), so a log of many megabytes does not re-lay out everything read so far
     at every batch. */
  async function streamLog(url, box, state) {
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
    let lines = 0; // lines in `html`, not yet in a block
    let numbered = 0; // lines numbered so far
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
    const addLines = (text, final) => {
      const parts = text.split("\n");
      const last = parts.pop(); // after the last newline: "" unless the text ends mid-line
      for (const part of parts) {
        numbered++;
        lines++;
        html += '<div class="line" data-n="' + numbered + '">' + renderer.feed(part, false) + "\n</div>";
      }
      if (final && last) {
        numbered++;
        lines++;
        html += '<div class="line" data-n="' + numbered + '">' + renderer.feed(last, true) + "</div>";
      }
    };
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
        addLines(carry + decoder.decode(), true);
        carry = "";
        state.textContent = formatBytes(bytes) + " · " + numbered + " line" + (numbered === 1 ? "" : "s");
        break;
      }
      bytes += chunk.value.length;
      const text = carry + decoder.decode(chunk.value, { stream: true });
      const cut = text.lastIndexOf("\n") + 1;
      carry = text.slice(cut);
      addLines(text.slice(0, cut), false);
      state.textContent = "loading… " + formatBytes(bytes);
      if (!scheduled && html) { scheduled = true; requestAnimationFrame(flush); }
    }
    flush();
    if (!bytes) box.append(h("span", { class: "muted" }, "(empty log)"));
    box.removeAttribute("aria-busy");
    box.dataset.loaded = "true";
    box.dispatchEvent(new Event("log-loaded"));
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
    // A bar, a part of it or a point opens the runs it counts: this page's filters, that day.
    const runsOf = (key, extra) => {
      const day = F.dayRange(key);
      const kept = pairs.filter(([k]) => k !== "since" && k !== "until" && !extra.some(([e]) => e === k));
      return day ? "/?" + F.queryOf([...kept, ...extra, ["since", day[0]], ["until", day[1]]]) : null;
    };
    C.dailyChart(daily, fillDays(days, range), F,
      (key, statuses) => runsOf(key, (statuses || []).map((s) => ["status", s])));
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
        C.durationChart(box, name, fillDays(groups, range), F,
          (key) => runsOf(key, [["pipeline", name], ["kind", pipelineKind]]));
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
