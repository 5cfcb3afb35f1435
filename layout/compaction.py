"""Compaction: merge the small files of a partition into few large, sorted ones.

Files are never modified. For each partition, compaction lists the files, reads them, writes
the merged rows as new file(s) under fresh sortable ids, and only then deletes the files it
read. Whatever moment a reader lists the partition at, it sees every row at least once:

- before the merged file exists: the old files;
- between writing and deleting: the old files and the merged one, i.e. every row twice,
  which the `snapshots` view hides by deduplicating `event_id`;
- while deleting: the merged file and some old ones (duplicates again);
- a file deleted after a reader listed it: DuckDB fails to open it and the engine lists again.

A file that arrives after the listing is not read and not deleted, so no ingested row is
lost. A compaction killed between writing and deleting leaves duplicates only; the next run
merges the leftovers together with the earlier output (both are small against the target)
and deletes both. A partition already compacted to one file is left alone, so re-running is
a no-op. If a listed file vanishes while being read (another compactor or retention got
there first), that partition is skipped untouched.

Two lifecycle jobs (compaction, retention) must not run at the same time on one store: one
could copy rows that the other is deleting. Schedule them one after the other.
"""

from __future__ import annotations

import io
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from layout.evolution import LayoutTooNew, conform, ensure_layout
from layout.keys import records_key
from layout.latest import latest_key
from layout.records import table_to_parquet
from layout.schema import FINISHED_STATUSES, KINDS, SORT_KEYS
from layout.store import ObjectInfo, Store

DEFAULT_TARGET_SIZE = 128 * 1024 * 1024
# Smaller merged files would undo what compaction is for; a smaller target is a typo.
MIN_TARGET_SIZE = 1024
# A file at least this fraction of the target counts as already compacted.
LARGE_FRACTION = 0.5

Partition = tuple[str, str]  # (kind directory value, e.g. 'taskrun'; 'YYYY-MM-DD')


@dataclass
class CompactionReport:
    partitions: int = 0  # partitions rewritten
    files_read: int = 0
    files_written: int = 0
    rows_read: int = 0
    rows_written: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    skipped: list[str] = field(default_factory=list)  # "<partition>: why"

    def summary(self) -> str:
        return (
            f"{self.partitions} partition(s): {self.files_read} files "
            f"({self.bytes_read} bytes, {self.rows_read} rows) -> {self.files_written} "
            f"files ({self.bytes_written} bytes, {self.rows_written} rows)"
        )


class PartitionVanished(Exception):
    """A listed file disappeared before it was read: someone else is rewriting the partition."""


def parse_partition(text: str) -> tuple[str | None, str | None]:
    """`kind=taskrun,date=2026-11-01` (either part may be left out) -> (kind, date)."""
    kind = day = None
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name == "kind":
            kind = KINDS.get(value, value)
            if kind not in KINDS.values():
                raise ValueError(f"unknown kind {value!r} (taskrun, pipelinerun, customrun)")
        elif name == "date":
            date.fromisoformat(value)  # raises ValueError for a bad date
            day = value
        else:
            raise ValueError(f"bad partition part {part!r}: expected kind=... or date=...")
    return kind, day


def list_partitions(
    store: Store, kind: str | None = None, day: str | None = None
) -> dict[Partition, list[ObjectInfo]]:
    """Every records partition (optionally one kind and/or date) with its Parquet files."""
    prefix = (
        "records/" + (f"kind={kind}/" if kind else "") + (f"date={day}/" if kind and day else "")
    )
    partitions: dict[Partition, list[ObjectInfo]] = defaultdict(list)
    for info in store.list(prefix):
        parts = info.key.split("/")
        if (
            len(parts) != 4
            or not parts[1].startswith("kind=")
            or not parts[2].startswith("date=")
            or not parts[3].endswith(".parquet")
        ):
            continue
        key = (parts[1][5:], parts[2][5:])
        if day and key[1] != day:
            continue
        partitions[key].append(info)
    return dict(sorted(partitions.items()))


def read_files(store: Store, files: Iterable[ObjectInfo]) -> pa.Table:
    """The rows of `files` in RECORDS_SCHEMA. Raises PartitionVanished if one is gone."""
    tables = []
    for info in files:
        try:
            data = store.read_bytes(info.key)
        except FileNotFoundError as exc:
            raise PartitionVanished(info.key) from exc
        tables.append(conform(pq.read_table(io.BytesIO(data))))
    return pa.concat_tables(tables)


def dedupe_sorted(table: pa.Table) -> pa.Table:
    """Each event_id once, rows sorted by SORT_KEYS."""
    seen: set[str] = set()
    keep = []
    for index, event_id in enumerate(table.column("event_id").to_pylist()):
        if event_id not in seen:
            seen.add(event_id)
            keep.append(index)
    if len(keep) < table.num_rows:
        table = table.take(pa.array(keep, pa.int64()))
    return table.sort_by(SORT_KEYS)


