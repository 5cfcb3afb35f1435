"""Ingest's Prometheus metrics: a registry per app, so each gunicorn worker (and each app a test
makes) counts on its own; scrape them by pod, or sum them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ingest.writer import WriterStats
from layout.inbox import InboxStats

ROW_OUTCOMES = ("accepted", "ignored", "rejected", "failed")

# The text format generate_latest writes and scrapers have always been given here (in 0.26,
# CONTENT_TYPE_LATEST names text format 1.0.0, which prometheus_client serves only on request).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class IngestMetrics:
    """Rows and requests counted as they happen; the writer's figures read when scraped."""

    def __init__(
        self,
        writer_stats: Callable[[], WriterStats | None] = lambda: None,
        inbox: Callable[[], InboxStats | None] = lambda: None,
    ) -> None:
        # Otherwise every counter gains a `<name>_created` series that runlake never had. The
        # switch is process-wide; nothing else in runlake uses prometheus_client.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        self.rows = Counter(
            "runlake_ingest_rows_total",
            "Rows by outcome: accepted (durable), ignored (event type not archived), "
            "rejected (bad request), failed (store error, 503).",
            ["outcome"],
            registry=self.registry,
        )
        # Every outcome is shown, from 0; bound once, since labels() costs more than inc().
        self.rows_by_outcome = {
            outcome: self.rows.labels(outcome=outcome) for outcome in ROW_OUTCOMES
        }
        self.requests = Counter(
            "runlake_ingest_requests_total",
            "Requests by HTTP status.",
            ["status"],
            registry=self.registry,
        )
        self._requests_by_status: dict[int, Any] = {}
        self.registry.register(WriterCollector(writer_stats))
        self.registry.register(InboxCollector(inbox))

    def count_rows(self, outcome: str, rows: int = 1) -> None:
        self.rows_by_outcome[outcome].inc(rows)

    def count_request(self, status: int) -> None:
        counter = self._requests_by_status.get(status)
        if counter is None:
            counter = self._requests_by_status.setdefault(
                status, self.requests.labels(status=str(status))
            )
        counter.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class WriterCollector:
    """The group-commit writer's own totals, read at scrape time (zero before its first use)."""

    def __init__(self, stats: Callable[[], WriterStats | None]) -> None:
        self._stats = stats

    def describe(self) -> Iterable[Metric]:
        return _writer_families(WriterStats())

    def collect(self) -> Iterable[Metric]:
        return _writer_families(self._stats() or WriterStats())


class InboxCollector:
    """What waits for the materializer, listed at scrape time: a growing age means it stopped."""

    def __init__(self, stats: Callable[[], InboxStats | None]) -> None:
        self._stats = stats

    def describe(self) -> Iterable[Metric]:
        return _inbox_families(InboxStats(0, 0, 0.0))

    def collect(self) -> Iterable[Metric]:
        stats = self._stats()
        return _inbox_families(stats) if stats is not None else []


def _inbox_families(stats: InboxStats) -> list[Metric]:
    return [
        GaugeMetricFamily(
            "runlake_inbox_objects", "Inbox objects not yet in the tables.", value=stats.objects
        ),
        GaugeMetricFamily(
            "runlake_inbox_bytes", "Bytes of those inbox objects.", value=stats.bytes
        ),
        GaugeMetricFamily(
            "runlake_inbox_oldest_age_seconds",
            "Age of the oldest inbox object: the materializer's lag.",
            value=stats.oldest_age_s,
        ),
    ]


def _writer_families(stats: WriterStats) -> list[Metric]:
    flushes = CounterMetricFamily(
        "runlake_ingest_flushes_total", "Group-commit flushes by result.", labels=["result"]
    )
    flushes.add_metric(["ok"], stats.flushes)
    flushes.add_metric(["failed"], stats.failed_flushes)
    return [
        CounterMetricFamily(
            "runlake_ingest_files_written_total",
            "Inbox objects written by group commit.",
            value=stats.files_written,
        ),
        flushes,
        CounterMetricFamily(
            "runlake_ingest_flush_seconds_total",
            "Time spent writing flushes.",
            value=stats.flush_seconds,
        ),
    ]
