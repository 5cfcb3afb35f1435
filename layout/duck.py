"""DuckDB connections that reach a store: the local directory as it is, S3 through httpfs.

Extensions come from their PyPI wheels (`duckdb-extension-httpfs`, pinned to duckdb's
version) and are LOADed from the file: no machine here reaches DuckDB's extension host, so
nothing is ever INSTALLed or auto-loaded. S3 credentials live only in a DuckDB secret scoped
to the store, never in the `s3_*` settings httpfs fills from AWS_* variables when it loads
(duckdb_settings() would show them to any query), and the secret is re-created when the
credentials refresh (roles and SSO hand out temporary ones).
"""

from __future__ import annotations

import importlib.resources
import os
import tempfile
from urllib.parse import urlparse

import botocore.session
import duckdb
from botocore.exceptions import BotoCoreError

from layout.literals import sql_string
from layout.store import S3Store, Store, StoreError

# Settings httpfs copies from AWS_* variables when it loads; duckdb_settings() would show them.
S3_CREDENTIAL_SETTINGS = ("s3_access_key_id", "s3_secret_access_key", "s3_session_token")


def extension_path(name: str) -> str:
    """The extension `name` shipped in the duckdb-extension-<name> wheel at duckdb's version."""
    package = importlib.resources.files(f"duckdb_extension_{name}")
    path = package / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise StoreError(f"{name} for DuckDB {duckdb.__version__} is not installed at {path}")
    return str(path)


def httpfs_path() -> str:
    return extension_path("httpfs")


def default_work_dir() -> str:
    """DuckDB's home and spill space: under the temporary directory, because the working
    directory may be read-only (Lambda), so never DuckDB's default '.tmp'."""
    return os.path.join(tempfile.gettempdir(), "runlake-duckdb")


def connect(
    store: Store, work_dir: str | None = None, memory_limit: str | None = None
) -> tuple[duckdb.DuckDBPyConnection, StoreAccess]:
    """An in-memory database that reads `store`, and the object that keeps its S3 secret
    current (call `access.refresh(db)` before each use). Raises StoreError."""
    work_dir = work_dir or default_work_dir()
    os.makedirs(os.path.join(work_dir, "tmp"), exist_ok=True)
    config = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_persistent_secrets": False,
        "home_directory": work_dir,
        "extension_directory": os.path.join(work_dir, "extensions"),
        "temp_directory": os.path.join(work_dir, "tmp"),
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    db = duckdb.connect(config=config)
    access = StoreAccess(store)
    try:
        db.execute("SET GLOBAL TimeZone = 'UTC'")
        if isinstance(store, S3Store):
            db.execute(f"LOAD {sql_string(httpfs_path())}")
            for name in S3_CREDENTIAL_SETTINGS:
                db.execute(f"SET GLOBAL {name} = ''")
            assert_no_credential_settings(db)
            access.refresh(db)
    except BaseException:
        db.close()
        raise
    return db, access


class StoreAccess:
    """The store's S3 credentials as a DuckDB secret, re-created when botocore's refresh."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._aws = (
            botocore.session.get_session().get_credentials() if isinstance(store, S3Store) else None
        )
        self._current: tuple | None = None

    def refresh(self, db: duckdb.DuckDBPyConnection) -> None:
        if not isinstance(self.store, S3Store):
            return
        try:
            frozen = self._aws.get_frozen_credentials() if self._aws is not None else None
        except BotoCoreError as exc:  # e.g. an SSO or role refresh that cannot reach AWS
            raise StoreError(f"cannot get AWS credentials: {exc}") from exc
        current = (frozen.access_key, frozen.secret_key, frozen.token) if frozen else ()
        if current == self._current:
            return
        db.execute(s3_secret_sql(self.store, *current))
        self._current = current


def assert_no_credential_settings(db: duckdb.DuckDBPyConnection) -> None:
    # A DuckDB upgrade that changed how these settings scope must fail here, not leak.
    names = ", ".join(sql_string(name) for name in S3_CREDENTIAL_SETTINGS)
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
