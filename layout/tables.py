"""The two Delta tables of a store, `tables/snapshots` and `tables/runs`, and the uid index
`_runlake/index`, written with delta-rs (`deltalake`) and read as a list of Parquet files.

Both tables have TABLE_SCHEMA and are partitioned by (`kind`, `date`); delta-rs keeps the
partition values in the transaction log and in the files' paths
(`kind=TaskRun/date=2026-11-30/part-....parquet`), not inside the files. The index has one
row per run, (`uid`, `kind`, `date`): where each run's partition is, so that a run is found by
its uid without looking at every partition, and so that every snapshot of a run lands in the
partition of its first one.

Readers take a TableState: one version of a table as its files with their partition values,
which DuckDB reads as Parquet; `refresh()` moves it to the newest version by reading only the
commits since (or a checkpoint), so a long-lived reader pays for the log once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
from deltalake import (
    BloomFilterProperties,
    ColumnProperties,
    DeltaTable,
    WriterProperties,
    write_deltalake,
)
from deltalake.exceptions import DeltaError, TableNotFoundError

from layout.literals import sql_string
from layout.schema import PARTITION_COLUMNS, TABLE_SCHEMA
from layout.store import LocalStore, S3Store, Store, StoreError

SNAPSHOTS = "tables/snapshots"
RUNS = "tables/runs"
INDEX = "_runlake/index"
TABLES = (SNAPSHOTS, RUNS)

INDEX_SCHEMA = pa.schema(
    [
        pa.field("uid", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("date", pa.string(), nullable=False),
    ]
)
INDEX_COLUMNS = ", ".join(INDEX_SCHEMA.names)

# Row groups of ROW_GROUP_ROWS and a bloom filter on the columns a lookup names (a run's uid,
# a snapshot's event_id): fetching one run's row with its whole object then decodes one row
# group (about 1,000 objects) instead of a partition's every object; scans pay a little per
# row group. The uid index is sorted by uid, so its row groups' min/max already narrow a
# lookup to one.
ROW_GROUP_ROWS = 1024
INDEX_ROW_GROUP_ROWS = 8192
LOOKUP_COLUMNS = {SNAPSHOTS: ("uid", "event_id"), RUNS: ("uid",), INDEX: ("uid",)}


def writer_properties(path: str, compact: bool = False) -> WriterProperties:
    """How `path`'s files are written: the materializer writes small files often and fast
    (snappy); OPTIMIZE rewrites them, once settled, as zstd, half the size for twice the CPU,
    except `runs`, which stays snappy: every query scans it, and zstd measured about 40 %
    slower on those scans at 1 M runs. Both are codecs every Delta reader knows (Athena,
    Spark, Trino, polars, DuckDB)."""
    rows = INDEX_ROW_GROUP_ROWS if path == INDEX else ROW_GROUP_ROWS
    zstd = compact and path != RUNS
    bloom = BloomFilterProperties(set_bloom_filter_enabled=True, fpp=0.01, ndv=rows)
    return WriterProperties(
        compression="ZSTD" if zstd else "SNAPPY",
        compression_level=3 if zstd else None,
        max_row_group_size=rows,
        # delta-rs truncates min/max statistics to 64 characters only when no properties are
        # given: without this each file's entry in the log would carry two whole objects.
        statistics_truncate_length=64,
        column_properties={
            column: ColumnProperties(bloom_filter_properties=bloom)
            for column in LOOKUP_COLUMNS[path]
        },
    )


def table_uri(store: Store, path: str) -> str:
    return store.uri(path).rstrip("/")


def storage_options(store: Store) -> dict[str, str]:
    """delta-rs' object store options for `store`: the endpoint, and the credentials of the
    standard AWS chain as botocore resolves them (profiles, SSO, roles included)."""
    if not isinstance(store, S3Store):
        return {}
    import botocore.session

    options = {"AWS_REGION": store.region}
    if store.endpoint:
        options["AWS_ENDPOINT_URL"] = store.endpoint
        if store.endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    credentials = botocore.session.get_session().get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        options["AWS_ACCESS_KEY_ID"] = frozen.access_key
        options["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
        if frozen.token:
            options["AWS_SESSION_TOKEN"] = frozen.token
    return options


@dataclass(frozen=True)
class TableFile:
    uri: str  # what DuckDB reads
    kind: str
    date: str
    size: int
    rows: int
    modified: float  # seconds since the epoch, when the file was written
    # The columns the file has, as its statistics in the log show (None: no statistics);
    # files written before a column was added lack it.
    columns: frozenset[str] | None = None

    @property
    def path(self) -> str:
        """The file as `Store.fs` (pyarrow's filesystem) names it: the uri without a scheme."""
        return self.uri.split("://", 1)[-1]


@dataclass(frozen=True)
class TableState:
    """One version of a table: its files. `version` is -1 for a table not yet created."""

    path: str
    version: int
    files: tuple[TableFile, ...]
    columns: tuple[str, ...] = ()  # the table's schema now
    scalar_columns: tuple[str, ...] = ()  # those of them files keep statistics for

    def whole(self, file: TableFile) -> bool:
        """The file has every column of the table's schema (statistics show every scalar
        one; the map columns labels and annotations are in every file ever written)."""
        return file.columns is not None and set(self.scalar_columns) <= file.columns

    def select(
        self,
        kinds: Iterable[str] | None = None,
        first: date | None = None,
        last: date | None = None,
        partitions: set[tuple[str, str]] | None = None,
    ) -> list[TableFile]:
        """The files of the given kinds, dates from `first` to `last` (inclusive), or of
        exactly `partitions` ((kind, date) pairs); everything left out is unbounded."""
        wanted = set(kinds) if kinds is not None else None
        low = first.isoformat() if first else None
        high = last.isoformat() if last else None
        return [
            f
            for f in self.files
            if (wanted is None or f.kind in wanted)
            and (low is None or f.date >= low)
            and (high is None or f.date <= high)
            and (partitions is None or (f.kind, f.date) in partitions)
        ]


class Tables:
    """The store's Delta tables, opened on first use and kept (thread-safe)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._tables: dict[str, DeltaTable] = {}
        self._states: dict[str, TableState] = {}
        self._lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------

    def open(self, path: str) -> DeltaTable | None:
        """The table at `path` at the version last loaded, or None if it does not exist."""
        with self._lock:
            table = self._tables.get(path)
            if table is None:
                table = self._load(path)
                if table is None:
                    return None
                self._tables[path] = table
            return table

    def state(self, path: str, refresh: bool = True) -> TableState:
        """The table's newest version (or the one last loaded, without `refresh`). Looking
        for a newer version costs one existence check of its commit file, and loading it
        only the commits since."""
        table = self.open(path)
        if table is None:
            return TableState(path, -1, ())
        with self._lock:
            known = self._states.get(path)
            current = known is not None and known.version == table.version()
            if refresh and (known is None or (current and self._newer(path, table.version()))):
                try:
                    table.update_incremental()
                except (DeltaError, OSError) as exc:
                    raise StoreError(f"cannot read {path}: {exc}") from exc
            if known is None or known.version != table.version():
                known = self._states[path] = _state_of(self.store, path, table)
            return known

    def _newer(self, path: str, version: int) -> bool:
        return self.store.exists(f"{path}/_delta_log/{version + 1:020d}.json")

    def _load(self, path: str) -> DeltaTable | None:
        # delta-rs answers "no table" only after listing the log: look for its first commit
        # (or a checkpoint, once old commits are cleaned up) instead.
        log = f"{path}/_delta_log/"
        if not (
            self.store.exists(f"{log}{0:020d}.json") or self.store.exists(f"{log}_last_checkpoint")
        ):
            return None
        uri = table_uri(self.store, path)
        try:
            return DeltaTable(uri, storage_options=storage_options(self.store) or None)
        except TableNotFoundError:
            return None
        except (DeltaError, OSError) as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc

    # -- writing ----------------------------------------------------------------------

    def append(
        self,
        path: str,
        rows: pa.Table,
        partition_by: Sequence[str] = PARTITION_COLUMNS,
    ) -> None:
        """Add `rows` to the table (created on the first write). Raises StoreError."""
        if rows.num_rows == 0:
            return
        table = self.open(path)
        target: Any = table if table is not None else table_uri(self.store, path)
        try:
            write_deltalake(
                target,
                rows,
                mode="append",
                partition_by=list(partition_by) or None,
                storage_options=None if table is not None else storage_options(self.store) or None,
                writer_properties=writer_properties(path),
                # A nullable column this release added joins the table's schema.
                schema_mode="merge",
            )
        except (DeltaError, OSError) as exc:
            raise StoreError(f"cannot append to {path}: {exc}") from exc
        if table is None:
            with self._lock:
                self._tables.pop(path, None)

    def merge_latest(
        self, path: str, rows: pa.Table, known: set[tuple[str, str]]
    ) -> dict[str, Any]:
        """Upsert `rows` (one per uid, each already known to beat the table's row for its uid,
        if any) into the runs table in one commit: update the uid's row, or insert it.
        `known` are the partitions of the uids the table may already hold: only their files
        are read and rewritten (a new run cannot match, so its partition is not looked at);
        with none, the rows are simply appended."""
        if rows.num_rows == 0:
            return {}
        table = self.open(path)
        if table is None or not known:
            self.append(path, rows)
            return {"num_target_rows_inserted": rows.num_rows}
        predicate = (
            "t.uid = s.uid AND t.kind = s.kind AND t.date = s.date AND ("
            + " OR ".join(f"({partition_terms(kind, day, 't')})" for kind, day in sorted(known))
            + ")"
        )
        try:
            return (
                table.merge(
                    rows,
                    predicate=predicate,
                    source_alias="s",
                    target_alias="t",
                    merge_schema=True,
                    writer_properties=writer_properties(path),
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        except (DeltaError, OSError) as exc:
            raise StoreError(f"cannot merge into {path}: {exc}") from exc


def partition_terms(kind: str, day: str, alias: str = "") -> str:
    """`kind = <kind> AND date = <day>` (of `alias`), literal for delta-rs' pruning; empty
    kind and day: true."""
    if not kind and not day:
        return "true"
    prefix = f"{alias}." if alias else ""
    return f"{prefix}kind = {sql_string(kind)} AND {prefix}date = {sql_string(day)}"


def _state_of(store: Store, path: str, table: DeltaTable) -> TableState:
    actions = pa.table(table.get_add_actions(flatten=True))
    names = actions.column_names
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    rows = actions.column("num_records").to_pylist()
    modified = [
        m.timestamp() if hasattr(m, "timestamp") else (m or 0) / 1000
        for m in actions.column("modification_time").to_pylist()
    ]
    kinds = (
        actions.column("partition.kind").to_pylist()
        if "partition.kind" in names
        else [""] * len(paths)
    )
    dates = (
        actions.column("partition.date").to_pylist()
        if "partition.date" in names
        else [""] * len(paths)
    )
    partition_names = {"kind", "date"}
    arrow_schema = pa.schema(table.schema().to_arrow())
    schema = tuple(arrow_schema.names)
    counted = [c for c in names if c.startswith("null_count.")]
    present = (
        [
            [
                c.removeprefix("null_count.")
                for c, value in zip(counted, values, strict=True)
                if value is not None
            ]
            for values in zip(*(actions.column(c).to_pylist() for c in counted), strict=True)
        ]
        if counted
        else [[] for _ in paths]
    )
    base = table_uri(store, path)
    files = tuple(
        TableFile(
            _file_uri(store, base, p),
            k or "",
            d or "",
            s or 0,
            r or 0,
            m,
            frozenset(cols) | (partition_names & set(schema)) if cols else None,
        )
        for p, k, d, s, r, m, cols in zip(
            paths, kinds, dates, sizes, rows, modified, present, strict=True
        )
    )
    # Statistics exist for scalar columns only (not maps): those are the ones a file shows.
    scalar = tuple(f.name for f in arrow_schema if not pa.types.is_nested(f.type))
    return TableState(path, table.version(), files, schema, scalar)


def _file_uri(store: Store, base: str, relative: str) -> str:
    if "://" in relative:
        return relative
    uri = f"{base}/{relative}"
    if isinstance(store, LocalStore):
        from urllib.parse import unquote

        return unquote(uri)
    return uri


__all__ = [
    "INDEX",
    "INDEX_COLUMNS",
    "INDEX_SCHEMA",
    "RUNS",
    "SNAPSHOTS",
    "TABLES",
    "TABLE_SCHEMA",
    "TableFile",
    "TableState",
    "Tables",
    "storage_options",
    "table_uri",
]
