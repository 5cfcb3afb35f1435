"""Writing and reading `records` rows as Parquet files in the store.

A row is a dict with the columns of RECORDS_SCHEMA. One call to `write_records` writes one
file per (kind, date) partition the rows fall into, and returns the keys it wrote.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from layout.keys import records_key
from layout.schema import PARQUET_OPTIONS, RECORDS_SCHEMA, SORT_KEYS
from layout.store import Store

Row = Mapping[str, Any]


def partition_of(row: Row) -> tuple[str, date]:
    """(kind, date): the UTC date of creationTimestamp, or of receipt when it is absent."""
    moment = row.get("created_at") or row["received_at"]
    return row["kind"], moment.astimezone(UTC).date()


def rows_to_table(rows: Iterable[Row]) -> pa.Table:
    columns: dict[str, list] = {name: [] for name in RECORDS_SCHEMA.names}
    for row in rows:
        for name, values in columns.items():
            value = row.get(name)
            if isinstance(value, dict):
                value = list(value.items())
            values.append(value)
    table = pa.Table.from_pydict(columns, schema=RECORDS_SCHEMA)
    return table.sort_by(SORT_KEYS)


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


def read_records(store: Store, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(store.read_bytes(key)))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
