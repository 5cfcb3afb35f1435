"""A layout-1 store as runlake wrote it before layout 2 (records/kind=/date=/*.parquet, every
snapshot in files per partition and batch, the latest picked at read time): what
`runlake migrate` starts from. This is the old writer, kept only to build such stores."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from layout.keys import new_file_id
from layout.schema import KINDS, SNAPSHOT_SCHEMA
from layout.store import Store

# The records schema of layout 1: the snapshot columns before `cluster` and later additions.
V1_COLUMNS = [f for f in SNAPSHOT_SCHEMA if f.name != "cluster"]
V1_SCHEMA = pa.schema(V1_COLUMNS, metadata={"runlake.layout_version": "1"})
V1_OPTIONS = {"compression": "zstd", "compression_level": 3, "coerce_timestamps": "us"}


def write_v1(store: Store, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """One file per (kind, date) partition the rows fall into, as layout 1's ingest wrote."""
    parts: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        moment = row.get("created_at") or row["received_at"]
        day = moment.astimezone(UTC).date().isoformat()
        parts[(KINDS[row["kind"]], day)].append(
            {c.name: row.get(c.name) for c in V1_COLUMNS}
            | {c: list((row.get(c) or {}).items()) for c in ("labels", "annotations")}
        )
    keys = []
    for (kind, day), part in sorted(parts.items()):
        key = f"records/kind={kind}/date={day}/{new_file_id()}.parquet"
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(part, schema=V1_SCHEMA), sink, **V1_OPTIONS)
        store.write_bytes(key, sink.getvalue())
        keys.append(key)
    return keys


def mark_v1(store: Store) -> None:
    """The marker layout 1's lifecycle jobs wrote."""
    store.write_bytes("_runlake.json", json.dumps({"layout_version": 1}).encode())
