"""What the watcher tells its operators: Prometheus counters, `/healthz`, and one JSON line per
action on stderr."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

# name -> (type, help); counters carry labels, gauges are read from callables at scrape time.
_HELP = {
    "runlake_watch_events_total": ("counter", "Objects seen in lists and watch events."),
    "runlake_watch_snapshots_sent_total": ("counter", "Snapshots acknowledged by the sink."),
    "runlake_watch_snapshots_rejected_total": ("counter", "Snapshots the sink refused (4xx)."),
    "runlake_watch_retries_total": ("counter", "Retried requests, by what was retried."),
    "runlake_watch_logs_archived_total": ("counter", "Step logs acknowledged by the sink."),
    "runlake_watch_logs_unavailable_total": ("counter", "Step logs that could not be read."),
    "runlake_watch_runs_archived_total": ("counter", "Runs marked runlake.dev/archived."),
    "runlake_watch_runs_pruned_total": ("counter", "Runs deleted from the cluster."),
    "runlake_watch_relists_total": ("counter", "Full lists (start, and after 410 Gone)."),
    "runlake_watch_reconnects_total": ("counter", "Watch streams re-opened after an error."),
    "runlake_watch_queue_depth": ("gauge", "Snapshots waiting for the sink."),
}


class WatchMetrics:
    """Thread-safe counters keyed by (name, labels)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._gauges: dict[str, Callable[[], float]] = {}

    def add(self, name: str, amount: float = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self._gauges[name] = read

    def value(self, name: str, **labels: str) -> float:
        """The sum over every label set that includes `labels`."""
        want = set(labels.items())
        with self._lock:
            return sum(v for (n, ls), v in self._counts.items() if n == name and want <= set(ls))

    def render(self) -> str:
        with self._lock:
            counts = dict(self._counts)
        lines: list[str] = []
        for name, (kind, text) in _HELP.items():
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            if kind == "gauge":
                read = self._gauges.get(name)
                lines.append(f"{name} {float(read()) if read else 0.0}")
                continue
            series = [(ls, v) for (n, ls), v in sorted(counts.items()) if n == name]
            for ls, v in series or [((), 0.0)]:
                label_text = ",".join(f'{k}="{_escape(val)}"' for k, val in ls)
                lines.append(
                    f"{name}{{{label_text}}} {float(v)}" if label_text else f"{name} {float(v)}"
                )
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class ActionLog:
    """One JSON object per line: `{"time", "action", ...fields}`; writes never interleave."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, action: str, **fields: Any) -> None:
        line = json.dumps(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "action": action,
                **fields,
            },
            default=str,
            sort_keys=False,
        )
        with self._lock:
            stream = self._stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()


def serve_metrics(metrics: WatchMetrics, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve `/healthz` and `/metrics` from a daemon thread; `.shutdown()` stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "application/json", b'{"status": "ok"}')
            elif path == "/metrics":
                self._send(
                    200, "text/plain; version=0.0.4; charset=utf-8", metrics.render().encode()
                )
            else:
                body = json.dumps({"error": f"no route {path}", "errors": [], "status": 404})
                self._send(404, "application/json", body.encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # scrapes are not actions
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="watch-metrics", daemon=True).start()
    return server
