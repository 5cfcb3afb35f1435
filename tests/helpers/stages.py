"""Where written rows are when a test reads them: still in the inbox, or moved into the tables
by the materializer (readers must answer the same either way)."""

from __future__ import annotations

from layout.inbox import list_inbox
from layout.materializer import Materializer
from layout.store import Store


def materialize(store: Store) -> int:
    """Run the materializer until the inbox is empty; returns the rows it moved."""
    moved = 0
    materializer = Materializer(store)
    try:
        while list_inbox(store):
            moved += materializer.cycle().rows
    finally:
        materializer.close()
    return moved
