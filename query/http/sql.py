"""POST /v1/sql: one read-only query over the views, confined to what the reader may read."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from layout.store import StoreError
from query.engine import DEFAULT_LIMIT, MAX_LIMIT, SqlError, SqlRefused, SqlTimeout
from query.http.access import readable
from query.http.context import get_engine, store_unreadable
from service.errors import ApiError

blueprint = Blueprint("sql", __name__)


@blueprint.post("/v1/sql")
def sql() -> Response:
    # A confined reader's query sees only their clusters' and namespaces' rows, in every view.
    allowed = readable()
    if not request.is_json:
        raise ApiError(
            415,
            "send the query as application/json",
            ['expected {"sql": "SELECT ...", "limit": 1000}'],
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(
            400, "the body is not a JSON object", ['expected {"sql": "SELECT ...", "limit": 1000}']
        )
    text, limit = body.get("sql"), body.get("limit", DEFAULT_LIMIT)
    problems = []
    if not isinstance(text, str) or not text.strip():
        problems.append("sql: required, the text of one SELECT")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        problems.append(f"limit: an integer from 1 to {MAX_LIMIT}")
    if problems:
        raise ApiError(400, "invalid SQL request", problems)
    try:
        result = get_engine().sql(text, limit, readable=allowed)
    except SqlTimeout as exc:
        raise ApiError(400, "the query was cancelled", [str(exc)]) from exc
    except SqlRefused as exc:
        raise ApiError(400, "the query was refused", [str(exc)]) from exc
    except SqlError as exc:
        raise ApiError(400, "the query failed", [str(exc)]) from exc
    except StoreError as exc:
        raise store_unreadable(exc) from exc
    return jsonify({"columns": result.columns, "rows": result.rows, "truncated": result.truncated})
