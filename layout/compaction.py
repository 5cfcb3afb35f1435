"""Compaction: OPTIMIZE the tables, VACUUM what they no longer reference, checkpoint the log.

Per partition of `runs` and `snapshots` that has been quiet for `older_than` (its newest
file is at least that old, so a partition still being written is left to settle), OPTIMIZE
rewrites its files into few large ones when it holds several small files, or, for `runs`,
when a file's row groups are out of uid order (a late snapshot's MERGE rewrote it). `runs`
is sorted by uid: a Tekton Results list pages in uid order, so its top-N and keyset filters
and the lookup of a page's objects skip nearly every row group by their uid statistics, and
a run by uid decodes one row group. (A first page of one namespace reads the newest
partitions, still being merged, so no order of settled partitions serves it.) `snapshots`
is z-ordered by (namespace, created_at), and the uid index by uid. Each OPTIMIZE is one
commit: a reader at any version sees every row once.

VACUUM then deletes the files no version of the last `keep` still references (an hour by
default: longer than any query runs, and longer than a reader keeps a table state), and a
checkpoint plus log cleanup keep a reader's cost of loading the table flat however many
commits the materializer makes.

All of it commits under the store's writer lease (the caller holds it), like the
materializer's cycles, so the two never race.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pyarrow.parquet as pq
from deltalake.exceptions import DeltaError

from layout.schema import KINDS
from layout.store import Store, StoreError
from layout.tables import (
    INDEX,
    RUNS,
    SNAPSHOTS,
    TableFile,
    Tables,
    TableState,
    writer_properties,
)

DEFAULT_TARGET_SIZE = 128 * 1024 * 1024
MIN_TARGET_SIZE = 1024
DEFAULT_KEEP = timedelta(hours=1)
# A file at least this fraction of the target counts as already compacted.
LARGE_FRACTION = 0.5
ZORDER = {RUNS: ["uid"], SNAPSHOTS: ["namespace", "created_at"], INDEX: ["uid"]}


@dataclass
class CompactionReport:
    partitions: int = 0  # partitions rewritten
    files_read: int = 0
    files_written: int = 0
    files_vacuumed: int = 0
    skipped: list[str] = field(default_factory=list)  # "<table> <partition>: why"

    def summary(self) -> str:
        return (
            f"{self.partitions} partition(s): {self.files_read} files -> "
            f"{self.files_written} files; {self.files_vacuumed} unreferenced files deleted"
        )


def parse_partition(text: str) -> tuple[str | None, str | None]:
    """`kind=TaskRun,date=2026-11-01` (either part may be left out; the kind in any case, as
    `taskrun` too) -> (kind, date)."""
    kind = day = None
    names = {name.lower(): name for name in KINDS}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name == "kind":
            kind = names.get(value.lower())
            if kind is None:
                raise ValueError(f"unknown kind {value!r} ({', '.join(KINDS)})")
        elif name == "date":
            date.fromisoformat(value)  # raises ValueError for a bad date
            day = value
        else:
            raise ValueError(f"bad partition part {part!r}: expected kind=... or date=...")
    return kind, day


def check_target_size(target_size: int) -> None:
    if target_size < MIN_TARGET_SIZE:
        raise ValueError(f"target size {target_size} bytes is too small (at least 1KiB)")


def compact(
    store: Store,
    *,
    older_than: timedelta = timedelta(0),
    target_size: int = DEFAULT_TARGET_SIZE,
    keep: timedelta = DEFAULT_KEEP,
    kind: str | None = None,
    day: str | None = None,
    tables: Tables | None = None,
) -> CompactionReport:
    """Compact every quiet partition (or those of `kind`/`day`) of both tables and the index,
    then vacuum and checkpoint. The caller holds the writer lease. Raises StoreError."""
    check_target_size(target_size)
    tables = tables or Tables(store)
    report = CompactionReport()
    for path in (RUNS, SNAPSHOTS):
        unsorted = (lambda file: _out_of_uid_order(store, file)) if path == RUNS else None
        state = tables.state(path)
        for partition in _ripe(state, older_than, target_size, kind, day, unsorted):
            _optimize(tables, path, partition, target_size, report)
    if kind is None and day is None and len(tables.state(INDEX).files) > 1:
        _optimize(tables, INDEX, None, target_size, report)
    for path in (RUNS, SNAPSHOTS, INDEX):
        _tidy(tables, path, keep, report)
    return report


def _ripe(
    state: TableState,
    older_than: timedelta,
    target_size: int,
    kind: str | None,
    day: str | None,
    unsorted: Callable[[TableFile], bool] | None = None,
) -> list[tuple[str, str]]:
    """Partitions all of whose files are older than `older_than` and that hold two or more
    small files or, where `unsorted` is given, a file it finds out of order."""
    by_partition: dict[tuple[str, str], list] = {}
    for file in state.files:
        if (kind is None or file.kind == kind) and (day is None or file.date == day):
            by_partition.setdefault((file.kind, file.date), []).append(file)
    cutoff = time.time() - older_than.total_seconds()
    ripe = []
    for partition, files in sorted(by_partition.items()):
        small = [f for f in files if f.size < target_size * LARGE_FRACTION]
        if max(f.modified for f in files) > cutoff:
            continue
        if len(small) >= 2 or (unsorted is not None and any(map(unsorted, files))):
            ripe.append(partition)
    return ripe


def _out_of_uid_order(store: Store, file: TableFile) -> bool:
    """The file's row groups do not follow one another in uid order, by their footer's
    statistics (one small read per file, none of its data)."""
    try:
        meta = pq.ParquetFile(file.path, filesystem=store.fs).metadata
    except OSError as exc:
        raise StoreError(f"cannot read {file.uri}: {exc}") from exc
    if meta.num_row_groups < 2:
        return False
    first = meta.row_group(0)
    column = next(j for j in range(first.num_columns) if first.column(j).path_in_schema == "uid")
    previous_max = None
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics
        if stats is None or not stats.has_min_max:
            return True
        if previous_max is not None and stats.min < previous_max:
            return True
        previous_max = stats.max
    return False


def _optimize(
    tables: Tables,
    path: str,
    partition: tuple[str, str] | None,
    target_size: int,
    report: CompactionReport,
) -> None:
    table = tables.open(path)
    if table is None:
        return
    filters = (
        [("kind", "=", partition[0]), ("date", "=", partition[1])]
        if partition is not None
        else None
    )
    try:
        result = table.optimize.z_order(
            ZORDER[path],
            partition_filters=filters,
            target_size=target_size,
            writer_properties=writer_properties(path, compact=True),
        )
    except (DeltaError, OSError) as exc:
        raise StoreError(f"cannot optimize {path}: {exc}") from exc
    if result.get("numFilesRemoved") and partition is not None:
        report.partitions += 1
        report.files_read += result.get("numFilesRemoved", 0)
        report.files_written += result.get("numFilesAdded", 0)


def _tidy(tables: Tables, path: str, keep: timedelta, report: CompactionReport) -> None:
    table = tables.open(path)
    if table is None:
        return
    try:
        removed = table.vacuum(
            retention_hours=max(0, int(keep.total_seconds() // 3600)),
            dry_run=False,
            enforce_retention_duration=False,
        )
        table.create_checkpoint()
        table.cleanup_metadata()
    except (DeltaError, OSError) as exc:
        raise StoreError(f"cannot vacuum {path}: {exc}") from exc
    report.files_vacuumed += len(removed)
