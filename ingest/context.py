"""What ingest requests share, made on first use per app (never at import or in create_app):
the store, the group-commit writer and the metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from ingest.metrics import IngestMetrics
from ingest.writer import GroupCommitWriter, WriterStats
from layout.store import Store, open_store


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
        ext["runlake.writer"] = GroupCommitWriter(
            get_store(),
            current_app.config["RUNLAKE_FLUSH_MS"],
            current_app.config["RUNLAKE_FLUSH_ROWS"],
        )
    return ext["runlake.writer"]


def get_metrics() -> IngestMetrics:
    ext = current_app.extensions
    if "runlake.ingest_metrics" not in ext:
        # setdefault, not assignment: two first requests racing here count into one registry.
        ext.setdefault("runlake.ingest_metrics", IngestMetrics(lambda: _writer_stats(ext)))
    return ext["runlake.ingest_metrics"]


def _writer_stats(ext: Mapping[str, Any]) -> WriterStats | None:
    writer = ext.get("runlake.writer")
    return writer.stats if writer else None
