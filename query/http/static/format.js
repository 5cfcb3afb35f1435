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

  /* The query string of a form's non-empty fields, in form order. */
  function queryOf(pairs) {
    const params = new URLSearchParams();
    for (const [name, value] of pairs) if (value !== "" && value !== null) params.append(name, value);
    return params.toString();
  }

  const api = {
    statusClass, escapeHtml, humanDuration, shortDuration, parseTime, formatTimestamp,
    relativeTime, percent, AnsiRenderer, ansiToHtml, queryOf,
  };
  root.RunlakeFormat = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
