"""What every query request shares: the app's one Engine, made on first use (DuckDB starts
nothing at import or app creation, so a process that never queries never loads it), and the
503 a read failure answers."""

from __future__ import annotations

import threading

from flask import current_app

from layout.store import StoreError, open_store
from query.engine import Engine
from service.errors import RETRY_AFTER_S, ApiError

ENGINE_KEY = "runlake.engine"
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    extensions = current_app.extensions
    with _engine_lock:
        if ENGINE_KEY not in extensions:
            config = current_app.config
            store = open_store(config["RUNLAKE_STORE"], config.get("RUNLAKE_S3_ENDPOINT"))
            extensions[ENGINE_KEY] = Engine(
                store, sql_timeout_s=float(config.get("RUNLAKE_SQL_TIMEOUT_S") or 30.0)
            )
        return extensions[ENGINE_KEY]


def store_unreadable(exc: StoreError) -> ApiError:
    return ApiError(
        503,
        "the store cannot be read; retry later",
        [str(exc)],
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def query_failed(exc: Exception) -> ApiError:
    """503 for a read that failed: the store (StoreError), or DuckDB on the store's data
    (filters reach DuckDB only as parameters, so it is not the request's fault)."""
    if isinstance(exc, StoreError):
        return store_unreadable(exc)
    return ApiError(
        503,
        "the archive could not be queried; retry later",
        [str(exc)],
        {"Retry-After": str(RETRY_AFTER_S)},
    )
