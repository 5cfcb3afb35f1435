"""The Tekton Results v1alpha2 REST API over the archive, read-only, answering as Results
v0.15 and later answer (grpc-gateway with proto field names), so that tkn-results and
other Results clients can point at runlake.

    /apis/results.tekton.dev/v1alpha2/parents/<parent>/results[/<result>]
        .../results/<result>/records[/<record>]   .../records/summary
        .../results/<result>/logs[/<log>]

Naming follows Results' watcher: the parent is the namespace; a result is a top-level run (a
PipelineRun, or a TaskRun/CustomRun no PipelineRun owns) named by its uid; its records are
that run, the runs it owns (ownerReferences kind PipelineRun, or the tekton.dev/pipelineRun
label) and a Log record per run whose logs are stored, named UUIDv3(result uid, run uid).
A run's record is named by its uid, and a record's `id`/`uid` is that same name (runlake
has no server-made ids). `-` stands for any parent or result. `data.type` is
`<apiVersion>.<kind>`, `data.value` the stored object's JSON in base64.

Answers leave out empty fields (an empty list is `{}`, the last page has no
`next_page_token`), as protojson does. Errors are grpc-gateway's `{"code", "message"}` with
upstream's codes: 400/3 bad input, 401/16 no token, a refused token or a namespace the token
may not read (Results never answers 403), 404/5 unknown (also any unknown path below
/apis/results.tekton.dev/), 405/12 a method a path does not serve (Results: HTTP 501),
503/14 store down.
A log is text; an error before its first byte is `{"error": {"code", "message"}}`, as
grpc-gateway sends for a streaming call.

A parent stays a namespace, as Results names it, although one archive holds many clusters:
`<ns>/results` lists that namespace's runs of every cluster the reader may read, and the CEL
field `cluster` (records and results alike) selects one: `filter=cluster == "prod-eu"`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from layout.store import StoreError
from query import paging
from query.cel import (
    LOGS,
    RECORDS,
    RESULTS,
    STATUS_NAMES,
    CelError,
    Params,
    Scope,
    record_types,
    translate,
)
from query.engine import SqlError, SqlTimeout, jsonable
from query.http.access import readable
from query.http.context import get_engine
from query.http.results_fields import apply_mask, parse_mask
from query.http.results_sql import (
    DURATIONS,
    LOG_TYPE,
    OWNED_BY_LABEL_SQL,
    SUMMARY_FIELDS,
    format_interval,
    group_sql,
    keyset_sql,
    log_probe_sql,
    order_sql,
    record_columns,
    records_cte,
    results_cte,
    run_objects_sql,
    unread_columns,
)
from query.logs import LogNotFound, results_log, run_log_parts
from query.views import Partitions
from service.errors import RETRY_AFTER_S, ApiError, http_error_response

API = "/apis/results.tekton.dev"
PREFIX = f"{API}/v1alpha2/parents"
blueprint = Blueprint("results_api", __name__, url_prefix=PREFIX)

DEFAULT_PAGE_SIZE = 50
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 5, 10000
ANY = "-"
_NAME = re.compile(r"[a-z0-9_-]{1,63}")

# HTTP status -> gRPC code, as grpc-gateway maps them the other way.
GRPC_CODES = {
    400: 3,
    401: 16,
    404: 5,
    405: 12,
    409: 6,
    413: 8,
    429: 8,
    500: 13,
    501: 12,
    503: 14,
    504: 4,
}


class StreamError(ApiError):
    """An error of the log call, which grpc-gateway words as a stream's."""


# -- errors ------------------------------------------------------------------------------


def grpc_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"code": GRPC_CODES.get(status, 2), "message": message})
    response.status_code = status
    response.headers.update(headers or {})
    return response


@blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    detail = [e for e in exc.errors if e != exc.error]
    message = exc.error + (": " + "; ".join(detail) if detail else "")
    if isinstance(exc, StreamError):
        body = json.dumps({"error": {"code": GRPC_CODES.get(exc.status, 2), "message": message}})
        return Response(body + "\n", exc.status, exc.headers, content_type="application/json")
    return grpc_error(exc.status, message, exc.headers)


@blueprint.errorhandler(StoreError)
def _store_error(exc: StoreError) -> Response:
    return grpc_error(
        503, f"the store cannot be read; retry later: {exc}", {"Retry-After": str(RETRY_AFTER_S)}
    )


@blueprint.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    current_app.logger.exception("unexpected error in the Results API")
    return grpc_error(503, "internal error; retry later", {"Retry-After": str(RETRY_AFTER_S)})


