"""The native query API: GET /v1/runs, GET /v1/runs/<uid>, GET /v1/summary.

Every answer is confined to the namespaces of the request's query token; a run elsewhere is
answered exactly as an unknown one.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ingest.errors import RETRY_AFTER_S, ApiError
from layout.store import StoreError
from query.api import get_engine, store_unreadable
from query.engine import SqlError
from query.filters import FilterError, Filters, parse_filters
from query.paging import PageTokenError
from query.runs import get_run, list_runs
from query.summary import GROUP_BY, summarize
from query.tenancy import allowed_namespaces

blueprint = Blueprint("runs_api", __name__)


def _filters(paged: bool, extra: tuple[str, ...] = ()) -> Filters:
    try:
        return parse_filters(list(request.args.items(multi=True)), paged=paged, extra=extra)
    except FilterError as exc:
        raise ApiError(400, "invalid filters", exc.errors) from exc


def _failed(exc: Exception) -> ApiError:
    if isinstance(exc, StoreError):
        return store_unreadable(exc)
    # Filters reach DuckDB only as parameters; a failure here is the store's data, not input.
    return ApiError(503, "the archive could not be queried; retry later", [str(exc)],
                    {"Retry-After": str(RETRY_AFTER_S)})


@blueprint.get("/v1/runs")
def runs() -> Response:
    allowed = allowed_namespaces()
    filters = _filters(paged=True)
    try:
        page, token = list_runs(get_engine(), filters, allowed)
    except PageTokenError as exc:
        raise ApiError(400, "invalid filters", [str(exc)]) from exc
    except (StoreError, SqlError) as exc:
        raise _failed(exc) from exc
    return jsonify({"runs": page, "next_page_token": token})


@blueprint.get("/v1/runs/<uid>")
def run(uid: str) -> Response:
    allowed = allowed_namespaces()
    try:
        found = get_run(get_engine(), uid, allowed)
    except (StoreError, SqlError) as exc:
        raise _failed(exc) from exc
    if found is None:
        raise ApiError(404, "no such run", [f"no run with uid {uid!r}"])
    return jsonify(found)


@blueprint.get("/v1/summary")
def summary() -> Response:
    allowed = allowed_namespaces()
    problems = []
    group_by = request.args.get("group_by")
    if group_by not in GROUP_BY:
        problems.append(f"group_by: {'required' if group_by is None else repr(group_by)}; "
                        f"one of {', '.join(GROUP_BY)}")
    try:
        filters = parse_filters(list(request.args.items(multi=True)), paged=False,
                                extra=("group_by",))
    except FilterError as exc:
        problems += exc.errors
    if problems:
        raise ApiError(400, "invalid summary request", problems)
    try:
        groups = summarize(get_engine(), group_by, filters, allowed)
    except (StoreError, SqlError) as exc:
        raise _failed(exc) from exc
    return jsonify({"groups": groups})
