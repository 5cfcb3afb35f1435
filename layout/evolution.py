"""Which layout a store has, and reading rows written before a column existed.

The marker object `_runlake.json` at the store's root says the layout
(`{"layout_version": 2}`); the first writer of a new store writes it. A store with
`records/` objects and no marker (or marker 1) is layout 1, which `runlake migrate` converts;
everything else refuses it with one line naming that command. The version changes only when
older code would misread newer data (object keys, a column's type or meaning). Adding a
nullable column does not change it: the tables' schema gains the column (delta-rs merges it
in on the next write), files written before lack it, and every reader fills it with null.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from layout.schema import LAYOUT_VERSION
from layout.store import Store

MARKER_KEY = "_runlake.json"
V1_PREFIX = "records/"


class LayoutError(ValueError):
    """The store's layout is not this runlake's: the message says what to do."""


class LayoutTooNew(LayoutError):
    """The store was written by a newer runlake; reading or rewriting it here could lose data."""


class LayoutTooOld(LayoutError):
    """A layout-1 store: `runlake migrate` converts it."""


def read_marker(store: Store) -> dict[str, Any] | None:
    """The store's layout marker, or None if nothing wrote one yet."""
    try:
        marker = json.loads(store.read_bytes(MARKER_KEY))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise LayoutTooNew(f"{MARKER_KEY} is not JSON this runlake understands: {exc}") from exc
    if not isinstance(marker, dict):
        raise LayoutTooNew(f"{MARKER_KEY} is not JSON this runlake understands")
    return marker


def store_layout(store: Store) -> int | None:
    """The store's layout version; None for a store nothing has written to yet."""
    marker = read_marker(store)
    if marker is not None:
        version = marker.get("layout_version")
        if not isinstance(version, int):
            raise LayoutTooNew(f"{MARKER_KEY} names no layout_version this runlake knows")
        return version
    return 1 if store.list(V1_PREFIX) else None


def check_layout(store: Store) -> None:
    """Raise LayoutTooOld (run `runlake migrate`) or LayoutTooNew unless the store has this
    runlake's layout or is new. Raises StoreError when the store cannot be read."""
    version = store_layout(store)
    if version is None or version == LAYOUT_VERSION:
        return
    if version < LAYOUT_VERSION:
        raise LayoutTooOld(
            f"{store.url} has layout {version} (records/...); run `runlake migrate` to "
            f"convert it to layout {LAYOUT_VERSION}"
        )
    raise LayoutTooNew(
        f"{store.url} has layout version {version}; this runlake knows up to "
        f"{LAYOUT_VERSION}: upgrade runlake"
    )


def ensure_layout(store: Store) -> int:
    """check_layout, then write the marker of a new store. Returns the version."""
    check_layout(store)
    if read_marker(store) is None:
        write_marker(store)
    return LAYOUT_VERSION


def write_marker(store: Store, version: int = LAYOUT_VERSION) -> None:
    store.write_bytes(MARKER_KEY, json.dumps({"layout_version": version}).encode())


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` (as read from a file of this or an older layout) in `schema`: columns it lacks
    become null, types are cast, order follows the schema. A column the schema does not know
    means a newer writer: raise LayoutTooNew rather than drop it."""
    unknown = [name for name in table.column_names if name not in schema.names]
    if unknown:
        raise LayoutTooNew(f"written by a newer runlake (columns {unknown}); upgrade runlake")
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
