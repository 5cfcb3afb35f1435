"""The answers a store should give, computed without DuckDB: every stored snapshot read with
orjson (the inbox) and delta-rs (the snapshots table), the latest per run picked with
layout.latest's rule in Python."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from deltalake import DeltaTable

from layout.inbox import list_inbox
from layout.latest import latest_key
from layout.store import Store
from layout.tables import SNAPSHOTS, storage_options, table_uri

_TIMES = ("created_at", "started_at", "completed_at", "received_at")


def stored_snapshots(store: Store) -> list[dict[str, Any]]:
    """Every snapshot row in the store (each event once), labels and annotations as dicts."""
    found: dict[str, dict[str, Any]] = {}
    for info in list_inbox(store):
        for line in store.read_bytes(info.key).splitlines():
            row = orjson.loads(line)
            for column in _TIMES:
                if row.get(column) is not None:
                    row[column] = datetime.fromisoformat(row[column])
            found.setdefault(row["event_id"], row)
    try:
        table = DeltaTable(
            table_uri(store, SNAPSHOTS), storage_options=storage_options(store) or None
        )
    except Exception:  # noqa: BLE001 - no table yet
        table = None
    if table is not None:
        for row in table.to_pyarrow_table().to_pylist():
            row.pop("date", None)
            for column in ("labels", "annotations"):
                row[column] = dict(row[column] or [])
            found.setdefault(row["event_id"], row)
    return list(found.values())


def latest_runs(store: Store) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for snapshot in stored_snapshots(store):
        known = latest.get(snapshot["uid"])
        if known is None or latest_key(snapshot) > latest_key(known):
            latest[snapshot["uid"]] = snapshot
    return latest


def newest_first(runs: list[dict[str, Any]]) -> list[str]:
    with_time = sorted(
        (r for r in runs if r["created_at"] is not None),
        key=lambda r: (r["created_at"], r["uid"]),
        reverse=True,
    )
    without = sorted(
        (r for r in runs if r["created_at"] is None), key=lambda r: r["uid"], reverse=True
    )
    return [r["uid"] for r in with_time + without]
