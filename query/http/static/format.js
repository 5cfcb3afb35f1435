/* runlake web page: pure helpers (no DOM, no network), shared by the pages and tested under
   node by tests/query/http/test_web.py. */
"use strict";

(function (root) {
  const STATUS_CLASS = {
    Succeeded: "ok", Failed: "bad", TimedOut: "bad", Cancelled: "warn",
    Running: "run", Pending: "idle",
  };

  function statusClass(status) {
    return "status-" + (STATUS_CLASS[status] || "idle");
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  /* 0.4 -> "400 ms", 42 -> "42s", 185 -> "3m 05s", 3725 -> "1h 02m", 180000 -> "2d 02h". */
  function humanDuration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
    if (seconds < 0) seconds = 0;
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 60) return (seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)) + "s";
    const pad = (n) => String(n).padStart(2, "0");
    const s = Math.round(seconds);
    if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor(s % 3600 / 60)) + "m";
    return Math.floor(s / 86400) + "d " + pad(Math.floor(s % 86400 / 3600)) + "h";
  }

  /* A short axis label: 90 -> "1.5m", 7200 -> "2h". */
  function shortDuration(seconds) {
    if (seconds === 0) return "0";
    if (seconds < 60) return Math.round(seconds) + "s";
    if (seconds < 3600) return +(seconds / 60).toFixed(1) + "m";
    if (seconds < 86400) return +(seconds / 3600).toFixed(1) + "h";
    return +(seconds / 86400).toFixed(1) + "d";
  }

  function parseTime(value) {
    if (!value) return null;
    const t = Date.parse(value);
    return isNaN(t) ? null : t;
  }

  /* "2026-11-25 21:10:03 UTC": one unambiguous zone for a team spread over several. */
  function formatTimestamp(value) {
    const t = parseTime(value);
    if (t === null) return "—";
    return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "").replace("Z", "")
      + " UTC";
  }

  function relativeTime(value, now) {
    const t = parseTime(value);
    if (t === null) return "—";
    const diff = Math.max(0, ((now === undefined ? Date.now() : now) - t) / 1000);
    if (diff < 45) return "just now";
    if (diff < 3600) return Math.round(diff / 60) + " min ago";
    if (diff < 86400) return Math.round(diff / 3600) + " h ago";
    if (diff < 86400 * 45) return Math.round(diff / 86400) + " d ago";
    return formatTimestamp(value).slice(0, 10);
  }

  function percent(fraction) {
    if (fraction === null || fraction === undefined || !isFinite(fraction)) return "—";
    return (fraction * 100).toFixed(fraction > 0 && fraction < 0.1 ? 1 : 0) + "%";
  }

  /* ANSI SGR -> HTML spans. Feed text in chunks as it arrives: an escape sequence cut by a
     chunk boundary is held until the next chunk, and the colour state carries over. Every
     piece of text is HTML-escaped; only class names and computed rgb() values are emitted. */
  const ESC = "\u001b";
  const PALETTE_16 = [
    [0, 0, 0], [205, 49, 49], [13, 188, 121], [229, 229, 16], [36, 114, 200], [188, 63, 188],
    [17, 168, 205], [229, 229, 229], [102, 102, 102], [241, 76, 76], [35, 209, 139],
    [245, 245, 67], [59, 142, 234], [214, 112, 214], [41, 184, 219], [255, 255, 255],
  ];

  function color256(n) {
    if (n < 16) return PALETTE_16[n];
    if (n < 232) {
      n -= 16;
      const level = (v) => (v === 0 ? 0 : 55 + v * 40);
      return [level(Math.floor(n / 36)), level(Math.floor(n / 6) % 6), level(n % 6)];
    }
    const g = 8 + (n - 232) * 10;
    return [g, g, g];
  }

  class AnsiRenderer {
    constructor() {
      this.pending = "";
      this.reset();
    }

    reset() {
      this.fg = null; this.bg = null;
      this.bold = false; this.dim = false; this.italic = false; this.underline = false;
      this.inverse = false;
    }

    style() {
      let fg = this.fg, bg = this.bg;
      if (this.inverse) [fg, bg] = [bg || [229, 229, 229], fg || [30, 30, 30]];
      const parts = [];
      if (fg) parts.push("color:rgb(" + fg.join(",") + ")");
      if (bg) parts.push("background-color:rgb(" + bg.join(",") + ")");
      if (this.bold) parts.push("font-weight:bold");
      if (this.dim) parts.push("opacity:0.7");
      if (this.italic) parts.push("font-style:italic");
      if (this.underline) parts.push("text-decoration:underline");
      return parts.join(";");
    }

    applySgr(params) {
      const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => parseInt(p || "0", 10));
      for (let i = 0; i < codes.length; i++) {
        const c = codes[i];
        if (c === 0) this.reset();
        else if (c === 1) this.bold = true;
        else if (c === 2) this.dim = true;
        else if (c === 3) this.italic = true;
        else if (c === 4) this.underline = true;
        else if (c === 7) this.inverse = true;
        else if (c === 22) { this.bold = false; this.dim = false; }
        else if (c === 23) this.italic = false;
        else if (c === 24) this.underline = false;
        else if (c === 27) this.inverse = false;
        else if (c >= 30 && c <= 37) this.fg = PALETTE_16[c - 30];
        else if (c >= 90 && c <= 97) this.fg = PALETTE_16[c - 90 + 8];
        else if (c === 39) this.fg = null;
        else if (c >= 40 && c <= 47) this.bg = PALETTE_16[c - 40];
        else if (c >= 100 && c <= 107) this.bg = PALETTE_16[c - 100 + 8];
        else if (c === 49) this.bg = null;
        else if (c === 38 || c === 48) {
          let rgb = null;
          if (codes[i + 1] === 5 && i + 2 < codes.length) {
            rgb = color256(Math.min(255, Math.max(0, codes[i + 2] | 0)));
            i += 2;
          } else if (codes[i + 1] === 2 && i + 4 < codes.length) {
            rgb = codes.slice(i + 2, i + 5).map((v) => Math.min(255, Math.max(0, v | 0)));
            i += 4;
          }
          if (rgb) { if (c === 38) this.fg = rgb; else this.bg = rgb; }
        }
      }
    }

    span(text) {
      if (!text) return "";
      const style = this.style();
      const html = escapeHtml(text);
      return style ? '<span style="' + style + '">' + html + "</span>" : html;
    }

    /* Returns the HTML for `text` (a chunk); call with final=true after the last chunk. */
    feed(text, final) {
      let input = this.pending + (text || "");
      this.pending = "";
      let out = "";
      let i = 0;
      while (i < input.length) {
        const esc = input.indexOf(ESC, i);
        if (esc < 0) { out += this.span(input.slice(i)); break; }
        out += this.span(input.slice(i, esc));
        const rest = input.slice(esc);
        // CSI: ESC [ params intermediates final-byte; only SGR ("m") changes the look.
        let m = /^\u001b\[([0-9;:?]*)[ -\/]*([@-~])/.exec(rest);
        if (m) {
          if (m[2] === "m") this.applySgr(m[1]);
          i = esc + m[0].length;
          continue;
        }
        // OSC (titles, hyperlinks): ESC ] ... BEL or ESC \ ; dropped.
        m = /^\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)/.exec(rest);
        if (m) { i = esc + m[0].length; continue; }
        if (!final && rest.length < 64 && /^\u001b(\[[0-9;:?]*[ -\/]*|\][^\u0007]*)?$/.test(rest)) {
          this.pending = rest; // cut by the chunk boundary: wait for the rest
          break;
        }
        i = esc + (rest.length > 1 && rest[1] !== "[" && rest[1] !== "]" ? 2 : 1);
      }
      return out;
    }
  }

  function ansiToHtml(text) {
    return new AnsiRenderer().feed(text, true);
  }

  /* What a run's duration says. A run not heard of for longer than Tekton's default timeout
     (1h) may have ended long ago without its last event reaching the archive: it shows when it
     was last seen (its latest snapshot's receipt), never running for ever longer. A run not
     running yet shows nothing. runlake/cli/human.py writes the same for the CLI. */
  const STALE_AFTER_MS = 3600 * 1000;
  const FINISHED = new Set(["Succeeded", "Failed", "Cancelled", "TimedOut"]);

  function runProgress(run, now) {
    now = now === undefined ? Date.now() : now;
    const duration = run.duration_seconds;
    if (FINISHED.has(run.status) || (duration !== null && duration !== undefined)) {
      return { text: humanDuration(duration), state: "done" };
    }
    const seen = parseTime(run.received_at);
    if (seen !== null && now - seen > STALE_AFTER_MS) {
      return { text: "last seen " + relativeTime(run.received_at, now), state: "stale" };
    }
    const started = parseTime(run.started_at);
    if (run.status !== "Running" || started === null) return { text: "—", state: "waiting" };
    return { text: "running " + humanDuration((now - started) / 1000), state: "running" };
  }

  /* Until when an unfinished run is known: now, or its last snapshot once it went quiet. */
  function knownUntil(run, now) {
    now = now === undefined ? Date.now() : now;
    const seen = parseTime(run.received_at);
    return seen !== null && now - seen > STALE_AFTER_MS ? seen : now;
  }

  /* How a condition message reads: an error only when the run failed; a pending or running
     run's message ("Not all Steps ... have finished", "pod status ...") is information. */
  function messageTone(status) {
    return status === "Failed" || status === "TimedOut" ? "bad" : status === "Cancelled" ? "warn" : "info";
  }

  /* The day [key, next day) as the runs page's since/until (UTC dates, as summary keys are). */
  function dayRange(key) {
    const start = Date.parse(key + "T00:00:00Z");
    if (isNaN(start)) return null;
    return [key, new Date(start + 86400000).toISOString().slice(0, 10)];
  }

  // ---------------------------------------------------------- what a Tekton object holds

  /* Param and result values are strings, arrays or objects (Tekton's ParamValue). */
  function paramText(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function params(obj) {
    const spec = (obj && obj.spec) || {};
    return (spec.params || []).map((p) => ({ name: p.name, value: paramText(p.value) }));
  }

  /* v1 `results`, v1beta1 `taskResults` (TaskRun) and `pipelineResults` (PipelineRun). */
  function results(obj) {
    const status = (obj && obj.status) || {};
    const list = status.results || status.taskResults || status.pipelineResults || [];
    return list.map((r) => ({ name: r.name, value: paramText(r.value) }));
  }

  /* Each workspace and what backs it, as `kubectl describe` would name the volume. */
  function workspaces(obj) {
    const spec = (obj && obj.spec) || {};
    return (spec.workspaces || []).map((w) => {
      let source = "";
      if (w.persistentVolumeClaim) source = "PersistentVolumeClaim " + (w.persistentVolumeClaim.claimName || "");
      else if (w.volumeClaimTemplate) {
        const claim = w.volumeClaimTemplate.spec || {};
        const size = ((claim.resources || {}).requests || {}).storage;
        source = "volumeClaimTemplate" + (size ? " " + size : "") +
          (claim.accessModes ? " " + claim.accessModes.join(",") : "");
      } else if (w.emptyDir) source = "emptyDir";
      else if (w.configMap) source = "ConfigMap " + (w.configMap.name || "");
      else if (w.secret) source = "Secret " + (w.secret.secretName || "");
      else if (w.csi) source = "CSI " + (w.csi.driver || "");
      else if (w.projected) source = "projected";
      return { name: w.name, source: source.trim(), subPath: w.subPath || "" };
    });
  }

  function succeededCondition(status) {
    return ((status && status.conditions) || []).find((c) => c.type === "Succeeded") || {};
  }

  /* A TaskRun's earlier attempts (status.retriesStatus), then the last one: what Tekton did
     when the task failed and `retries` allowed another try. */
  function attempts(obj) {
    const status = (obj && obj.status) || {};
    const earlier = status.retriesStatus || [];
    if (!earlier.length) return [];
    return [...earlier, status].map((s, n) => {
      const c = succeededCondition(s);
      return { attempt: n, reason: c.reason || c.status || "", podName: s.podName || "",
        started: s.startTime || null, completed: s.completionTime || null, message: c.message || "" };
    });
  }

  /* Where a run's source came from, from the params and annotations CI systems set:
     Pipelines-as-Code (`pipelinesascode.tekton.dev/sha`, `/sender`, `/branch`), Tekton
     catalog params (`revision`, `git-revision`, `commit`), and any `*author` annotation. */
  const REVISION_KEY = /(^|[/_-])(sha|commit(-sha|_sha)?|revision)$/i;
  const AUTHOR_KEY = /(^|[/_-])(sender|author)$/i;
  const BRANCH_KEY = /(^|[/_-])(branch|source-branch)$/i;

  function source(obj) {
    const annotations = ((obj && obj.metadata) || {}).annotations || {};
    const pairs = [...Object.entries(annotations), ...params(obj).map((p) => [p.name, p.value])];
    const pick = (pattern) => {
      const found = pairs.find(([k, v]) => pattern.test(k) && v && !/url$/i.test(k));
      return found ? found[1] : null;
    };
    return { revision: pick(REVISION_KEY), author: pick(AUTHOR_KEY), branch: pick(BRANCH_KEY) };
  }

  // ------------------------------------------------------------------------------ YAML

  const YAML_PLAIN = /^[A-Za-z_/][\w\-./@]*( [\w\-./@]+)*$/;
  const YAML_SPECIAL = /^(y|n|yes|no|true|false|on|off|null|~)$/i;

  function yamlScalar(value) {
    if (value === null || value === undefined) return "null";
    if (typeof value === "boolean" || typeof value === "number") return String(value);
    const text = String(value);
    if (YAML_PLAIN.test(text) && !YAML_SPECIAL.test(text) && !/:$/.test(text)) return text;
    // A JSON string is a YAML double-quoted scalar, once the characters YAML reads as line
    // breaks or refuses (C1 controls) are escaped too.
    return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  }

  function yamlBlock(text, indent) {
    // A literal block (|) keeps a script readable; its indicator says how its end reads.
    const trailing = text.match(/\n*$/)[0].length;
    const chomp = trailing === 0 ? "|-" : trailing === 1 ? "|" : "|+";
    const body = text.slice(0, text.length - trailing).split("\n")
      .concat(trailing > 1 ? Array(trailing - 1).fill("") : []);
    return chomp + "\n" + body.map((line) => (line ? indent + line : "")).join("\n");
  }

  function blockable(text) {
    return text.includes("\n") && !/^[ \n]/.test(text) && !/[\t\r]/.test(text) &&
      !/ \n|[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(text);
  }

  function yamlNode(value, indent) {
    const next = indent + "  ";
    const item = (v) => {
      if (Array.isArray(v)) return v.length ? "\n" + yamlNode(v, next) : " []";
      if (v !== null && typeof v === "object") return Object.keys(v).length ? "\n" + yamlNode(v, next) : " {}";
      if (typeof v === "string" && blockable(v)) return " " + yamlBlock(v, next);
      return " " + yamlScalar(v);
    };
    if (Array.isArray(value)) {
      return value.map((v) => {
        if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) {
          return indent + "- " + yamlNode(v, next).slice(next.length);
        }
        return indent + "-" + item(v);
      }).join("\n");
    }
    if (value !== null && typeof value === "object") {
      return Object.entries(value).map(([k, v]) => indent + yamlScalar(k) + ":" + item(v)).join("\n");
    }
    return indent + yamlScalar(value);
  }

  /* A Kubernetes object as YAML, the way `kubectl get -o yaml` shows it: keys in their order,
     scripts as literal blocks, everything else plain or double-quoted so that it reads back as
     the same JSON. */
  function toYaml(value) {
    return yamlNode(value, "") + "\n";
  }

  /* The query string of a form's non-empty fields, in form order. */
  function queryOf(pairs) {
    const params = new URLSearchParams();
    for (const [name, value] of pairs) if (value !== "" && value !== null) params.append(name, value);
    return params.toString();
  }

  const api = {
    statusClass, escapeHtml, humanDuration, shortDuration, parseTime, formatTimestamp,
    relativeTime, percent, AnsiRenderer, ansiToHtml, queryOf, runProgress, knownUntil,
    messageTone, dayRange, params, results, workspaces, attempts, source, toYaml,
  };
  root.RunlakeFormat = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
