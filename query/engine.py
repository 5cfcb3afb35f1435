"""DuckDB over the store: the views, user SQL in a sandbox, and trusted queries for the API.

One in-memory database per Engine, created on first use. Before any query runs it is set up
and then locked: the views are created, S3 credentials live only in a DuckDB secret (never in
the s3_* settings httpfs fills from the environment), external access is limited to the
store, and the configuration is frozen. Each query runs on its own cursor so threads do not
share a connection and a timeout interrupts only its own query.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import math
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from time import sleep
from typing import Any, TypeVar
from urllib.parse import urlparse

import botocore.session
import duckdb
import pyarrow as pa
from botocore.exceptions import BotoCoreError

from layout.keys import InvalidKeyPart, log_key
from layout.logs import SizeCache, list_logs, read_log
from layout.store import S3Store, Store, StoreError
from query.errorline import first_error_line
from query.insight_views import ERROR_LINES, ERROR_LINES_TABLE, names_step_failures
from query.scope import Readable
from query.sqlguard import SqlError, SqlRefused, check_sql
from query.views import (
    LOG_OBJECTS,
    LOG_OBJECTS_TABLE,
    RAW_VIEW,
    RECORDS_GLOB,
    VIEWS,
    Partitions,
    empty_source,
    parquet_source,
    sql_string,
    view_statements,
)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Engine",
    "SqlError",
    "SqlRefused",
    "SqlResult",
    "SqlTimeout",
    "StoreError",
    "httpfs_path",
    "jsonable",
]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000

# Settings httpfs copies from AWS_* variables when it loads; duckdb_settings() would show them.
_S3_CREDENTIAL_SETTINGS = ("s3_access_key_id", "s3_secret_access_key", "s3_session_token")

T = TypeVar("T")

# Tries of a query whose files vanish under it (each sees a newer listing): a partition is
# rewritten in well under a second, so a few tries, backing off, outlast its deletes.
_ATTEMPTS = 6
_BACKOFF_S = 0.02


class SqlTimeout(SqlError):
    """The query ran past sql_timeout_s and was cancelled."""


@dataclass
class SqlResult:
    columns: list[str]
    rows: list[list]
    truncated: bool


def httpfs_path() -> str:
    """The httpfs extension shipped in the duckdb-extension-httpfs wheel: no machine here
    reaches DuckDB's extension host, so it is LOADed from a file, never INSTALLed."""
    package = importlib.resources.files("duckdb_extension_httpfs")
    path = package / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not path.is_file():
        raise StoreError(f"httpfs for DuckDB {duckdb.__version__} is not installed at {path}")
    return str(path)


