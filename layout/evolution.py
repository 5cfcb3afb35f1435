"""Schema evolution: which layout a store and a file carry, and reading older files.

Two things carry the layout version: every Parquet file's schema metadata
(`runlake.layout_version`, from RECORDS_SCHEMA) and the marker object `_runlake.json` at the
store's root, written by the first lifecycle job that rewrites records. The version changes
only when older code would misread newer data (object keys, a column's type or meaning).
Adding a nullable column to `records` does not change it: older files simply lack the
column, and every reader fills it with null (the views by name, `conform` for rewrites).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from layout.schema import LAYOUT_VERSION, RECORDS_SCHEMA
from layout.store import Store

MARKER_KEY = "_runlake.json"
VERSION_KEY = b"runlake.layout_version"


class LayoutTooNew(ValueError):
    """The store or a file was written by a newer runlake; rewriting it here could lose data."""


def file_layout_version(schema: pa.Schema) -> int:
    """The layout version a Parquet file was written with (files without one are version 1)."""
    raw = (schema.metadata or {}).get(VERSION_KEY, b"1")
    try:
        return int(raw)
    except ValueError:
        return LAYOUT_VERSION + 1  # unreadable: treat as unknown, i.e. too new to rewrite


def conform(table: pa.Table) -> pa.Table:
    """`table` (as read from any file of this or an older layout) in RECORDS_SCHEMA: columns
    it lacks become null, types are cast, order follows the schema. A column this code does
    not know means a newer writer: raise LayoutTooNew rather than drop it."""
    version = file_layout_version(table.schema)
    unknown = [name for name in table.column_names if name not in RECORDS_SCHEMA.names]
    if version > LAYOUT_VERSION or unknown:
        raise LayoutTooNew(
            f"written by a newer runlake (layout {version}, columns "
            f"{unknown or 'known'}); upgrade runlake to rewrite it"
        )
    columns = []
    for field in RECORDS_SCHEMA:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=RECORDS_SCHEMA)


def read_marker(store: Store) -> dict[str, Any] | None:
    """The store's layout marker, or None if no lifecycle job has written one yet."""
    try:
        return json.loads(store.read_bytes(MARKER_KEY))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise LayoutTooNew(f"{MARKER_KEY} is not JSON this runlake understands: {exc}") from exc


def ensure_layout(store: Store) -> int:
    """Check the store's layout before rewriting anything in it; write the marker if absent.
    Raises LayoutTooNew when a newer runlake has upgraded the store. Returns the version."""
    marker = read_marker(store)
    if marker is None:
        store.write_bytes(MARKER_KEY, json.dumps({"layout_version": LAYOUT_VERSION}).encode())
        return LAYOUT_VERSION
    version = marker.get("layout_version")
    if not isinstance(version, int) or version > LAYOUT_VERSION:
        raise LayoutTooNew(
            f"the store has layout version {version!r}; this runlake knows "
            f"up to {LAYOUT_VERSION}: upgrade runlake"
        )
    return version
