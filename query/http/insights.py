"""GET /v1/insights/<insight> (retries, flaky, queue, critical-path, usage, step-failures):
pages of the insight views, and GET /v1/insights/<insight>/runs: the runs behind a number.

Both are confined to what the reader may read (query token or Kubernetes RBAC), as every
query endpoint.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from layout.store import StoreError
from query.engine import SqlError
from query.http.access import readable
from query.http.context import get_engine, query_failed
from query.insights import (
    DRILL_PARAMS,
    INSIGHTS,
    InsightError,
    PageTokenError,
    Request,
    insight_page,
    parse_request,
    runs_behind,
)
from service.errors import ApiError

blueprint = Blueprint("insights", __name__)


def _request(insight: str, drill: tuple[str, ...] = ()) -> Request:
    if insight not in INSIGHTS:
        raise ApiError(404, "no such insight", [f"insights are {', '.join(INSIGHTS)}"])
    try:
        return parse_request(insight, list(request.args.items(multi=True)), drill=drill)
    except InsightError as exc:
        raise ApiError(400, "invalid insight request", exc.errors) from exc


@blueprint.get("/v1/insights/<insight>")
def insight(insight: str) -> Response:
    allowed = readable()
    parsed = _request(insight)
    try:
        rows, token = insight_page(get_engine(), parsed, allowed)
    except PageTokenError as exc:
        raise ApiError(400, "invalid insight request", [str(exc)]) from exc
    except (StoreError, SqlError) as exc:
        raise query_failed(exc) from exc
    return jsonify({"rows": rows, "next_page_token": token})


@blueprint.get("/v1/insights/<insight>/runs")
def insight_runs(insight: str) -> Response:
    allowed = readable()
    parsed = _request(insight, DRILL_PARAMS)
    try:
        runs, token = runs_behind(get_engine(), parsed, allowed)
    except InsightError as exc:
        raise ApiError(400, "invalid insight request", exc.errors) from exc
    except PageTokenError as exc:
        raise ApiError(400, "invalid insight request", [str(exc)]) from exc
    except (StoreError, SqlError) as exc:
        raise query_failed(exc) from exc
    return jsonify({"runs": runs, "next_page_token": token})