class Engine:
    def __init__(
        self, store: Store, sql_timeout_s: float = 30.0, work_dir: str | None = None
    ) -> None:
        self.store = store
        self.sql_timeout_s = sql_timeout_s
        # DuckDB's home (where it would look for secrets and extensions) and spill space;
        # the working directory may be read-only (Lambda), so never DuckDB's default '.tmp'.
        self.work_dir = work_dir or os.path.join(tempfile.gettempdir(), "runlake-duckdb")
        self._db: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._views_over_files: bool | None = None  # None: the views need (re)creating
        self._aws: Any = None  # botocore credentials, which refresh themselves
        self._secret: tuple | None = None  # the credentials now in the DuckDB secret
        self._log_sizes: SizeCache = {}  # text sizes of log objects already read
        self._log_refresh = threading.Lock()  # one refresh at a time: no write conflicts
        self._error_lines = threading.Lock()  # likewise for ERROR_LINES

    # -- public -----------------------------------------------------------------------

    def sql(
        self, text: str, limit: int = DEFAULT_LIMIT, readable: Readable | None = None
    ) -> SqlResult:
        """Run one user query over the views; with `readable`, every view shows only the rows
        the reader may read. Raises SqlRefused, SqlTimeout, SqlError, StoreError."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise SqlError(f"limit must be an integer from 1 to {MAX_LIMIT}")

        def run(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
            check_sql(con, text, VIEWS)
            if readable is not None:
                _confine(con, readable)
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
        and the internal `_records`. Values are Python's (datetime, dict, ...). With
        `partitions`, the views read only those partitions' files (listed afresh each try).
        With `scope`, a condition over `runs`' columns holding only literals (a view cannot
        take parameters), every view sees just the runs it selects."""

        def run(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            if partitions is not None:
                # A temp view shadows the shared one in this connection only, and the views
                # built on `_records` resolve that name when a query runs: they all read just
                # these partitions here.
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {RAW_VIEW} AS "
                    f"{self._partition_source(partitions)}"
                )
            if scope is not None:
                _shadow_runs(con, scope)
            if names_step_failures(sql):
                self._read_error_lines(con)
            result = con.execute(sql, params)
            names = [column[0] for column in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

        return self._run(run, logs=_names_logs(sql))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- running ----------------------------------------------------------------------

    def _run(self, fn: Callable[[duckdb.DuckDBPyConnection], T], logs: bool = False) -> T:
        for attempt in range(_ATTEMPTS):
            last = attempt == _ATTEMPTS - 1
            if attempt:
                # Let a rewrite in progress finish its deletes before listing again.
                sleep(_BACKOFF_S * 2 ** (attempt - 1))
            try:
                con = self._connection(logs)
            except _ListingRaced:
                if not last:  # a file went while the views were being bound: list again
                    continue
                raise
            try:
                return self._with_timeout(con, fn)
            except (duckdb.IOException, duckdb.HTTPException) as exc:
                # Files vanish under compaction and retention; listing again sees the
                # merged file (DESIGN: object layout). All of them gone: the store is empty.
                if not last and _vanished(exc):
                    with self._lock:
                        self._views_over_files = None
                    continue
                raise StoreError(f"cannot read the store: {_first_line(exc)}") from exc
            except duckdb.PermissionException as exc:
                raise SqlRefused(f"outside the sandbox: {_first_line(exc)}") from exc
            except duckdb.Error as exc:
                raise SqlError(_first_line(exc)) from exc
            finally:
                con.close()
        raise AssertionError("unreachable")

    def _with_timeout(
        self, con: duckdb.DuckDBPyConnection, fn: Callable[[duckdb.DuckDBPyConnection], T]
    ) -> T:
        fired = threading.Event()

        def cancel() -> None:
            fired.set()
            with contextlib.suppress(duckdb.Error):  # the query may have just finished
                con.interrupt()

        timer = threading.Timer(self.sql_timeout_s, cancel)
        timer.daemon = True
        timer.start()
        try:
            return fn(con)
        except duckdb.InterruptException as exc:
            if fired.is_set():
                raise SqlTimeout(
                    f"the query ran longer than {self.sql_timeout_s:g} s and was cancelled"
                ) from exc
            raise
        finally:
            timer.cancel()

    def _connection(self, logs: bool = False) -> duckdb.DuckDBPyConnection:
        """A cursor (its own connection) on the set-up database, views and secret current."""
        with self._lock:
            if self._db is None:
                self._db = self._open()
            db = self._db
            try:
                self._refresh_secret(db)
                # Once files exist the views read them; while the store is empty, look again
                # before each query, since DuckDB cannot bind read_parquet to no files.
                if not self._views_over_files:
                    over_files = self._store_has_files(db)
                    if over_files != self._views_over_files:
                        source = parquet_source(self._glob()) if over_files else empty_source()
                        for statement in view_statements(source):
                            db.execute(statement)
                        self._views_over_files = over_files
                if logs:
                    self._refresh_log_objects(db)
            except (duckdb.IOException, duckdb.HTTPException) as exc:
                error = _ListingRaced if _vanished(exc) else StoreError
                raise error(f"cannot read the store: {_first_line(exc)}") from exc
            return db.cursor()

    # -- setting up -------------------------------------------------------------------

    def _open(self) -> duckdb.DuckDBPyConnection:
        os.makedirs(os.path.join(self.work_dir, "tmp"), exist_ok=True)
        db = duckdb.connect(
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "allow_community_extensions": False,
                "allow_persistent_secrets": False,
                "home_directory": self.work_dir,
                # Never ~/.duckdb/extensions: in Lambda only /tmp is writable (httpfs itself is
                # LOADed from its wheel, see httpfs_path).
                "extension_directory": os.path.join(self.work_dir, "extensions"),
                "temp_directory": os.path.join(self.work_dir, "tmp"),
            }
        )
        try:
            db.execute("SET GLOBAL TimeZone = 'UTC'")
            if isinstance(self.store, S3Store):
                db.execute(f"LOAD {sql_string(httpfs_path())}")
                for name in _S3_CREDENTIAL_SETTINGS:
                    db.execute(f"SET GLOBAL {name} = ''")
                _assert_no_credential_settings(db)
                self._aws = botocore.session.get_session().get_credentials()
                self._refresh_secret(db)
            # From here on nothing outside the store can be read or written, and no setting
            # (these included) can change.
            db.execute(f"SET GLOBAL allowed_directories = [{sql_string(self._allowed_root())}]")
            db.execute("SET GLOBAL enable_external_access = false")
            db.execute("SET GLOBAL lock_configuration = true")
            db.execute(LOG_OBJECTS_TABLE)
            db.execute(ERROR_LINES_TABLE)
        except BaseException:
            db.close()
            raise
        return db

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

    def _allowed_root(self) -> str:
        return self.store.uri("").rstrip("/") + "/"

    def _partition_source(self, partitions: Partitions) -> str:
        uris = sorted(
            self.store.uri(info.key)
            for prefix in partitions.prefixes()
            for info in self.store.list(prefix)
            if partitions.holds(info.key)
        )
        return parquet_source(uris) if uris else empty_source()

    def _glob(self) -> str:
        return self.store.uri(RECORDS_GLOB)

    def _store_has_files(self, db: duckdb.DuckDBPyConnection) -> bool:
        # Through DuckDB itself, so the answer holds for the path read_parquet will take.
        found = db.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM glob({sql_string(self._glob())}) LIMIT 1)"
        ).fetchone()
        return bool(found and found[0])

    def _refresh_secret(self, db: duckdb.DuckDBPyConnection) -> None:
        """(Re)create the S3 secret when the credentials changed: temporary credentials from
        a role or SSO expire, and botocore hands out the refreshed ones."""
        if not isinstance(self.store, S3Store):
            return
        try:
            frozen = self._aws.get_frozen_credentials() if self._aws is not None else None
        except BotoCoreError as exc:  # e.g. an SSO or role refresh that cannot reach AWS
            raise StoreError(f"cannot get AWS credentials: {exc}") from exc
        current = (frozen.access_key, frozen.secret_key, frozen.token) if frozen else ()
        if current == self._secret:
            return
        db.execute(s3_secret_sql(self.store, *current))
        self._secret = current


