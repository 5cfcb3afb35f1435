"""GET /v1/summary?group_by=...: totals, success rate and durations per group, over the runs
the filters and the reader's clusters and namespaces select."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from layout.store import StoreError
from query.engine import SqlError
from query.filters import FilterError, parse_filters
from query.http.access import readable
from query.http.context import get_engine, query_failed
from query.summary import GROUP_BY, summarize
from service.errors import ApiError

blueprint = Blueprint("summary", __name__)


@blueprint.get("/v1/summary")
def summary() -> Response:
    allowed = readable()
    problems = []
    group_by = request.args.get("group_by")
    if group_by not in GROUP_BY:
        problems.append(
            f"group_by: {'required' if group_by is None else repr(group_by)}; "
            f"one of {', '.join(GROUP_BY)}"
        )
    try:
        filters = parse_filters(
            list(request.args.items(multi=True)), paged=False, extra=("group_by",)
        )
    except FilterError as exc:
        problems += exc.errors
    if problems:
        raise ApiError(400, "invalid summary request", problems)
    try:
        groups = summarize(get_engine(), group_by, filters, allowed)
    except (StoreError, SqlError) as exc:
        raise query_failed(exc) from exc
    return jsonify({"groups": groups})