@blueprint.app_errorhandler(NotFound)
@blueprint.app_errorhandler(MethodNotAllowed)
def _no_route(exc: HTTPException) -> Response:
    """A path below /apis/results.tekton.dev/ that no route serves, as grpc-gateway's mux
    answers it: 404 `Not Found` (code 5), or for a method the path does not serve code 12
    (as 405 with Allow; grpc-gateway sends HTTP 501). Other paths keep the service's shape."""
    if not request.path.startswith(API + "/"):
        return http_error_response(exc)
    if isinstance(exc, MethodNotAllowed):
        allow = ", ".join(exc.valid_methods or ["GET"])
        return grpc_error(405, "Method Not Allowed", {"Allow": allow})
    return grpc_error(404, "Not Found")


def _invalid(message: str) -> ApiError:
    return ApiError(400, message)


NOT_FOUND = ApiError(404, "record not found")


# -- parameters --------------------------------------------------------------------------


def _param(name: str) -> str | None:
    """A field of the request message from the query, by its proto name or its JSON name
    (page_size or pageSize), as grpc-gateway reads it; a field given twice is refused."""
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
    values = request.args.getlist(name) or request.args.getlist(camel)
    if len(values) > 1:
        raise _invalid(f'too many values for field "{name}": {", ".join(values)}')
    return values[0] if values else None


def _check_name(parent: str, *names: str) -> None:
    """Results checks names before authorizing, so a malformed one is 400 without a token."""
    for part in (parent, *names):
        if not _NAME.fullmatch(part):
            raise _invalid(f"name must match ^[a-z0-9_-]{{1,63}}: {part!r}")


def _parent_condition(parent: str, params: Params) -> str:
    """Which runs a request reads: its parent's, confined to what the reader may read."""
    allowed = readable()
    confine = "true" if allowed is None else allowed.sql()
    if parent == ANY:
        return confine
    if allowed is not None and not allowed.permits_namespace(parent):
        raise ApiError(401, "permission denied", headers={"WWW-Authenticate": "permission denied"})
    return f"namespace = CAST({params.add(parent)} AS VARCHAR) AND {confine}"


def _filter(scope: Scope, params: Params) -> str:
    try:
        return translate(_param("filter"), scope, params)
    except CelError as exc:
        raise _invalid(str(exc)) from exc


def _query(sql: str, params: Params) -> list[dict[str, Any]]:
    try:
        return get_engine().query(sql, params.values)
    except SqlTimeout as exc:
        raise ApiError(504, f"the query was cancelled: {exc}") from exc
    except SqlError as exc:  # e.g. a regular expression RE2 rejects, an unknown time zone
        raise _invalid(f"the filter cannot be evaluated: {exc}") from exc


