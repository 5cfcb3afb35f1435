"""The materializer: the one writer that moves inbox objects into the tables.

One cycle, under the store's writer lease (layout.lease):

1. list the inbox (oldest first, up to a batch's worth) and read those objects;
2. keep each event_id once; give every row its run's partition: the one the uid index holds
   for a run already stored, else that of the run's first snapshot in the batch;
3. commit the new uids to the index;
4. commit to `snapshots` the rows whose event_id it does not hold yet;
5. commit to `runs` each run's latest snapshot of the batch where it beats the stored one
   (DESIGN's rule: finished before unfinished, then the larger resource_version, then the
   later received_at), as an update of the run's row or a new row;
6. delete the inbox objects it read.

Every step is idempotent, so a cycle killed anywhere is simply done again by the next: an
object not yet deleted is read again, finds its uids indexed, its event_ids stored and its
runs already as new, and changes nothing. A late snapshot that is older than the stored run
never replaces it, in whatever cycle it arrives. Readers see the tables at one version plus
the inbox, and the inbox objects go only after both commits: a run is in one or the other
(or both, which the readers' merge hides) at every moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from layout import duck
from layout.evolution import ensure_layout
from layout.inbox import list_inbox, read_json_sql, spooled
from layout.latest import latest_rank_sql
from layout.lease import Lease
from layout.schema import TABLE_SCHEMA
from layout.store import ObjectInfo, Store, StoreError
from layout.tables import INDEX, INDEX_COLUMNS, INDEX_SCHEMA, RUNS, SNAPSHOTS, TableFile, Tables

logger = logging.getLogger(__name__)

MAX_FILES = 5000
MAX_ROWS = 100_000

_TABLE_COLUMNS = ", ".join(f'"{name}"' for name in TABLE_SCHEMA.names)


@dataclass
class CycleReport:
    files: int = 0
    rows: int = 0
    snapshots_added: int = 0
    runs_changed: int = 0
    new_runs: int = 0
    seconds: float = 0.0
    oldest_age_s: float = 0.0  # of the oldest inbox object read (the lag behind ingest)
    steps: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.files} inbox objects, {self.rows} rows -> {self.snapshots_added} "
            f"snapshots, {self.runs_changed} runs ({self.new_runs} new) in "
            f"{self.seconds:.2f} s"
        )


class Materializer:
    """Moves a store's inbox into its tables, one cycle at a time. Hold the lease (`run`
    does) before calling `cycle`."""

    def __init__(
        self,
        store: Store,
        *,
        max_files: int = MAX_FILES,
        max_rows: int = MAX_ROWS,
        tables: Tables | None = None,
        check_layout: bool = True,
    ) -> None:
        self.store = store
        self.max_files = max_files
        self.max_rows = max_rows
        self.tables = tables or Tables(store)
        self._db: duckdb.DuckDBPyConnection | None = None
        self._access: duck.StoreAccess | None = None
        # `runlake migrate` materializes into a store that is still layout 1 until it is done.
        self._layout_checked = not check_layout
        # Tests stop a cycle between its steps to play a crash there.
        self.after_step: Callable[[str], None] | None = None

    # -- one cycle --------------------------------------------------------------------

    def cycle(self, lease: Lease | None = None) -> CycleReport:
        report = CycleReport()
        started = time.monotonic()
        infos = self._take(list_inbox(self.store))
        if not infos:
            self._renew(lease)  # an idle holder keeps its lease too
            return report
        if not self._layout_checked:
            ensure_layout(self.store)  # the first writer of a new store writes its marker
            self._layout_checked = True
        report.files = len(infos)
        report.oldest_age_s = max(0.0, time.time() - min(i.mtime for i in infos))
        db = self._connection()
        self._read(db, infos, report)
        self._place(db)
        self._step("read", report, started)

        self._renew(lease)
        report.new_runs = self._commit_index(db)
        self._step("index", report, started)

        self._renew(lease)
        report.snapshots_added = self._commit_snapshots(db)
        self._step("snapshots", report, started)

        self._renew(lease)
        report.runs_changed = self._commit_runs(db)
        self._step("runs", report, started)

        self.store.delete_many([info.key for info in infos])
        self._step("delete", report, started)
        report.seconds = time.monotonic() - started
        return report

    def run(
        self,
        interval_s: float,
        stop: threading.Event,
        lease_wait_s: float = 0.0,
        on_cycle: Callable[[CycleReport], None] | None = None,
    ) -> None:
        """Cycle every `interval_s` until `stop` is set, holding the lease while it works and
        handing it over when another writer asks for it. A failed cycle is logged and retried
        at the next interval."""
        ensure_layout(self.store)
        lease = Lease(self.store, "materialize")
        try:
            while not stop.is_set():
                try:
                    if lease.held or lease.acquire(lease_wait_s):
                        report = self.cycle(lease)
                        if on_cycle is not None:
                            on_cycle(report)
                        if lease.wanted_by_other():
                            lease.release()
                except StoreError as exc:
                    logger.warning("materializer: %s", exc)
                stop.wait(interval_s)
        finally:
            lease.release()
            self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- steps --------------------------------------------------------------------------

    def _take(self, infos: list[ObjectInfo]) -> list[ObjectInfo]:
        return infos[: self.max_files]

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            self._db, self._access = duck.connect(self.store)
        assert self._access is not None
        self._access.refresh(self._db)
        return self._db

    def _read(
        self, db: duckdb.DuckDBPyConnection, infos: list[ObjectInfo], report: CycleReport
    ) -> None:
        try:
            with spooled(self.store, infos) as spool:
                if spool is None:
                    db.execute(
                        f"CREATE OR REPLACE TEMP TABLE arrived AS {read_json_sql('?')} LIMIT 0",
                        [[]],
                    )
                else:
                    db.execute(
                        f"CREATE OR REPLACE TEMP TABLE arrived AS {read_json_sql('?')}", [spool]
                    )
        except duckdb.IOException as exc:
            raise StoreError(f"cannot read the inbox: {_first_line(exc)}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"an inbox object is unreadable: {_first_line(exc)}") from exc
        report.rows = db.execute("SELECT count(*) FROM arrived").fetchone()[0]

    def _place(self, db: duckdb.DuckDBPyConnection) -> None:
        """`placed`: each event once, with its run's partition (`kind`, `date`) and whether
        the run is new to the store. The wide rows are filtered and joined, never sorted: the
        decisions are made over the few columns they need."""
        duplicated = db.execute(
            "SELECT count(*) - count(DISTINCT event_id) FROM arrived"
        ).fetchone()[0]
        events = "arrived"
        if duplicated:
            db.execute(
                "CREATE OR REPLACE TEMP TABLE arrived_once AS SELECT * FROM arrived QUALIFY "
                "row_number() OVER (PARTITION BY event_id ORDER BY received_at, _file) = 1"
            )
            events = "arrived_once"
        db.execute(f"CREATE OR REPLACE TEMP VIEW fresh AS SELECT * EXCLUDE (_file) FROM {events}")
        db.register("known", self._indexed(db))
        db.execute("""CREATE OR REPLACE TEMP TABLE places AS
            SELECT f.uid, coalesce(any_value(k.kind), any_value(f.kind)) AS kind,
                   coalesce(any_value(k.date), arg_min(
                       strftime(coalesce(f.created_at, f.received_at), '%Y-%m-%d'),
                       (f.created_at IS NULL, f.received_at, f.event_id))) AS date,
                   any_value(k.uid) IS NULL AS is_new
            FROM (SELECT uid, kind, created_at, received_at, event_id FROM fresh) f
            LEFT JOIN known k ON k.uid = f.uid
            GROUP BY f.uid""")
        db.unregister("known")
        db.execute("""CREATE OR REPLACE TEMP VIEW placed AS
            SELECT f.* EXCLUDE (kind), p.kind, p.date, p.is_new
            FROM fresh f JOIN places p USING (uid)""")

    def _indexed(self, db: duckdb.DuckDBPyConnection) -> pa.Table:
        files = self.tables.state(INDEX).files
        if not files:
            return INDEX_SCHEMA.empty_table()
        return db.execute(
            f"SELECT {INDEX_COLUMNS} FROM read_parquet(?) "
            "WHERE uid IN (SELECT DISTINCT uid FROM fresh)",
            [[f.uri for f in files]],
        ).to_arrow_table()

    def _commit_index(self, db: duckdb.DuckDBPyConnection) -> int:
        new = (
            db.execute(f"SELECT {INDEX_COLUMNS} FROM places WHERE is_new ORDER BY uid")
            .to_arrow_table()
            .cast(INDEX_SCHEMA)
        )
        self.tables.append(INDEX, new, partition_by=())
        return new.num_rows

    def _commit_snapshots(self, db: duckdb.DuckDBPyConnection) -> int:
        """Append the events the table does not hold yet; a new run's cannot be there, so
        only the known runs' events are looked up, in their partitions."""
        stored = self._files_of(SNAPSHOTS, db, "SELECT kind, date FROM places WHERE NOT is_new")
        db.execute("CREATE OR REPLACE TEMP TABLE stored_events (event_id VARCHAR)")
        if stored:
            db.execute(
                "INSERT INTO stored_events SELECT event_id FROM "
                "read_parquet(?, hive_partitioning = false) "
                "WHERE event_id IN (SELECT event_id FROM placed WHERE NOT is_new)",
                [[f.uri for f in stored]],
            )
        rows = (
            db.execute(
                f"SELECT {_TABLE_COLUMNS} FROM placed ANTI JOIN stored_events USING (event_id) "
                "ORDER BY kind, date, namespace, created_at, uid, received_at"
            )
            .to_arrow_table()
            .cast(TABLE_SCHEMA)
        )
        self.tables.append(SNAPSHOTS, rows)
        return rows.num_rows

    def _commit_runs(self, db: duckdb.DuckDBPyConnection) -> int:
        """Each run's latest snapshot of the batch, where it beats the stored row: new runs
        are inserted, known ones updated; delta-rs rewrites only the files of the known runs'
        partitions that hold them."""
        db.execute(f"""CREATE OR REPLACE TEMP TABLE latest AS
            SELECT uid, arg_max(event_id, {latest_rank_sql("p")}) AS event_id,
                   any_value(is_new) AS is_new
            FROM (SELECT uid, event_id, status, resource_version, received_at, is_new
                  FROM placed) p
            GROUP BY uid""")
        stored = self._files_of(RUNS, db, "SELECT kind, date FROM places WHERE NOT is_new")
        db.execute(
            "CREATE OR REPLACE TEMP TABLE stored_runs (uid VARCHAR, status VARCHAR, "
            "resource_version VARCHAR, received_at TIMESTAMPTZ, event_id VARCHAR)"
        )
        if stored:
            db.execute(
                "INSERT INTO stored_runs SELECT uid, status, resource_version, received_at, "
                "event_id FROM read_parquet(?, hive_partitioning = false) "
                "WHERE uid IN (SELECT uid FROM latest WHERE NOT is_new)",
                [[f.uri for f in stored]],
            )
        winners = (
            db.execute(
                f"SELECT {_TABLE_COLUMNS} FROM placed c SEMI JOIN latest USING (uid, event_id) "
                "WHERE c.is_new OR NOT EXISTS (SELECT 1 FROM stored_runs s WHERE s.uid = c.uid "
                f"AND {latest_rank_sql('s')} >= {latest_rank_sql('c')}) "
                "ORDER BY kind, date, namespace, created_at, uid"
            )
            .to_arrow_table()
            .cast(TABLE_SCHEMA)
        )
        known = {
            tuple(row)
            for row in db.execute(
                "SELECT DISTINCT kind, date FROM places WHERE NOT is_new"
            ).fetchall()
        }
        self.tables.merge_latest(RUNS, winners, known)
        return winners.num_rows

    def _files_of(
        self, path: str, db: duckdb.DuckDBPyConnection, partitions_sql: str
    ) -> list[TableFile]:
        """The files of `path` in the partitions `partitions_sql` selects (kind, date)."""
        wanted = {
            tuple(row)
            for row in db.execute(f"SELECT DISTINCT * FROM ({partitions_sql})").fetchall()
        }
        return self.tables.state(path).select(partitions=wanted) if wanted else []

    def _renew(self, lease: Lease | None) -> None:
        if lease is not None:
            lease.renew()

    def _step(self, name: str, report: CycleReport, started: float) -> None:
        report.steps[name] = time.monotonic() - started
        if self.after_step is not None:
            self.after_step(name)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]
