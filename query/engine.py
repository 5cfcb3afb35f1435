"""DuckDB over the store: the views, user SQL in a sandbox, and trusted queries for the API.

One in-memory database per Engine, created on first use, set up and then locked: the views
are created, S3 credentials live only in a DuckDB secret (layout.duck), external access is
limited to the store, and the configuration is frozen. Each query runs on its own cursor so
threads do not share a connection and a timeout interrupts only its own query.

Before a query the engine brings its picture of the store up to date, in this order: it lists
the inbox and loads the objects it has not seen into `_inbox_rows` (forgetting those that
went), then moves each table to its newest version (reading only the commits since). The
order is what makes every run appear exactly once: the materializer deletes an inbox object
only after the tables hold its rows, so an object gone from the listing is in the version read
after it, and one still listed is merged away if the table holds it too. The table state and
the inbox rows stay cached between queries; DuckDB caches the Parquet files' metadata.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import math
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from time import monotonic, sleep
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

# DuckDB imports pyarrow.dataset when an arrow table is first registered, which is the first
# query's inbox load (0.2 s at 1 M runs); imported here, it is paid at worker start instead.
import pyarrow.dataset  # noqa: F401

from layout import duck
from layout.duck import httpfs_path
from layout.evolution import LayoutError, check_layout
from layout.inbox import InboxLister, InboxStats, inbox_stats, read_json_sql, spooled
from layout.keys import InvalidKeyPart, log_key
from layout.literals import sql_string
from layout.logs import SizeCache, list_logs, read_log
from layout.schema import SNAPSHOT_SCHEMA
from layout.store import ObjectInfo, Store, StoreError
from layout.tables import (
    INDEX,
    INDEX_COLUMNS,
    RUNS,
    SNAPSHOTS,
    TABLE_SCHEMA,
    TableFile,
    Tables,
    TableState,
)
from query.errorline import first_error_line
from query.insight_views import ERROR_LINES, ERROR_LINES_TABLE, names_step_failures
from query.scope import Readable
from query.sqlguard import SqlError, SqlRefused, check_sql
from query.views import (
    INBOX_EVENTS,
    INBOX_ROWS,
    INBOX_RUNS,
    LOG_OBJECTS,
    LOG_OBJECTS_TABLE,
    RUNS_FAR_FROM_INBOX,
    RUNS_NEAR_INBOX,
    RUNS_WITH_DATE,
    SNAPSHOTS_NEAR_INBOX,
    SNAPSHOTS_TABLE,
    VIEWS,
    Files,
    Partitions,
    each_file_holds_sql,
    files_source,
    inbox_statements,
    inbox_tables,
    runs_with_date_sql,
    source_statements,
    view_statements,
)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Engine",
    "InboxStats",
    "SqlError",
    "SqlRefused",
    "SqlResult",
    "SqlTimeout",
    "StoreError",
    "httpfs_path",
    "json_row_sql",
    "jsonable",
]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000
# DuckDB's own memory, beyond which it spills to its temp directory (inbox rows included):
# a materializer that stopped and left the inbox growing costs disk and time, not the process.
MEMORY_LIMIT = "768MB"
# Rows per Arrow batch handed from the inbox parser to the engine's database.
_LOAD_BATCH_ROWS = 2048
# Looks at the store per sync when listed inbox objects keep vanishing before they are read;
# the last look keeps what it could read.
_SYNC_ATTEMPTS = 3

T = TypeVar("T")


# Tries of a query whose files vanish under it (each sees a newer version): VACUUM keeps
# replaced files for an hour, so this covers inbox objects deleted mid-read.
_ATTEMPTS = 6
# Runs whose partition Engine.locate remembers, the least recently asked for forgotten first
# (some 150 bytes each).
_LOCATED_RUNS = 10_000
_BACKOFF_S = 0.02


class SqlTimeout(SqlError):
    """The query ran past sql_timeout_s and was cancelled."""


@dataclass
class SqlResult:
    columns: list[str]
    rows: list[list]
    truncated: bool


@dataclass(frozen=True)
class _Picture:
    """The store as the engine last looked at it: each table's version (its files) and the
    partitions the inbox's rows fall into. A query reads one picture, and the engine's own
    tables as they were when that picture was committed."""

    states: dict[str, TableState]
    inbox_partitions: frozenset[tuple[str, str]]

    @functools.cached_property
    def shared_sources(self) -> list[tuple[str, Files]]:
        """The table relations over every file, as the shared views read them."""
        return _table_sources(self)


class Engine:
    def __init__(
        self, store: Store, sql_timeout_s: float = 30.0, work_dir: str | None = None
    ) -> None:
        self.store = store
        self.sql_timeout_s = sql_timeout_s
        self._deadlines = _Deadlines()
        self.work_dir = work_dir or duck.default_work_dir()
        self.tables = Tables(store)
        self._db: duckdb.DuckDBPyConnection | None = None
        self._database = ""  # the catalog's name in _db, which temporary views qualify
        self._access: duck.StoreAccess | None = None
        self._lock = threading.Lock()
        self._local = threading.local()  # the pinned cursor of a thread, if any
        self._picture = _Picture(
            {p: TableState(p, -1, ()) for p in (RUNS, SNAPSHOTS, INDEX)}, frozenset()
        )
        self._inbox: dict[str, ObjectInfo] = {}  # key -> object, of the rows in _inbox_rows
        self._inbox_lister = InboxLister(store)
        self._loader: duckdb.DuckDBPyConnection | None = None  # parses inbox spools
        self._log_sizes: SizeCache = {}  # text sizes of log objects already read
        self._log_refresh = threading.Lock()  # one refresh at a time: no write conflicts
        self._error_lines = threading.Lock()  # likewise for ERROR_LINES
        # condition -> file uri -> whether a row of the file meets it (Engine.may_hold).
        self._holds: dict[str, dict[str, bool]] = {}
        self._located: OrderedDict[str, tuple[str, str]] = OrderedDict()  # uid -> partition
        self._located_lock = threading.Lock()

    # -- public -----------------------------------------------------------------------

    def sql(
        self, text: str, limit: int = DEFAULT_LIMIT, readable: Readable | None = None
    ) -> SqlResult:
        """Run one user query over the views; with `readable`, every view shows only the rows
        the reader may read. Raises SqlRefused, SqlTimeout, SqlError, StoreError."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise SqlError(f"limit must be an integer from 1 to {MAX_LIMIT}")

        def run(con: duckdb.DuckDBPyConnection, picture: _Picture) -> tuple[list[str], list[tuple]]:
            check_sql(con, text, VIEWS)
            if readable is not None:
                _confine(con, self._database, readable)
            if names_step_failures(text):
                self._read_error_lines(con)
            relation = con.sql(text)
            # One row past the limit tells whether more exist, without computing them all.
            return relation.columns, relation.limit(limit + 1).fetchall()

        columns, rows = self._run(run, logs=_names_logs(text))
        return SqlResult(
            columns=list(columns),
            rows=[[jsonable(value) for value in row] for row in rows[:limit]],
            truncated=len(rows) > limit,
        )

    def query(
        self,
        sql: str,
        params: Sequence | Mapping | None = None,
        partitions: Partitions | None = None,
        scope: str | None = None,
    ) -> list[dict[str, Any]]:
        """Run trusted SQL (written by runlake; user input only in `params`) over the views
        and the internal relations. Values are Python's (datetime, dict, ...). With
        `partitions`, the views read only those partitions of the tables and the inbox.
        With `scope`, a condition over `runs`' columns holding only literals (a view cannot
        take parameters), every view sees just the runs it selects."""

        def run(con: duckdb.DuckDBPyConnection, picture: _Picture) -> list[dict[str, Any]]:
            wanted: dict[str, str] = {}  # temporary view -> the statement creating it
            text = sql
            if partitions is not None:
                shadows = _shadows(self._database, picture, partitions, sql)
                if scope is None and _inlinable(sql):
                    text = _with_shadows(shadows, sql)
                else:
                    wanted.update(_temp_views(shadows))
            if scope is not None:
                wanted.update(_runs_shadow(self._database, scope))
            if getattr(self._local, "pinning", False):
                # A pinned cursor carries its earlier queries' shadows: those this query
                # wants as they are stay (a run's row, then its steps), the rest go.
                made = self._local.shadows
                for name in sorted(set(made) - set(wanted)):
                    con.execute(f"DROP VIEW IF EXISTS temp.{name}")
                wanted_new = {n: s for n, s in wanted.items() if made.get(n) != s}
                self._local.shadows = wanted
            else:
                wanted_new = wanted
            for statement in wanted_new.values():
                con.execute(statement)
            if names_step_failures(sql):
                self._read_error_lines(con)
            return _dicts(con.execute(text, params))

        return self._run(run, logs=_names_logs(sql))

    def evaluate(self, sql: str, params: Sequence | Mapping | None = None) -> list[dict[str, Any]]:
        """Run trusted SQL that reads no relation, only literals and `params` (a condition
        tried over NULLs, say), in the engine's sandboxed database, without looking at the
        store first: its answer cannot depend on the store. Raises SqlError, SqlTimeout."""
        return self._run(lambda con, picture: _dicts(con.execute(sql, params)), look=False)

    @contextlib.contextmanager
    def pinned(self, logs: bool = False) -> Iterator[None]:
        """Queries in this block (in this thread) share one cursor and one picture of the
        store: one request's several queries agree, and pay for one look at the store. With
        `logs`, the block may read the logs view, whatever query comes first: its list of
        log objects is read when the block's picture is taken (a transaction begun before
        would not see it)."""
        if getattr(self._local, "pinning", False):
            yield  # already pinned further out
            return
        self._local.pinning, self._local.cursor, self._local.picture = True, None, None
        self._local.logs = logs
        self._local.shadows = {}  # the temporary views made on the pinned cursor
        try:
            yield
        finally:
            self._drop_pinned()
            self._local.pinning = False

    def locate(self, uid: str, afresh: bool = False) -> tuple[str, str] | None:
        """The (kind, date) partition of the run `uid`, from the inbox or the uid index;
        None when the store has no such run. A partition once found is remembered (a page
        that follows a run asks for it every few seconds) and answered again unless
        `afresh`: a run stays in the partition of its first snapshot, so a caller that finds
        it gone from there asks afresh (retention may have deleted it)."""
        with self._located_lock:
            where = None if afresh else self._located.get(uid)
            if where is not None:
                self._located.move_to_end(uid)
                return where
        rows = self.query(
            f"SELECT kind, date FROM {INBOX_ROWS} WHERE uid = ? UNION ALL "
            "SELECT kind, date FROM _run_index WHERE uid = ? LIMIT 1",
            [uid, uid],
        )
        if not rows:
            with self._located_lock:
                self._located.pop(uid, None)
            return None  # nothing remembered: the run may arrive later
        where = (rows[0]["kind"], rows[0]["date"])
        with self._located_lock:
            self._located[uid] = where
            if len(self._located) > _LOCATED_RUNS:
                self._located.popitem(last=False)
        return where

    def may_hold(self, condition: str) -> bool:
        """Whether a run the views show may meet `condition` (trusted SQL over the runs
        table's columns): false only when no row of the runs table's files and none of the
        inbox's does. A file never changes, so each is read once for a condition: a call
        reads only the files committed since the last. A file older than a column the
        condition may name is taken to hold such a run."""

        def run(con: duckdb.DuckDBPyConnection, picture: _Picture) -> bool:
            state = picture.states[RUNS]
            known = self._holds.get(condition, {})
            new = [f for f in state.files if f.uri not in known]
            found = dict.fromkeys((f.uri for f in new), True)  # unless read below
            whole = _split(state, new).whole
            if whole:
                counted = dict(con.execute(each_file_holds_sql(whole, condition)).fetchall())
                if set(counted) <= set(whole):  # the names as given: each file accounted for
                    found.update({uri: counted.get(uri, False) for uri in whole})
            # Files compacted or vacuumed away are forgotten.
            holds = {f.uri: known[f.uri] if f.uri in known else found[f.uri] for f in state.files}
            self._holds[condition] = holds
            if any(holds.values()):
                return True
            inbox = f"SELECT bool_or(coalesce({condition}, false)) FROM {INBOX_ROWS}"
            return bool(con.execute(inbox).fetchone()[0])

        return self._run(run)

    def newest_day(self, kinds: Sequence[str]) -> date | None:
        """The newest `date` partition of these kinds in the tables or the inbox (None: the
        store holds none), as the engine sees the store now."""
        picture = self._current_picture()
        days = [f.date for f in picture.states[RUNS].files if f.kind in kinds]
        days += [day for kind, day in picture.inbox_partitions if kind in kinds]
        return date.fromisoformat(max(days)) if days else None

    def _current_picture(self) -> _Picture:
        if getattr(self._local, "pinning", False):
            # The block's cursor, opened now if it is not yet: the block's queries then read
            # this very picture, and the store is looked at once, not once more by them.
            return self._cursor(logs=False)[1]
        with self._lock:
            if self._db is None:
                self._open_locked()
            assert self._db is not None
            self._sync(self._db)
            return self._picture

    def inbox_stats(self) -> InboxStats:
        """The inbox as the engine last saw it (looks now if it never has)."""
        with self._lock:
            if self._db is None:
                self._open_locked()
                assert self._db is not None
                self._sync(self._db)
            return inbox_stats(self._inbox.values())

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                self._inbox = {}
            if self._loader is not None:
                self._loader.close()
                self._loader = None

    # -- running ----------------------------------------------------------------------

    def _run(
        self,
        fn: Callable[[duckdb.DuckDBPyConnection, _Picture], T],
        logs: bool = False,
        look: bool = True,
    ) -> T:
        for attempt in range(_ATTEMPTS):
            last = attempt == _ATTEMPTS - 1
            if attempt:
                sleep(_BACKOFF_S * 2 ** (attempt - 1))
            try:
                con, picture, owned = self._cursor(logs, look)
            except _ListingRaced:
                if not last:  # an inbox object went while it was being read: look again
                    continue
                raise
            try:
                return self._with_timeout(con, functools.partial(fn, picture=picture))
            except (duckdb.IOException, duckdb.HTTPException) as exc:
                if not last and _vanished(exc):
                    self._drop_pinned()
                    continue
                raise StoreError(f"cannot read the store: {_first_line(exc)}") from exc
            except duckdb.PermissionException as exc:
                raise SqlRefused(f"outside the sandbox: {_first_line(exc)}") from exc
            except duckdb.Error as exc:
                raise SqlError(_first_line(exc)) from exc
            finally:
                if owned:
                    with contextlib.suppress(duckdb.Error):
                        con.close()
        raise AssertionError("unreachable")

    def _drop_pinned(self) -> None:
        cursor = getattr(self._local, "cursor", None)
        if cursor is not None:
            with contextlib.suppress(duckdb.Error):
                cursor.close()
            self._local.cursor = self._local.picture = None
            self._local.shadows = {}

    def _with_timeout(
        self, con: duckdb.DuckDBPyConnection, fn: Callable[[duckdb.DuckDBPyConnection], T]
    ) -> T:
        fired = threading.Event()

        def cancel() -> None:
            fired.set()
            with contextlib.suppress(duckdb.Error):  # the query may have just finished
                con.interrupt()

        deadline = self._deadlines.arm(self.sql_timeout_s, cancel)
        try:
            return fn(con)
        except duckdb.InterruptException as exc:
            if fired.is_set():
                raise SqlTimeout(
                    f"the query ran longer than {self.sql_timeout_s:g} s and was cancelled"
                ) from exc
            raise
        finally:
            self._deadlines.disarm(deadline)

    def _cursor(
        self, logs: bool, look: bool = True
    ) -> tuple[duckdb.DuckDBPyConnection, _Picture, bool]:
        """A cursor whose transaction began with the engine's picture current, that picture,
        and whether the caller closes it (not a pinned one). Without `look`, the picture is
        the last one taken, the store not looked at (a pinned block's first cursor looks)."""
        pinning = getattr(self._local, "pinning", False)
        if pinning and self._local.cursor is not None:
            # Its transaction sees the logs listed when it began, whatever is listed now:
            # a block that reads them lists them first (pinned(logs=True)).
            return self._local.cursor, self._local.picture, False
        with self._lock:
            if self._db is None:
                self._open_locked()
            db = self._db
            assert db is not None and self._access is not None
            logs = logs or (pinning and self._local.logs)
            try:
                if look or pinning:
                    self._access.refresh(db)
                    self._sync(db)
                if logs:
                    self._refresh_log_objects(db)
            except (duckdb.IOException, duckdb.HTTPException) as exc:
                error = _ListingRaced if _vanished(exc) else StoreError
                raise error(f"cannot read the store: {_first_line(exc)}") from exc
            cursor = db.cursor()
            # Begun under the lock: the cursor sees the engine's tables as they were when
            # this picture was committed, whatever another thread syncs meanwhile.
            cursor.execute("BEGIN TRANSACTION")
            picture = self._picture
        if pinning:  # keep it for the block's other queries
            self._local.cursor, self._local.picture = cursor, picture
            return cursor, picture, False
        return cursor, picture, True

    # -- keeping up with the store ------------------------------------------------------

    def _sync(self, db: duckdb.DuckDBPyConnection) -> None:
        """Look at the store (the inbox first, then the tables) and, if anything changed,
        bring the engine's tables and shared views up to date in one transaction."""
        for attempt in range(_SYNC_ATTEMPTS):
            try:
                self._sync_once(db, settle=attempt < _SYNC_ATTEMPTS - 1)
                return
            except _ListingRaced:
                self._inbox_lister = InboxLister(self.store)
            except BaseException:
                # The next look lists afresh: what this one listed may not all be loaded.
                self._inbox_lister = InboxLister(self.store)
                raise

    def _sync_once(self, db: duckdb.DuckDBPyConnection, settle: bool = False) -> None:
        """One look (see _sync). With `settle`, raise _ListingRaced (after rolling back) where
        a listed inbox object was gone when read: the materializer committed it after the
        tables' states were read, so this look would show neither."""
        listing = self._inbox_lister.list(known=self._inbox)
        states = {path: self.tables.state(path) for path in (RUNS, SNAPSHOTS, INDEX)}
        if self._inbox_lister.unchanged:  # what _inbox holds already
            listed, gone, new = self._inbox, [], []
        else:
            listed = {info.key: info for info in listing}
            gone = [key for key in self._inbox if key not in listed]
            new = [key for key in listed if key not in self._inbox]
        old = self._picture
        if not gone and not new and all(states[p].version == old.states[p].version for p in states):
            return
        cursor = db.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            if gone:
                cursor.execute(f"DELETE FROM {INBOX_ROWS} WHERE list_contains(?, _file)", [gone])
            if new:
                vanished = self._load_inbox(cursor, [listed[key] for key in new], states[INDEX])
                if vanished and settle:
                    raise _ListingRaced(f"inbox objects gone while read: {vanished[:3]}")
            partitions = frozenset(
                tuple(row)
                for row in cursor.execute(
                    f"SELECT DISTINCT kind, date FROM {INBOX_ROWS}"
                ).fetchall()
            )
            picture = _Picture(states, partitions)
            for statement in _source_statements(picture):
                cursor.execute(statement)
            for statement in inbox_statements():
                cursor.execute(statement)
            cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
        for key in gone:
            del self._inbox[key]
        self._inbox.update({key: listed[key] for key in new})
        self._picture = picture

    def _load_inbox(
        self, cursor: duckdb.DuckDBPyConnection, infos: list[ObjectInfo], index: TableState
    ) -> list[str]:
        """Insert the rows of these inbox objects, each in its run's partition: the uid
        index's for a run already stored, the inbox's for one seen there before, else that of
        its first snapshot here. The objects are parsed as one spool by a connection of the
        engine's own (the sandboxed one reads nothing outside the store)."""
        if self._loader is None:
            self._loader = duckdb.connect(
                config={"autoload_known_extensions": False, "autoinstall_known_extensions": False}
            )
            self._loader.execute("SET TimeZone = 'UTC'")
        # The rows stream over in batches into a temporary table of the engine's database,
        # which its memory limit governs (the sync's rollback drops it on failure). Held as one
        # Arrow table, a stalled inbox sat outside that limit: 54,039 objects were 165 MiB of
        # Arrow, and the first answer's peak RSS 1,227-1,292 MiB against 1,017-1,062 streamed.
        vanished: list[str] = []
        with spooled(self.store, infos, vanished) as spool:
            batches = self._loader.execute(read_json_sql("?"), [spool]).to_arrow_reader(
                _LOAD_BATCH_ROWS
            )
            cursor.register("_arriving", batches)
            try:
                cursor.execute("CREATE OR REPLACE TEMP TABLE _arrived AS FROM _arriving")
            finally:
                cursor.unregister("_arriving")
        if cursor.execute("SELECT count(*) FROM temp._arrived").fetchone()[0]:
            self._insert_arrived(cursor, index)
        cursor.execute("DROP TABLE temp._arrived")
        return vanished

    def _insert_arrived(self, cursor: duckdb.DuckDBPyConnection, index: TableState) -> None:
        """Insert the rows in `_arrived` into the inbox's table, each in its run's partition."""
        known = (
            f"SELECT {INDEX_COLUMNS} FROM read_parquet(?)"
            if index.files
            else "SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS kind, NULL::VARCHAR AS date "
            "WHERE false"
        )
        params: list[Any] = [[f.uri for f in index.files]] if index.files else []
        cursor.execute(
            f"""
                INSERT INTO {INBOX_ROWS} BY NAME
                WITH arrived AS (SELECT * FROM _arrived),
                     placed AS (
                        SELECT uid, kind, date FROM ({known})
                        WHERE uid IN (SELECT uid FROM arrived)
                        UNION ALL
                        SELECT uid, any_value(kind), any_value(date) FROM {INBOX_ROWS}
                        WHERE uid IN (SELECT uid FROM arrived) GROUP BY uid)
                SELECT a.* EXCLUDE (kind), coalesce(p.kind, a.kind) AS kind,
                       coalesce(p.date, first_value(strftime(coalesce(a.created_at,
                           a.received_at), '%Y-%m-%d')) OVER (PARTITION BY a.uid ORDER BY
                           a.created_at IS NULL, a.received_at, a.event_id)) AS date
                FROM arrived a LEFT JOIN (SELECT uid, any_value(kind) AS kind,
                                                 any_value(date) AS date
                                          FROM placed GROUP BY uid) p ON p.uid = a.uid""",
            params,
        )

    # -- setting up -------------------------------------------------------------------

    def _open_locked(self) -> None:
        try:
            check_layout(self.store)
        except LayoutError as exc:
            raise StoreError(str(exc)) from exc
        except StoreError as exc:
            raise StoreError(f"cannot read the store: {exc}") from exc
        db, access = duck.connect(self.store, self.work_dir, MEMORY_LIMIT)
        try:
            for statement in inbox_tables():
                db.execute(statement)
            db.execute(LOG_OBJECTS_TABLE)
            db.execute(ERROR_LINES_TABLE)
            for statement in _source_statements(self._picture):
                db.execute(statement)
            for statement in view_statements():
                db.execute(statement)
            # Parquet footers are read once per file, not once per query (in DuckDB 1.5 this is
            # the setting; enable_object_cache no longer does anything).
            db.execute("SET GLOBAL parquet_metadata_cache = true")
            # From here on nothing outside the store can be read or written, and no setting
            # (these included) can change.
            db.execute(f"SET GLOBAL allowed_directories = [{sql_string(self._allowed_root())}]")
            db.execute("SET GLOBAL enable_external_access = false")
            db.execute("SET GLOBAL lock_configuration = true")
        except BaseException:
            db.close()
            raise
        self._db, self._access = db, access
        self._database = db.execute("SELECT current_database()").fetchone()[0]
        self._inbox = {}
        self._inbox_lister = InboxLister(self.store)  # nothing listed is loaded yet
        self._picture = _Picture(
            {p: TableState(p, -1, ()) for p in (RUNS, SNAPSHOTS, INDEX)}, frozenset()
        )

    def _allowed_root(self) -> str:
        return self.store.uri("").rstrip("/") + "/"

    def _refresh_log_objects(self, db: duckdb.DuckDBPyConnection) -> None:
        """List the store's logs into LOG_OBJECTS for the `logs` view: one listing (a LIST
        per 1000 objects on S3) plus a trailer read for each object not seen before."""
        with self._log_refresh:
            self._replace_log_objects(db)

    def _replace_log_objects(self, db: duckdb.DuckDBPyConnection) -> None:
        found = list_logs(self.store, cache=self._log_sizes)
        current = {(log.key, log.stored_bytes) for log in found}
        for entry in [entry for entry in self._log_sizes if entry[:2] not in current]:
            del self._log_sizes[entry]
        listing = pa.table(
            {
                "namespace": [log.namespace for log in found],
                "uid": [log.uid for log in found],
                "step": [log.step for log in found],
                "key": [log.key for log in found],
                "size_bytes": pa.array([log.size_bytes for log in found], pa.int64()),
            }
        )
        cursor = db.cursor()
        try:
            cursor.register("_log_listing", listing)
            # Replaced in one transaction, never dropped: a query in another thread sees the
            # old listing or the new one, not a missing table.
            cursor.execute("BEGIN TRANSACTION")
            cursor.execute(f"DELETE FROM {LOG_OBJECTS}")
            cursor.execute(f"INSERT INTO {LOG_OBJECTS} SELECT * FROM _log_listing")
            cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def _read_error_lines(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the first error line of the newest failure's log of each step_failures group
        (as `con` sees them: confined, scoped) that no earlier query read, into ERROR_LINES.
        A group has one such log, so a query reads at most one log per group, once."""
        with self._error_lines:
            wanted = con.execute(
                f"SELECT DISTINCT g.namespace, g.newest_uid, g.step FROM step_failures g "
                f"ANTI JOIN {ERROR_LINES} e ON e.uid = g.newest_uid AND e.step = g.step"
            ).fetchall()
            if not wanted:
                return
            with ThreadPoolExecutor(max_workers=8) as pool:
                lines = list(pool.map(lambda found: self._error_line(*found), wanted))
            con.executemany(
                f"INSERT OR IGNORE INTO {ERROR_LINES} VALUES (?, ?, ?)",
                [[uid, step, line] for (_, uid, step), line in zip(wanted, lines, strict=True)],
            )

    def _error_line(self, namespace: str, uid: str, step: str) -> str | None:
        try:
            chunks = read_log(self.store, log_key(namespace, uid, step))
        except (FileNotFoundError, InvalidKeyPart):  # never stored, or a name no key can have
            return None
        with contextlib.closing(chunks):  # the reader may stop before the end
            return first_error_line(chunks)


def _files(state: TableState, partitions: set[tuple[str, str]] | None) -> Files:
    return _split(state, state.select(partitions=partitions))


def _split(state: TableState, chosen: Sequence[TableFile]) -> Files:
    """These files of the table, split into those read by position and the older ones."""
    # Until delta-rs merges a column this runlake knows into the table's schema (on its next
    # write), no file has it: every file is then read by name, the column null.
    current = set(TABLE_SCHEMA.names) <= set(state.columns)
    whole = [current and state.whole(f) for f in chosen]
    return Files(
        tuple(f.uri for f, by_position in zip(chosen, whole, strict=True) if by_position),
        tuple(f.uri for f, by_position in zip(chosen, whole, strict=True) if not by_position),
    )


def _table_sources(
    picture: _Picture, partitions: Partitions | None = None
) -> list[tuple[str, Files]]:
    """The relations `runs` and `snapshots` read, over the picture's files: every file, or
    just those of `partitions`. The runs table's are split by nearness to the inbox."""
    runs, snapshots = picture.states[RUNS], picture.states[SNAPSHOTS]

    def chosen(state: TableState) -> set[tuple[str, str]]:
        pairs = {(f.kind, f.date) for f in state.files}
        return pairs if partitions is None else {p for p in pairs if partitions.holds(*p)}

    wanted, near = chosen(runs), set(picture.inbox_partitions)
    return [
        (RUNS_FAR_FROM_INBOX, _files(runs, wanted - near)),
        (RUNS_NEAR_INBOX, _files(runs, wanted & near)),
        (SNAPSHOTS_TABLE, _files(snapshots, chosen(snapshots))),
    ]


def _source_statements(picture: _Picture) -> list[str]:
    """The shared relations over the picture's files: the tables' every file, the snapshots
    near the inbox (what the inbox's events are checked against), and the uid index."""
    near = set(picture.inbox_partitions)
    statements = source_statements(
        [
            *picture.shared_sources,
            (SNAPSHOTS_NEAR_INBOX, _files(picture.states[SNAPSHOTS], near)),
        ]
    )
    index_files = [f.uri for f in picture.states[INDEX].files]
    source = (
        f"SELECT {INDEX_COLUMNS} FROM read_parquet("
        + "["
        + ", ".join(sql_string(u) for u in index_files)
        + "])"
        if index_files
        else "SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS kind, NULL::VARCHAR AS date WHERE false"
    )
    return [*statements, f"CREATE OR REPLACE VIEW _run_index AS {source}"]


def _shadows(database: str, picture: _Picture, partitions: Partitions, sql: str) -> dict[str, str]:
    """The relations `sql` reads, over just `partitions` of the tables and the inbox's runs
    and events (name -> the query defining it, each after those it reads): in place of the
    shared relations of those names, the views resolve them when the query runs. The
    snapshots table and the inbox's events are shadowed only for a query that may read them,
    and `_runs` always (its parts with rows in these partitions)."""
    snapshots = _names(sql, "snapshots")
    # A relation that would read the shared one's very files needs no shadow (the newest
    # day's first page reads all the partitions near the inbox, say).
    bounded = _table_sources(picture, partitions)
    shadows = {
        name: files_source(files)
        for name, files in bounded
        if (name, files) not in picture.shared_sources and (snapshots or name != SNAPSHOTS_TABLE)
    }
    inbox = (INBOX_RUNS, INBOX_EVENTS) if snapshots else (INBOX_RUNS,)
    reached = [partitions.holds(kind, day) for kind, day in picture.inbox_partitions]
    if all(reached):
        inbox = ()  # the query reaches every partition the inbox has rows in
    for name in inbox:
        shadows[name] = f'SELECT * FROM "{database}".main.{name} WHERE {partitions.condition()}'
    files = dict(bounded)
    parts = {
        "far": bool(files[RUNS_FAR_FROM_INBOX]),
        "near": bool(files[RUNS_NEAR_INBOX]),
        "inbox": any(reached),
    }
    # Without rows of some of _runs' parts in these partitions, it reads just the others.
    shadows[RUNS_WITH_DATE] = runs_with_date_sql(**parts)
    return shadows


def _temp_views(shadows: dict[str, str]) -> dict[str, str]:
    """The shadows as temporary views of one connection (name -> the statement creating
    it): the shared `_runs` where every one of its parts has rows (it is as good)."""
    return {
        name: f"CREATE OR REPLACE TEMP VIEW {name} AS {query}"
        for name, query in shadows.items()
        if name != RUNS_WITH_DATE or query != runs_with_date_sql()
    }


_A_VIEW = re.compile(r"\b(?:" + "|".join(map(re.escape, VIEWS)) + r")\b", re.IGNORECASE)


def _inlinable(sql: str) -> bool:
    """Whether `sql` reads the relations only by name, never through a view, so that the
    shadows it reads can be its own common table expressions (a view would not see them)."""
    return _A_VIEW.search(sql) is None and not re.match(r"\s*WITH\s+RECURSIVE\b", sql, re.I)


def _with_shadows(shadows: dict[str, str], sql: str) -> str:
    """`sql` with the shadows it reads, directly or through `_runs`, as its own common table
    expressions: one statement to plan, where temporary views cost a statement each (5 of a
    run lookup's 15 ms). NOT MATERIALIZED keeps the query's filters reaching the files."""
    read = sql + " " + (shadows[RUNS_WITH_DATE] if _names(sql, RUNS_WITH_DATE) else "")
    used = [(name, query) for name, query in shadows.items() if _names(read, name)]
    if not used:
        return sql
    ctes = ", ".join(f"{name} AS NOT MATERIALIZED ({query})" for name, query in used)
    own = re.match(r"\s*WITH\b", sql, re.IGNORECASE)
    return f"WITH {ctes}, {sql[own.end() :]}" if own else f"WITH {ctes} {sql}"


def _dicts(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _confine(con: duckdb.DuckDBPyConnection, database: str, readable: Readable) -> None:
    """Shadow every view, in this connection only, by one showing just what `readable`
    permits. User SQL names views unqualified (sqlguard refuses schema and catalog names), and
    unqualified names resolve to temp objects first, so the query sees nothing else. A view
    without cluster and namespace columns shows nothing at all."""
    condition = readable.sql()
    for view in VIEWS:
        shared = f'"{database}".main."{view}"'
        try:
            con.execute(
                f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT * FROM {shared} WHERE {condition}'
            )
        except duckdb.BinderException:
            con.execute(
                f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT * FROM {shared} WHERE false'
            )


def json_row_sql(columns: Sequence[str], schema: pa.Schema = SNAPSHOT_SCHEMA) -> str:
    """A DuckDB expression rendering these columns of a row as one JSON object text, exactly
    as `jsonable` would render their values (timestamps RFC 3339 in UTC with Z, microseconds
    only when there are any; maps as objects in their stored order, keys sorted as the
    service's encoder sorts them, because the inbox stores them so; non-finite numbers as
    null), so a page of runs becomes JSON in DuckDB instead of value by value in Python.
    Give `columns` sorted for the text an answer would hold."""
    fields = []
    for name in columns:
        kind = schema.field(name).type
        column = f'"{name}"'
        if pa.types.is_timestamp(kind):
            # Formatted as the naive UTC timestamp of its epoch: strftime and microsecond
            # of a TIMESTAMPTZ go through ICU's calendar, twice as slow on a page of 1,000.
            utc = f"make_timestamp(epoch_us({column}))"
            value = (
                f"CASE WHEN {column} IS NULL THEN NULL WHEN epoch_us({column}) % 1000000"
                f" = 0 THEN strftime({utc}, '%Y-%m-%dT%H:%M:%SZ') ELSE strftime("
                f"{utc}, '%Y-%m-%dT%H:%M:%S.%fZ') END"
            )
        elif pa.types.is_floating(kind):
            value = f"CASE WHEN isfinite({column}) THEN {column} END"
        else:
            value = column
        fields.append(f"{sql_string(name)}: {value}")
    return "CAST(to_json({" + ", ".join(fields) + "}) AS VARCHAR)"


def _runs_shadow(database: str, condition: str) -> dict[str, str]:
    """`runs`, in one connection only, as just the runs `condition` selects; the views built
    on it (taskruns, steps, the insights, ...) resolve the name when a query runs."""
    return {
        "runs": f'CREATE OR REPLACE TEMP VIEW runs AS SELECT * FROM "{database}".main.runs '
        f"WHERE {condition}"
    }


def jsonable(value: Any) -> Any:
    """A DuckDB value as JSON: timestamps RFC 3339 in UTC with Z, maps and structs as objects,
    decimals and huge integers as numbers, NaN and infinities as null."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.replace(tzinfo=None).isoformat() + "Z"
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


class _Deadlines:
    """One thread that calls each armed `cancel` whose deadline passes before it is disarmed.
    A threading.Timer per query started a thread each time: about 1.5 ms of a request that
    runs three or four queries."""

    def __init__(self) -> None:
        self._due = threading.Condition()
        self._heap: list[tuple[float, int, list]] = []  # (deadline, order, [cancel or None])
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, cancel: Callable[[], None]) -> list:
        entry: list = [cancel]
        with self._due:
            heapq.heappush(self._heap, (monotonic() + seconds, next(self._order), entry))
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(target=self._watch, daemon=True)
                self._thread.start()
            self._due.notify()
        return entry

    def disarm(self, entry: list) -> None:
        """After this returns, the entry's cancel is not called (nor still running)."""
        with self._due:
            entry[0] = None

    def _watch(self) -> None:
        with self._due:
            while True:
                while self._heap and (
                    self._heap[0][2][0] is None or self._heap[0][0] <= monotonic()
                ):
                    entry = heapq.heappop(self._heap)[2]
                    cancel, entry[0] = entry[0], None
                    if cancel is not None:
                        cancel()
                self._due.wait(self._heap[0][0] - monotonic() if self._heap else None)


class _ListingRaced(StoreError):
    """An inbox object vanished (the materializer committed it) while being read."""


def _names(sql: str, name: str) -> bool:
    return re.search(rf"\b{name}\b", sql, re.IGNORECASE) is not None


def _names_logs(sql: str) -> bool:
    # Listing the logs costs a store listing; only queries that may read the view pay it.
    return _names(sql, "logs")


def _vanished(exc: BaseException) -> bool:
    text = str(exc)
    return any(sign in text for sign in ("No files found", "No such file", "404"))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]