def _query_records(
    parent_sql: str,
    query: str,
    params: Params,
    with_logs: bool = False,
    leave_out: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """`query` (SQL after the records CTE) over records_cte, which leaves out the join by
    the pipelineRun label where no stored run needs it (every run stored with its
    ownerReferences, as Tekton writes them). One pinned block: the query reads the very
    files that were looked at, and the logs as they were listed for it."""
    engine = get_engine()
    with engine.pinned(logs=with_logs):
        by_label = engine.may_hold(OWNED_BY_LABEL_SQL)
        cte = records_cte(parent_sql, with_logs, leave_out, owned_by_label=by_label)
        return _query(cte + query, params)


def _answer(body: dict[str, Any]) -> Response:
    """Empty fields left out (protojson), then the `fields` mask (its first value)."""
    body = {k: v for k, v in body.items() if v not in ("", [], None, {})}
    return jsonify(apply_mask(body, parse_mask(request.args.get("fields"))))


# -- paging and ordering -----------------------------------------------------------------

RESULT_ORDER = {
    "create_time": "create_time",
    "update_time": "update_time",
    "summary.start_time": "summary_start_time",
    "summary.end_time": "summary_end_time",
}
RECORD_ORDER = {"create_time": "create_time", "update_time": "update_time"}
LOG_ORDER = {**RECORD_ORDER, "created_time": "create_time", "updated_time": "update_time"}
_ORDER = re.compile(r"([\w.]+)\s*(ASC|asc|DESC|desc)?")


def _order_by(fields: dict[str, str]) -> list[tuple[str, bool]]:
    """One field, optionally asc or desc, then the uid in the same direction; without
    order_by, by uid (Results orders by its id)."""
    text = (_param("order_by") or "").strip()
    if not text:
        return [("uid", False), ("uid", False)]
    shape = f"the value must obey the format <{'|'.join(sorted(fields))}> [asc|desc]"
    match = _ORDER.fullmatch(text)
    if not match:
        raise _invalid(f"invalid order by statement:\n{shape}")
    if match.group(1) not in fields:
        raise _invalid(
            f"{match.group(1)}: field is unknown or cannot be used in the order by clause\n{shape}"
        )
    descending = (match.group(2) or "asc").lower() == "desc"
    return [(fields[match.group(1)], descending), ("uid", descending)]


@dataclass
class Page:
    size: int
    order: list[tuple[str, bool]]
    after: list[Any] | None  # the order values of the last row of the previous page
    bound: dict[str, Any]


def _page_size(lenient: bool = False) -> int:
    raw = _param("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw, 10)
    except ValueError:
        raise _invalid(
            f'parsing field "page_size": strconv.ParseInt: parsing {json.dumps(raw)}: '
            "invalid syntax"
        ) from None
    if not -(2**31) <= size < 2**31:
        raise _invalid(
            f'parsing field "page_size": strconv.ParseInt: parsing {json.dumps(raw)}: '
            "value out of range"
        )
    if lenient:  # the logs list: Results caps it, and refuses only a negative one
        if size < 0:
            raise _invalid("PageSize should be greater than 0")
        return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if size == 0:
        return DEFAULT_PAGE_SIZE
    if not MIN_PAGE_SIZE <= size <= MAX_PAGE_SIZE:
        raise _invalid(
            f"invalid page size ({size}): value must be greater than {MIN_PAGE_SIZE} "
            f"and less than {MAX_PAGE_SIZE}"
        )
    return size


def _page(kind: str, parent: str, fields: dict[str, str], lenient: bool = False) -> Page:
    order = _order_by(fields)
    bound = {"p": parent, "q": _param("filter") or "", "o": order}
    token = (_param("page_token") or "").strip()
    after = None
    if token:
        try:
            body = paging.decode(token, kind)
            after = body["v"]
            if not isinstance(after, list) or len(after) != 2:
                raise paging.PageTokenError("malformed")
        except (paging.PageTokenError, KeyError, TypeError):
            raise _invalid("invalid page token: not a token this service gave out") from None
        _same_query(body, bound)
    return Page(_page_size(lenient), order, after, bound)


def _same_query(token: dict[str, Any], bound: dict[str, Any]) -> None:
    if token.get("p") != bound["p"]:
        raise _invalid(
            f"invalid page token: provided parent ({bound['p']}) differs from the parent "
            f"used in the previous query ({token.get('p')})"
        )
    if token.get("q") != bound["q"]:
        raise _invalid(
            "invalid page token: the provided filter differs from the filter used in the "
            f"previous query\nexpected: {token.get('q')}\ngot: {bound['q']}"
        )
    if token.get("o") != [list(o) for o in bound["o"]]:
        raise _invalid(
            "invalid page token: the provided order by clause differs from the value "
            "passed in the previous query"
        )


def _next_token(kind: str, page: Page, rows: list[dict[str, Any]]) -> str:
    if len(rows) <= page.size:
        return ""
    last = rows[page.size - 1]
    values = [jsonable(last[column]) for column, _ in page.order]
    return paging.encode({**page.bound, "v": values}, kind)


# -- answers -----------------------------------------------------------------------------


def _timestamps(created: datetime | None, updated: datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if created is not None:
        out["created_time"] = out["create_time"] = jsonable(created)
    if updated is not None:
        out["updated_time"] = out["update_time"] = jsonable(updated)
    return out


def _etag(uid: str, updated: datetime | None) -> str:
    # Results' etag: "<id>-<update time in Unix nanoseconds>".
    nanos = int(updated.timestamp() * 1_000_000) * 1000 if updated else 0
    return f"{uid}-{nanos}"


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def record_json(row: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or row["record_name"],
        "id": row["uid"],
        "uid": row["uid"],
        "data": {"type": row["data_type"], "value": _b64(row["object"] or "{}")},
        "etag": _etag(row["uid"], row["update_time"]),
        **_timestamps(row["create_time"], row["update_time"]),
    }


def _annotation_map(text: str | None) -> dict[str, str]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def result_json(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f"{row['parent']}/results/{row['uid']}",
        "id": row["uid"],
        "uid": row["uid"],
        **_timestamps(row["create_time"], row["update_time"]),
        "annotations": _annotation_map(row["result_annotations"]),
        "etag": _etag(row["uid"], row["update_time"]),
    }
    if row["summary_record"] is not None:
        summary = {
            "record": row["summary_record"],
            "type": row["summary_type"],
            "start_time": jsonable(row["summary_start_time"]),
            "end_time": jsonable(row["summary_end_time"]),
            "status": STATUS_NAMES[row["summary_status"]] if row["summary_status"] else None,
            "annotations": _annotation_map(row["summary_annotations"]),
        }
        out["summary"] = {k: v for k, v in summary.items() if v not in (None, {})}
    return {k: v for k, v in out.items() if v != {}}


# -- results -----------------------------------------------------------------------------


@blueprint.get("/<parent>/results")
def list_results(parent: str) -> Response:
    _check_name(parent)
    params = Params()
    parent_sql = _parent_condition(parent, params)
    page = _page("results", parent, RESULT_ORDER)
    where = _filter(RESULTS, params)
    rows = _query_records(
        parent_sql,
        results_cte(parent_sql)
        + f" SELECT * FROM results WHERE {where} AND {keyset_sql(page.order, page.after, params)}"
        f" ORDER BY {order_sql(page.order)} LIMIT {page.size + 1}",
        params,
    )
    return _answer(
        {
            "results": [result_json(r) for r in rows[: page.size]],
            "next_page_token": _next_token("results", page, rows),
        }
    )


@blueprint.get("/<parent>/results/<result>")
def get_result(parent: str, result: str) -> Response:
    _check_name(parent, result)
    params = Params()
    parent_sql = _parent_condition(parent, params)
    rows = _query_records(
        parent_sql,
        results_cte(parent_sql)
        + f" SELECT * FROM results WHERE uid = CAST({params.add(result)} AS VARCHAR)",
        params,
    )
    if not rows:
        raise NOT_FOUND
    return _answer(result_json(rows[0]))


# -- records -----------------------------------------------------------------------------


def _result_condition(result: str, params: Params) -> str:
    if result == ANY:
        return "true"
    return f"result_uid = CAST({params.add(result)} AS VARCHAR)"


def _may_be_logs(text: str | None, where: str, params: Params) -> bool:
    """Whether a records filter (`where`, its translation) can match Log records: only then
    are the store's logs listed and joined to the runs. Not when it names only other types
    (tkn-results' lists name the TaskRun or PipelineRun types), nor when it reads only what
    a Log record lacks and then fails (a run's label or pipeline, say)."""
    if text is None or not text.strip():
        return True
    types = record_types(text)
    if types is not None and LOG_TYPE not in types:
        return False
    try:
        probe = get_engine().evaluate(log_probe_sql(where, len(params.values)), params.values)
    except SqlError:  # it reads a column a Log record has
        return True
    return bool(probe[0]["met"])


def _record_rows(
    parent_sql: str,
    result: str,
    page: Page,
    params: Params,
    scope: Scope = RECORDS,
    only_logs: bool = False,
) -> list[dict[str, Any]]:
    where = _filter(scope, params)
    with_logs = only_logs or _may_be_logs(_param("filter"), where, params)
    in_result = _result_condition(result, params)
    logs_only = f"data_type = '{LOG_TYPE}'" if only_logs else "true"
    # The page is chosen without the runs' objects unless the filter reads them; then only
    # the page's own objects are read.
    leave_out = unread_columns(where)
    query = (
        f" SELECT {record_columns(with_logs)}, date FROM records WHERE {in_result}"
        f" AND {logs_only} AND {where} AND {keyset_sql(page.order, page.after, params)}"
        f" ORDER BY {order_sql(page.order)} LIMIT {page.size + 1}"
    )
    # The objects as of the page's own picture of the store.
    with get_engine().pinned(logs=with_logs):
        rows = _query_records(parent_sql, query, params, with_logs, leave_out)
        if '"object"' in leave_out:
            _add_objects(rows)
    return rows


def _add_objects(rows: list[dict[str, Any]]) -> None:
    """Fill in the stored objects of the run records among `rows`, read from just the
    partitions those runs are in."""
    runs = {row["uid"]: row for row in rows if row["kind"] != "Log"}
    if not runs:
        return
    partitions = Partitions.of({(row["kind"], row["date"]) for row in runs.values()})
    found = get_engine().query(run_objects_sql(list(runs)), partitions=partitions)
    for row in found:
        runs[row["uid"]]["object"] = row["object"]


@blueprint.get("/<parent>/results/<result>/records")
def list_records(parent: str, result: str) -> Response:
    _check_name(parent, result)
    params = Params()
    parent_sql = _parent_condition(parent, params)
    page = _page("records", f"{parent}/results/{result}", RECORD_ORDER)
    rows = _record_rows(parent_sql, result, page, params)
    return _answer(
        {
            "records": [record_json(r) for r in rows[: page.size]],
            "next_page_token": _next_token("records", page, rows),
        }
    )


def _one_record(parent: str, result: str, record: str) -> dict[str, Any]:
    """A record by its name: a run's first (no listing of logs), else a Log record's."""
    _check_name(parent, result, record)
    for with_logs in (False, True):
        params = Params()
        parent_sql = _parent_condition(parent, params)
        in_result = _result_condition(result, params)
        rows = _query_records(
            parent_sql,
            f" SELECT {record_columns(with_logs)} FROM records WHERE {in_result}"
            f" AND short_name = CAST({params.add(record)} AS VARCHAR)",
            params,
            with_logs,
        )
        if rows:
            return rows[0]
    raise NOT_FOUND


@blueprint.get("/<parent>/results/<result>/records/<record>")
def get_record(parent: str, result: str, record: str) -> Response:
    return _answer(record_json(_one_record(parent, result, record)))


# -- record summary ----------------------------------------------------------------------


def _summary_order(fields: list[str]) -> str:
    """`<field> ASC|DESC` (Results' code), or `ASC|DESC <field>` (Results' docs)."""
    text = (_param("order_by") or "").strip()
    if not text:
        return "group_value ASC NULLS LAST"
    parts = text.split(" ")
    directions = ("ASC", "asc", "DESC", "desc")
    if len(parts) == 2 and parts[0] in directions:
        parts.reverse()
    if len(parts) != 2 or parts[1] not in directions:
        raise _invalid(f"order_by does not recognize {text}")
    if parts[0] not in fields:
        raise _invalid(f"field name {parts[0]} is not allowed, must be one of summary")
    return f"{parts[0]} {parts[1].upper()} NULLS LAST, group_value ASC"


@blueprint.get("/<parent>/results/<result>/records/summary")
def records_summary(parent: str, result: str) -> Response:
    _check_name(parent, result)
    params = Params()
    parent_sql = _parent_condition(parent, params)
    fields = [f.strip() for f in (_param("summary") or "").split(",") if f.strip()] or ["total"]
    for field in fields:
        if field not in SUMMARY_FIELDS:
            raise _invalid(f"invalid aggregate query: {field}")
    text = _param("filter")
    where = _filter(RECORDS, params)
    select = [f"{SUMMARY_FIELDS[f]} AS {f}" for f in dict.fromkeys(fields)]
    tail = ""
    group_by = (_param("group_by") or "").strip()
    if group_by:
        try:
            select.append(f"{group_sql(group_by)} AS group_value")
        except ValueError as exc:
            raise _invalid(str(exc)) from exc
        tail = f" GROUP BY group_value ORDER BY {_summary_order(fields)}"
    in_result = _result_condition(result, params)
    rows = _query_records(
        parent_sql,
        f" SELECT {', '.join(select)} FROM records WHERE {in_result} AND {where}{tail}",
        params,
        _may_be_logs(text, where, params),
    )
    summary = [
        {k: format_interval(v) if k in DURATIONS else jsonable(v) for k, v in row.items()}
        for row in rows
    ]
    return _answer({"summary": summary})


# -- logs --------------------------------------------------------------------------------


def _log_name(row: dict[str, Any]) -> str:
    return f"{row['namespace']}/results/{row['result_uid']}/logs/{row['short_name']}"


@blueprint.get("/<parent>/results/<result>/logs")
def list_logs(parent: str, result: str) -> Response:
    """Results' ListLogs: the v1alpha3 Log records, named .../logs/<name>, filtered in the
    logs environment (`name` is the whole record name there)."""
    _check_name(parent, result)
    params = Params()
    parent_sql = _parent_condition(parent, params)
    page = _page("logs", f"{parent}/results/{result}", LOG_ORDER, lenient=True)
    rows = _record_rows(parent_sql, result, page, params, LOGS, only_logs=True)
    return _answer(
        {
            "records": [record_json(r, _log_name(r)) for r in rows[: page.size]],
            "next_page_token": _next_token("logs", page, rows),
        }
    )


@blueprint.get("/<parent>/results/<result>/logs/<log>")
def get_log(parent: str, result: str, log: str) -> Response:
    """The log of a Log record, or of the run a record names (what tkn-results asks for),
    as text in Results' format."""
    try:
        row = _one_record(parent, result, log)
    except ApiError as exc:
        raise StreamError(exc.status, exc.error, exc.errors, exc.headers) from exc
    run = row["log_of"] or row["uid"]
    engine = get_engine()
    try:
        parts = run_log_parts(engine, run, readable())
        chunks: Iterator[bytes] = results_log(engine.store, parts or [])
    except LogNotFound:
        raise StreamError(404, "record not found") from None
    response = Response(chunks, content_type="text/plain; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
