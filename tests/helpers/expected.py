"""A demo history in a store, and the answers computed from its files without DuckDB: every
snapshot read with pyarrow, the latest per run picked with layout.latest's rule."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from layout.latest import latest_key
from layout.store import Store


def read_records(store: Store, key: str) -> pa.Table:
    """One records file, read with pyarrow alone."""
    return pq.read_table(io.BytesIO(store.read_bytes(key)))


def latest_runs(store: Store) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for info in store.list("records/"):
        for snapshot in read_records(store, info.key).to_pylist():
            for column in ("labels", "annotations"):
                snapshot[column] = dict(snapshot[column] or [])
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