def _confine(con: duckdb.DuckDBPyConnection, readable: Readable) -> None:
    """Shadow every view, in this connection only, by one showing just what `readable`
    permits. User SQL names views unqualified (sqlguard refuses schema and catalog names), and
    unqualified names resolve to temp objects first, so the query sees nothing else. A view
    without cluster and namespace columns shows nothing at all."""
    database = con.execute("SELECT current_database()").fetchone()[0]
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


def _shadow_runs(con: duckdb.DuckDBPyConnection, condition: str) -> None:
    """`runs`, in this connection only, as just the runs `condition` selects; the views built
    on it (taskruns, steps, the insights, ...) resolve the name when a query runs."""
    database = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(
        f'CREATE OR REPLACE TEMP VIEW runs AS SELECT * FROM "{database}".main.runs '
        f"WHERE {condition}"
    )


def _assert_no_credential_settings(db: duckdb.DuckDBPyConnection) -> None:
    # A DuckDB upgrade that changed how these settings scope must fail here, not leak.
    names = ", ".join(sql_string(name) for name in _S3_CREDENTIAL_SETTINGS)
    left = db.execute(
        "SELECT name FROM duckdb_settings() WHERE name IN (" + names + ")"
        " AND coalesce(value, '') <> ''"
    ).fetchall()
    if left:
        raise RuntimeError(f"DuckDB kept S3 credentials in settings {left}; refusing to start")


def s3_secret_sql(
    store: S3Store, key_id: str | None = None, secret: str | None = None, token: str | None = None
) -> str:
    options = {"TYPE": "s3", "SCOPE": store.uri(""), "REGION": store.region}
    if key_id and secret:
        options.update(KEY_ID=key_id, SECRET=secret)
    if token:
        options["SESSION_TOKEN"] = token
    if store.endpoint:
        endpoint = urlparse(store.endpoint)
        options.update(
            ENDPOINT=endpoint.netloc or endpoint.path,
            URL_STYLE="path",
            USE_SSL=endpoint.scheme != "http",
        )
    body = ", ".join(
        f"{name} {value if isinstance(value, bool) else sql_string(value)}"
        for name, value in options.items()
    )
    return f"CREATE OR REPLACE SECRET runlake_store ({body})"


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


class _ListingRaced(StoreError):
    """A file listed for the views vanished (compaction, retention) before it was read."""


def _names_logs(sql: str) -> bool:
    # Listing the logs costs a store listing; only queries that may read the view pay it.
    return re.search(r"\blogs\b", sql, re.IGNORECASE) is not None


def _vanished(exc: BaseException) -> bool:
    text = str(exc)
    return any(sign in text for sign in ("No files found", "No such file", "404"))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]
