"""GET /v1/runs and GET /v1/runs/<uid>.

Every answer is confined to what the request's reader may read; a run elsewhere is answered
exactly as an unknown one.
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, jsonify, request

from layout.store import StoreError
from query.engine import SqlError
from query.filters import FilterError, Filters, parse_filters
from query.http.access import readable
from query.http.context import get_engine, query_failed
from query.paging import PageTokenError
from query.runs import get_run, list_runs_json
from service.errors import ApiError

blueprint = Blueprint("runs", __name__)


def request_filters(paged: bool, extra: tuple[str, ...] = ()) -> Filters:
    """The request's filter parameters; 400 listing every problem."""
    try:
        return parse_filters(list(request.args.items(multi=True)), paged=paged, extra=extra)
    except FilterError as exc:
        raise ApiError(400, "invalid filters", exc.errors) from exc


@blueprint.get("/v1/runs")
def runs() -> Response:
    allowed = readable()
    filters = request_filters(paged=True)
    try:
        page, token = list_runs_json(get_engine(), filters, allowed)
    except PageTokenError as exc:
        raise ApiError(400, "invalid filters", [str(exc)]) from exc
    except (StoreError, SqlError) as exc:
        raise query_failed(exc) from exc
    # Each run's JSON goes out as DuckDB wrote it (orjson copies a Fragment's text).
    runs = [orjson.Fragment(text) for text in page]
    return jsonify({"runs": runs, "next_page_token": token})


@blueprint.get("/v1/runs/<uid>")
def run(uid: str) -> Response:
    allowed = readable()
    try:
        found = get_run(get_engine(), uid, allowed)
    except (StoreError, SqlError) as exc:
        raise query_failed(exc) from exc
    if found is None:
        raise ApiError(404, "no such run", [f"no run with uid {uid!r}"])
    return jsonify(found)
