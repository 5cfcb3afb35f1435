"""`runlake migrate`: a layout-1 store (`records/kind=/date=/*.parquet`, deduplicated at read
time) into layout 2.

Partition by partition, oldest first: the partition's files are read (older files lacking a
column read it as null), their rows go into the inbox in objects of BATCH_ROWS, the
materializer moves them into the tables exactly as it does ingest's, and only then are the
partition's files deleted. When no `records/` file is left, the marker says layout 2.

Killed anywhere, a second run carries on: a partition whose files are still there is done
again, and the materializer stores each event_id once and keeps each run's latest snapshot,
so nothing is stored twice. Ingest may keep writing to the inbox meanwhile (its objects are
materialized along); every other command refuses the store until the marker says 2.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow.parquet as pq

from layout.evolution import V1_PREFIX, conform, store_layout, write_marker
from layout.inbox import list_inbox, write_inbox
from layout.materializer import Materializer
from layout.schema import LAYOUT_VERSION, SNAPSHOT_SCHEMA
from layout.store import ObjectInfo, Store
from layout.tables import Tables

BATCH_ROWS = 5_000


@dataclass
class MigrationReport:
    partitions: int = 0
    files: int = 0
    rows: int = 0

    def summary(self) -> str:
        return (
            f"{self.partitions} partition(s), {self.files} files, {self.rows} rows moved "
            f"into layout {LAYOUT_VERSION}"
        )


def v1_partitions(store: Store) -> dict[str, list[ObjectInfo]]:
    """`kind=<k>/date=<d>` -> that partition's Parquet files."""
    found: dict[str, list[ObjectInfo]] = defaultdict(list)
    for info in store.list(V1_PREFIX):
        parts = info.key.split("/")
        if (
            len(parts) == 4
            and parts[1].startswith("kind=")
            and parts[2].startswith("date=")
            and parts[3].endswith(".parquet")
        ):
            found[f"{parts[1]}/{parts[2]}"].append(info)
    return dict(sorted(found.items()))


def migrate(
    store: Store, progress: Callable[[str, int], None] | None = None, tables: Tables | None = None
) -> MigrationReport:
    """Convert the store (the caller holds the writer lease). Returns what was moved; a
    store already in layout 2 is left as it is. Raises StoreError, LayoutTooNew."""
    report = MigrationReport()
    version = store_layout(store)
    if version is not None and version > LAYOUT_VERSION:
        from layout.evolution import check_layout

        check_layout(store)  # raises LayoutTooNew
    materializer = Materializer(store, tables=tables, check_layout=False)
    try:
        for name, files in v1_partitions(store).items():
            rows = 0
            for info in sorted(files, key=lambda i: i.key):
                table = conform(
                    pq.read_table(io.BytesIO(store.read_bytes(info.key))), SNAPSHOT_SCHEMA
                )
                for batch in table.to_batches(BATCH_ROWS):
                    write_inbox(store, _rows(batch.to_pylist()))
                rows += table.num_rows
            while list_inbox(store):
                materializer.cycle()
            store.delete_many([info.key for info in files])
            report.partitions += 1
            report.files += len(files)
            report.rows += rows
            if progress is not None:
                progress(name, rows)
        while list_inbox(store):
            materializer.cycle()
    finally:
        materializer.close()
    write_marker(store)
    return report


def _rows(rows: list[dict]) -> list[dict]:
    """Rows as the inbox takes them: maps as dicts (pyarrow gives them as pairs)."""
    for row in rows:
        for column in ("labels", "annotations"):
            if isinstance(row.get(column), list):
                row[column] = dict(row[column])
    return rows
