"""What the watcher tells its operators: Prometheus metrics (prometheus_client, a registry per
watcher), `/healthz`, and one JSON line per action on stderr."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)

# name -> (help, label names). Every counter is declared here, with the labels its callers give.
COUNTERS = {
    "runlake_watch_events_total": ("Objects seen in lists and watch events.", ("kind", "type")),
    "runlake_watch_snapshots_sent_total": ("Snapshots acknowledged by the sink.", ()),
    "runlake_watch_snapshots_rejected_total": ("Snapshots the sink refused (4xx).", ()),
    "runlake_watch_retries_total": ("Retried requests, by what was retried.", ("what",)),
    "runlake_watch_logs_archived_total": ("Step logs acknowledged by the sink.", ()),
    "runlake_watch_logs_unavailable_total": ("Step logs that could not be read.", ()),
    "runlake_watch_runs_archived_total": ("Runs marked runlake.dev/archived.", ("kind",)),
    "runlake_watch_runs_pruned_total": ("Runs deleted from the cluster.", ("kind",)),
    "runlake_watch_relists_total": ("Full lists (start, and after 410 Gone).", ("kind",)),
    "runlake_watch_reconnects_total": ("Watch streams re-opened after an error.", ("kind",)),
}
# Gauges are read from a callable at scrape time (0 until one is given).
GAUGES = {"runlake_watch_queue_depth": "Snapshots waiting for the sink."}

# The text format generate_latest writes (in 0.26, CONTENT_TYPE_LATEST names text format 1.0.0,
# which prometheus_client serves only on request).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class WatchMetrics:
    """The watcher's counters and gauges, in a registry of its own (one per watcher)."""

    def __init__(self) -> None:
        # Otherwise every counter gains a `<name>_created` series that runlake never had. The
        # switch is process-wide; nothing else in runlake uses prometheus_client.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        self._counters = {
            name: Counter(name, text, labels, registry=self.registry)
            for name, (text, labels) in COUNTERS.items()
        }
        self._gauges = {
            name: Gauge(name, text, registry=self.registry) for name, text in GAUGES.items()
        }

    def add(self, name: str, amount: float = 1, **labels: str) -> None:
        counter = self._counters[name]
        (counter.labels(**labels) if labels else counter).inc(amount)

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self._gauges[name].set_function(read)

    def value(self, name: str, **labels: str) -> float:
        """The sum over every series of `name` whose labels include `labels`, as scraped."""
        want = labels.items()
        return sum(
            sample.value
            for family in self.registry.collect()
            for sample in family.samples
            if sample.name == name and want <= sample.labels.items()
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


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
    """Serve `/healthz` and `/metrics` from a daemon thread; `.shutdown()` stops it.

    Not prometheus_client's start_http_server: that answers metrics on every path, and has
    neither `/healthz` nor a 404 in runlake's error shape."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "application/json", b'{"status": "ok"}')
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE, metrics.render())
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
