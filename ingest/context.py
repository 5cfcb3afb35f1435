"""What ingest requests share, made on first use per app (never at import or in create_app):
the store, the group-commit writer and the counters."""

from __future__ import annotations

from flask import current_app

from ingest.metrics import IngestCounters
from ingest.writer import GroupCommitWriter
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


def get_counters() -> IngestCounters:
    return current_app.extensions.setdefault("runlake.ingest_counters", IngestCounters())
