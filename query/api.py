"""The query service's HTTP API. For now: POST /v1/sql."""

from __future__ import annotations

import threading

from flask import Blueprint, Response, current_app, jsonify, request

from ingest.errors import RETRY_AFTER_S, ApiError
from layout.store import StoreError, open_store
from query.engine import DEFAULT_LIMIT, MAX_LIMIT, Engine, SqlError, SqlRefused, SqlTimeout
from query.openapi import SPEC
from query.tenancy import allowed_namespaces

api = Blueprint("api", __name__)

ENGINE_KEY = "runlake.engine"
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The app's one Engine, made on first use (DuckDB starts nothing at import or app
    creation, so a process that never queries never loads it)."""
    extensions = current_app.extensions
    with _engine_lock:
        if ENGINE_KEY not in extensions:
            config = current_app.config
            store = open_store(config["RUNLAKE_STORE"], config.get("RUNLAKE_S3_ENDPOINT"))
            extensions[ENGINE_KEY] = Engine(
                store, sql_timeout_s=float(config.get("RUNLAKE_SQL_TIMEOUT_S") or 30.0))
        return extensions[ENGINE_KEY]


def store_unreadable(exc: StoreError) -> ApiError:
    return ApiError(503, "the store cannot be read; retry later", [str(exc)],
                    {"Retry-After": str(RETRY_AFTER_S)})


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)


@api.post("/v1/sql")
def sql() -> Response:
    # A confined token's query sees only its namespaces' rows, through every view.
    namespaces = allowed_namespaces()
    if not request.is_json:
        raise ApiError(415, "send the query as application/json",
                       ['expected {"sql": "SELECT ...", "limit": 1000}'])
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body is not a JSON object",
                       ['expected {"sql": "SELECT ...", "limit": 1000}'])
    text, limit = body.get("sql"), body.get("limit", DEFAULT_LIMIT)
    problems = []
    if not isinstance(text, str) or not text.strip():
        problems.append("sql: required, the text of one SELECT")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        problems.append(f"limit: an integer from 1 to {MAX_LIMIT}")
    if problems:
        raise ApiError(400, "invalid SQL request", problems)
    try:
        result = get_engine().sql(text, limit, namespaces=namespaces)
    except SqlTimeout as exc:
        raise ApiError(400, "the query was cancelled", [str(exc)]) from exc
    except SqlRefused as exc:
        raise ApiError(400, "the query was refused", [str(exc)]) from exc
    except SqlError as exc:
        raise ApiError(400, "the query failed", [str(exc)]) from exc
    except StoreError as exc:
        raise store_unreadable(exc) from exc
    return jsonify({"columns": result.columns, "rows": result.rows,
                    "truncated": result.truncated})
