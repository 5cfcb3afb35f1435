"""What ingest requests share, made on first use per app (never at import or in create_app):
the store, the group-commit writer and the metrics."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import current_app

from ingest.metrics import IngestMetrics
from ingest.writer import (
    GREENLET_ARRIVAL_GAP_S,
    THREAD_ARRIVAL_GAP_S,
    GroupCommitWriter,
    Row,
    WriterStats,
)
from layout.inbox import InboxStats, inbox_stats, list_inbox, write_inbox
from layout.store import Store, open_store

INBOX_LOOK_S = 10.0
Write = Callable[[Store, Sequence[Row]], str | None]


def get_store() -> Store:
    ext = current_app.extensions
    if "runlake.store" not in ext:
        ext["runlake.store"] = open_store(
            current_app.config["RUNLAKE_STORE"], current_app.config["RUNLAKE_S3_ENDPOINT"]
        )
    return ext["runlake.store"]


def get_writer() -> GroupCommitWriter:
    ext = current_app.extensions
    if "runlake.writer" not in ext:
        greenlets = _under_gevent()
        ext["runlake.writer"] = GroupCommitWriter(
            get_store(),
            current_app.config["RUNLAKE_FLUSH_MS"],
            current_app.config["RUNLAKE_FLUSH_ROWS"],
            write=_off_the_event_loop(write_inbox) if greenlets else write_inbox,
            arrival_gap_s=GREENLET_ARRIVAL_GAP_S if greenlets else THREAD_ARRIVAL_GAP_S,
        )
    return ext["runlake.writer"]


def _under_gevent() -> bool:
    """True in a gevent worker (gunicorn -k gevent, gunicorn.conf.py's default for ingest),
    which patches threading: requests are then greenlets of one OS thread."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def _off_the_event_loop(write: Write) -> Write:
    """A store write on gevent's native thread pool: its fsyncs or its PUT then hold one OS
    thread, not every request of the worker."""
    import gevent

    def offloaded(store: Store, rows: Sequence[Row]) -> str | None:
        return gevent.get_hub().threadpool.apply(write, (store, rows))

    return offloaded


def get_metrics() -> IngestMetrics:
    ext = current_app.extensions
    if "runlake.ingest_metrics" not in ext:
        # setdefault, not assignment: two first requests racing here count into one registry.
        store = get_store()
        ext.setdefault(
            "runlake.ingest_metrics",
            IngestMetrics(lambda: _writer_stats(ext), lambda: _inbox(ext, store)),
        )
    return ext["runlake.ingest_metrics"]


def _writer_stats(ext: Mapping[str, Any]) -> WriterStats | None:
    writer = ext.get("runlake.writer")
    return writer.stats if writer else None


def get_inbox_stats() -> InboxStats:
    """The inbox as listed at most INBOX_LOOK_S ago (a listing per scrape or probe would cost
    S3 requests for nothing)."""
    return _inbox(current_app.extensions, get_store())


def _inbox(ext: dict, store: Store) -> InboxStats:
    looked = ext.get("runlake.inbox_stats")
    if looked is None or time.monotonic() - looked[0] > INBOX_LOOK_S:
        looked = (time.monotonic(), inbox_stats(list_inbox(store)))
        ext["runlake.inbox_stats"] = looked
    return looked[1]