def latest_only(table: pa.Table, cutoff: datetime) -> pa.Table:
    """Keep only the latest snapshot of each run that finished (or, never finished, was
    created) before `cutoff`; other runs keep every snapshot. `runs` picks the same row."""
    columns = (
        "uid",
        "status",
        "resource_version",
        "received_at",
        "event_id",
        "completed_at",
        "created_at",
    )
    rows = table.select(list(columns)).to_pylist()
    latest: dict[str, tuple[tuple, int]] = {}
    for index, row in enumerate(rows):
        key = latest_key(row)
        if row["uid"] not in latest or key > latest[row["uid"]][0]:
            latest[row["uid"]] = (key, index)
    keep = []
    for index, row in enumerate(rows):
        _, best = latest[row["uid"]]
        top = rows[best]
        moment = top["completed_at"] or top["created_at"] or top["received_at"]
        old = top["status"] in FINISHED_STATUSES and moment < cutoff
        if index == best or not old:
            keep.append(index)
    return table if len(keep) == len(rows) else table.take(pa.array(keep, pa.int64()))


def split_by_size(table: pa.Table, target_size: int) -> list[bytes]:
    """The table as Parquet files of about target_size bytes each, never splitting a run's
    rows across two files (retention relies on that to delete a run in one step)."""
    whole = table_to_parquet(table)
    if len(whole) <= target_size or table.num_rows < 2:
        return [whole]
    pieces = -(-len(whole) // target_size)
    uids = table.column("uid").to_pylist()
    bounds, step = [0], table.num_rows / pieces
    for n in range(1, pieces):
        cut = max(int(n * step), bounds[-1] + 1)
        while cut < len(uids) and uids[cut] == uids[cut - 1]:
            cut += 1
        if cut < len(uids):
            bounds.append(cut)
    bounds.append(table.num_rows)
    return [
        table_to_parquet(table.slice(a, b - a))
        for a, b in zip(bounds, bounds[1:], strict=False)
        if b > a
    ]


def rewrite(
    store: Store,
    partition: Partition,
    old: list[ObjectInfo],
    table: pa.Table,
    target_size: int,
    before_delete: Callable[[list[str]], None] | None = None,
) -> list[tuple[str, int]]:
    """Write `table` as the partition's new file(s), then delete `old`. Returns (key, size)
    of each file written (none when the table is empty)."""
    kind, day = partition
    written = []
    if table.num_rows:
        for data in split_by_size(table, target_size):
            key = records_key(kind, date.fromisoformat(day))
            store.write_bytes(key, data)
            written.append((key, len(data)))
    if before_delete is not None:
        before_delete([key for key, _ in written])
    for info in old:
        store.delete(info.key)
    return written


def compact(
    store: Store,
    *,
    kind: str | None = None,
    day: str | None = None,
    older_than: timedelta = timedelta(0),
    target_size: int = DEFAULT_TARGET_SIZE,
    latest_only_after: timedelta | None = None,
    now: datetime | None = None,
    before_delete: Callable[[list[str]], None] | None = None,
) -> CompactionReport:
    """Compact every partition (or those of `kind`/`day`). `older_than` leaves younger files
    alone; `latest_only_after` also drops superseded snapshots of runs finished longer ago.
    `before_delete(new_keys)` runs between writing and deleting (tests kill a run there).
    Raises ValueError for a target size under MIN_TARGET_SIZE, StoreError, LayoutTooNew."""
    if target_size < MIN_TARGET_SIZE:
        raise ValueError(f"target size {target_size} bytes is too small (at least 1KiB)")
    now = now or datetime.now(UTC)
    ensure_layout(store)
    report = CompactionReport()
    newest = now.timestamp() - older_than.total_seconds() if older_than else time.time() + 1e9
    cutoff = now - latest_only_after if latest_only_after is not None else None
    for partition, files in list_partitions(store, kind, day).items():
        name = f"kind={partition[0]}/date={partition[1]}"
        ripe = sorted((f for f in files if f.mtime <= newest), key=lambda f: f.key)
        small = [f for f in ripe if f.size < target_size * LARGE_FRACTION]
        thin = cutoff is not None and date.fromisoformat(partition[1]) <= cutoff.date()
        chosen = ripe if thin else small
        if not chosen or (len(chosen) < 2 and not thin):
            continue
        try:
            raw = read_files(store, chosen)
        except PartitionVanished as exc:
            report.skipped.append(f"{name}: {exc} vanished (rewritten elsewhere)")
            continue
        except LayoutTooNew as exc:
            report.skipped.append(f"{name}: {exc}")
            continue
        table = dedupe_sorted(raw)
        if thin:
            table = latest_only(table, cutoff)
            if table.num_rows == raw.num_rows and len(chosen) < 2:
                continue  # one file, nothing duplicated or superseded: already done
        written = rewrite(store, partition, chosen, table, target_size, before_delete)
        report.partitions += 1
        report.files_read += len(chosen)
        report.bytes_read += sum(f.size for f in chosen)
        report.rows_read += raw.num_rows
        report.files_written += len(written)
        report.bytes_written += sum(size for _, size in written)
        report.rows_written += table.num_rows
    return report
