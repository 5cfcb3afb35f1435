"""Writing `records` rows as Parquet files in the store (the views and compaction read them).

A row is a dict with the columns of RECORDS_SCHEMA. One call to `write_records` writes one
file per (kind, date) partition the rows fall into, and returns the keys it wrote.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from layout.keys import records_key
from layout.schema import PARQUET_OPTIONS, RECORDS_SCHEMA
from layout.store import Store

Row = Mapping[str, Any]
MAP_COLUMNS = ("labels", "annotations")


def partition_of(row: Row) -> tuple[str, date]:
    """(kind, date): the UTC date of creationTimestamp, or of receipt when it is absent."""
    moment = row.get("created_at") or row["received_at"]
    return row["kind"], moment.astimezone(UTC).date()


def _sort_key(row: Row) -> tuple:
    return (row.get("namespace") or "", row["uid"], row["received_at"])


def rows_to_table(rows: Iterable[Row]) -> pa.Table:
    """Rows sorted by namespace, uid and received time, so readers can skip row groups."""
    ordered = [
        {
            **row,
            **{
                name: list(row[name].items())
                for name in MAP_COLUMNS
                if isinstance(row.get(name), dict)
            },
        }
        for row in sorted(rows, key=_sort_key)
    ]
    return pa.Table.from_pylist(ordered, schema=RECORDS_SCHEMA)


def table_to_parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **PARQUET_OPTIONS)
    return sink.getvalue()


def write_records(store: Store, rows: Iterable[Row]) -> list[str]:
    """Write rows, one new file per partition. Returns the keys written. Raises StoreError."""
    partitions: dict[tuple[str, date], list[Row]] = defaultdict(list)
    for row in rows:
        partitions[partition_of(row)].append(row)
    keys = []
    for (kind, day), part in sorted(partitions.items()):
        key = records_key(kind, day)
        store.write_bytes(key, table_to_parquet(rows_to_table(part)))
        keys.append(key)
    return keys
