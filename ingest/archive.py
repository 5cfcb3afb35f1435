"""Archiving objects outside HTTP: `runlake import` and `runlake demo` write through here, into
the inbox as ingest does (the materializer moves them into the tables)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from layout.inbox import write_inbox
from layout.schema import DEFAULT_CLUSTER
from layout.store import Store
from webhooks.errors import InvalidInput
from webhooks.snapshots import objects_to_rows

# Rows per inbox object: large enough that a big import is few objects, small enough that
# the materializer takes several per cycle.
BATCH_ROWS = 5_000


def import_document(
    store: Store, document: Any, source: str = "import", cluster: str = DEFAULT_CLUSTER
) -> int:
    """Archive every object of a document (an object, a list, or `{"items": [...]}`) as
    runs of `cluster`. All objects are validated first: one bad item stores nothing.
    Returns rows written."""
    rows = objects_to_rows(document, datetime.now(UTC), source=source, cluster=cluster)
    for batch in _batches(rows, BATCH_ROWS):
        write_inbox(store, batch)
    return len(rows)


def import_objects(
    store: Store,
    objects: Iterable[Mapping[str, Any]],
    source: str = "import",
    batch_rows: int = BATCH_ROWS,
    cluster: str = DEFAULT_CLUSTER,
) -> int:
    """Archive a stream of objects in batches (memory stays flat for millions of runs)."""
    written = 0
    for batch in _batches(objects, batch_rows):
        rows = objects_to_rows({"items": batch}, datetime.now(UTC), source=source, cluster=cluster)
        write_inbox(store, rows)
        written += len(rows)
    return written


def import_readable(
    store: Store, objects: list[Any], source: str = "import", cluster: str = DEFAULT_CLUSTER
) -> tuple[int, dict[int, list[str]]]:
    """Archive every object that normalizes, as runs of `cluster`, in one write; the others
    are returned by their position with their problems, for a caller (moving a whole
    database) that must keep going and name each object it could not read. Returns (rows
    written, problems)."""
    received_at = datetime.now(UTC)
    rows: list[dict] = []
    problems: dict[int, list[str]] = {}
    for index, obj in enumerate(objects):
        try:
            rows += objects_to_rows(obj, received_at, source=source, cluster=cluster)
        except InvalidInput as exc:
            problems[index] = list(exc.errors)
    if rows:
        write_inbox(store, rows)
    return len(rows), problems


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
