"""Prometheus text exposition of this process's counters (each gunicorn worker has its own;
scrape them by pod, or sum them)."""

from __future__ import annotations

import threading
from collections import Counter

from ingest.writer import WriterStats


class IngestCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, name: str, label: str, value: int = 1) -> None:
        with self._lock:
            self._counts[(name, label)] += value

    def render(self, stats: WriterStats | None) -> str:
        lines = [
            "# HELP runlake_ingest_rows_total Rows by outcome: accepted (durable), ignored "
            "(event type not archived), rejected (bad request), failed (store error, 503).",
            "# TYPE runlake_ingest_rows_total counter",
        ]
        with self._lock:
            counts = dict(self._counts)
        for outcome in ("accepted", "ignored", "rejected", "failed"):
            lines.append(
                f'runlake_ingest_rows_total{{outcome="{outcome}"}} '
                f"{counts.get(('rows', outcome), 0)}"
            )
        lines += [
            "# HELP runlake_ingest_requests_total Requests by HTTP status.",
            "# TYPE runlake_ingest_requests_total counter",
        ]
        for (name, label), value in sorted(counts.items()):
            if name == "requests":
                lines.append(f'runlake_ingest_requests_total{{status="{label}"}} {value}')
        stats = stats or WriterStats()
        lines += [
            "# HELP runlake_ingest_files_written_total Parquet files written by group commit.",
            "# TYPE runlake_ingest_files_written_total counter",
            f"runlake_ingest_files_written_total {stats.files_written}",
            "# HELP runlake_ingest_flushes_total Group-commit flushes by result.",
            "# TYPE runlake_ingest_flushes_total counter",
            f'runlake_ingest_flushes_total{{result="ok"}} {stats.flushes}',
            f'runlake_ingest_flushes_total{{result="failed"}} {stats.failed_flushes}',
            "# HELP runlake_ingest_flush_seconds_total Time spent writing flushes.",
            "# TYPE runlake_ingest_flush_seconds_total counter",
            f"runlake_ingest_flush_seconds_total {stats.flush_seconds:.6f}",
        ]
        return "\n".join(lines) + "\n"
