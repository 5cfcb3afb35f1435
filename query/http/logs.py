"""GET /v1/runs/<uid>/logs[?step=]: a run's step logs as text, streamed from the store, in
query.logs' order and format."""

from __future__ import annotations

from flask import Blueprint, Response, request

from layout.store import StoreError
from query.engine import SqlError
from query.http.access import readable
from query.http.context import get_engine, query_failed
from query.logs import LogNotFound, open_logs, run_log_parts
from service.errors import ApiError

blueprint = Blueprint("logs", __name__)


@blueprint.get("/v1/runs/<uid>/logs")
def run_logs(uid: str) -> Response:
    allowed = readable()
    step = request.args.get("step")
    engine = get_engine()
    try:
        parts = run_log_parts(engine, uid, allowed)
        if parts is None:
            raise LogNotFound(f"no run with uid {uid!r}")
        chunks = open_logs(engine.store, parts, step)
    except LogNotFound as exc:
        raise ApiError(404, "no such log", [str(exc)]) from exc
    except (StoreError, SqlError) as exc:
        raise query_failed(exc) from exc
    response = Response(chunks, content_type="text/plain; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
