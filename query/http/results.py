"""The Tekton Results v1alpha2 REST API over the archive, read-only, so that tools written
for Tekton Results (tkn-results, dashboards) can point at runlake.

    /apis/results.tekton.dev/v1alpha2/parents/<parent>/results[/<result>]
        .../results/<result>/records[/<record>]   .../records/summary
        .../results/<result>/logs[/<log>]

Naming follows Results: the parent is the namespace; a result is a top-level run (a
PipelineRun, or a TaskRun/CustomRun without an owning PipelineRun) and is named by its uid;
its records are that run and the runs it owns (ownerReferences kind PipelineRun, or the label
tekton.dev/pipelineRun); a record is named by its run's uid. `-` stands for any parent or
any result. `data.type` is `<apiVersion>.<kind>` and `data.value` the stored object's JSON
(base64, as protojson writes bytes). Fields are snake_case (grpc-gateway's UseProtoNames).

A log record is a run with stored step logs, named `.../logs/<run-uid>`; its content is every
step's text, in step order, each under a `==> <step> <==` header (as /v1/runs/<uid>/logs).

Errors answer in grpc-gateway's shape `{"code", "message", "details"}` with the gRPC code
that matches the HTTP status. A parent the reader may read in no cluster is
PERMISSION_DENIED whether or not it exists (as Results' RBAC check, which looks at the
namespace only), and `-` covers only what the reader may read.

A parent stays a namespace, as Results names it, although one archive holds many clusters:
`<ns>/results` lists that namespace's runs of every cluster the reader may read, and the CEL
field `cluster` (records and results alike) selects one: `filter=cluster == "prod-eu"`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from layout.keys import is_dns_label, is_uid
from layout.logs import parse_log_key, read_log
from layout.store import StoreError
from query import paging
from query.cel import RECORDS, RESULTS, CelError, Params, Scope, translate
from query.engine import SqlError, SqlTimeout, jsonable
from query.http.access import readable
from query.http.context import get_engine
from query.http.results_sql import (
    DURATIONS,
    RECORD_COLUMNS,
    SUMMARY_FIELDS,
    format_interval,
    group_sql,
    keyset_sql,
    order_sql,
    records_cte,
    results_cte,
)
from service.errors import RETRY_AFTER_S, ApiError

PREFIX = "/apis/results.tekton.dev/v1alpha2/parents"
blueprint = Blueprint("results_api", __name__, url_prefix=PREFIX)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 10000
ANY = "-"
LOG_TYPE = "results.tekton.dev/v1alpha3.Log"

# HTTP status -> gRPC code, as grpc-gateway maps them the other way.
GRPC_CODES = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    405: 12,
    409: 10,
    413: 8,
    415: 3,
    429: 8,
    500: 13,
    501: 12,
    503: 14,
    504: 4,
}


# -- errors ------------------------------------------------------------------------------


def grpc_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"code": GRPC_CODES.get(status, 2), "message": message, "details": []})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@blueprint.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    detail = [e for e in exc.errors if e != exc.error]
    message = exc.error + (": " + "; ".join(detail) if detail else "")
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


def _invalid(message: str) -> ApiError:
    return ApiError(400, message)


def _not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


# -- the SQL -----------------------------------------------------------------------------


def _parent_condition(parent: str, params: Params) -> str:
    """Which runs a request reads: its parent's, confined to what the reader may read."""
    allowed = readable()
    confine = "true" if allowed is None else allowed.sql()
    if parent == ANY:
        return confine
    if not is_dns_label(parent):
        raise _invalid(f"invalid parent {parent!r}: a namespace or -")
    if allowed is not None and not allowed.permits_namespace(parent):
        raise ApiError(403, "permission denied")
    return f"namespace = CAST({params.add(parent)} AS VARCHAR) AND {confine}"


def _filter(scope: Scope, params: Params) -> str:
    try:
        return translate(request.args.get("filter"), scope, params)
    except CelError as exc:
        raise _invalid(f"invalid filter: {exc}") from exc


def _query(sql: str, params: Params) -> list[dict[str, Any]]:
    try:
        return get_engine().query(sql, params.values)
    except SqlTimeout as exc:
        raise ApiError(504, f"the query was cancelled: {exc}") from exc
    except SqlError as exc:  # e.g. a regular expression RE2 rejects
        raise _invalid(f"the filter cannot be evaluated: {exc}") from exc


# -- paging and ordering -----------------------------------------------------------------

ORDER_FIELDS = ("create_time", "update_time")
_ORDER_TERM = re.compile(r"([a-z_]+)(?:\s+(asc|desc))?", re.IGNORECASE)


def _order_by(text: str | None) -> list[tuple[str, bool]]:
    """`create_time desc, update_time` -> [(column, descending)], uid last as tie-breaker."""
    terms: list[tuple[str, bool]] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        match = _ORDER_TERM.fullmatch(part)
        if not match or match.group(1) not in ORDER_FIELDS:
            raise _invalid(
                f"invalid order_by {part!r}: order by create_time or update_time, "
                "each optionally asc or desc"
            )
        terms.append((match.group(1), (match.group(2) or "asc").lower() == "desc"))
    return terms + [("uid", False)]


@dataclass
class Page:
    size: int
    order: list[tuple[str, bool]]
    after: list[Any] | None  # the sort values of the last row of the previous page
    fingerprint: str


def _page(kind: str, parent: str) -> Page:
    raw_size = request.args.get("page_size", "").strip()
    try:
        size = int(raw_size) if raw_size else 0
    except ValueError:
        raise _invalid(f"invalid page_size {raw_size!r}: an integer") from None
    if size < 0:
        raise _invalid("page_size must not be negative")
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    order = _order_by(request.args.get("order_by"))
    fingerprint = paging.fingerprint([kind, parent, request.args.get("filter", ""), order])
    token = request.args.get("page_token", "").strip()
    after = None
    if token:
        try:
            after = paging.decode(token, fingerprint)["v"]
            if not isinstance(after, list) or len(after) != len(order):
                raise paging.PageTokenError("token of another query")
        except (paging.PageTokenError, KeyError):
            raise _invalid(
                "invalid page_token: it belongs to another query, or is malformed"
            ) from None
    return Page(size, order, after, fingerprint)


def _next_token(page: Page, rows: list[dict[str, Any]]) -> str:
    if len(rows) <= page.size:
        return ""
    last = rows[page.size - 1]
    values = [jsonable(last[column]) for column, _ in page.order]
    return paging.encode({"v": values}, page.fingerprint)


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


def record_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["record_name"],
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
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def result_json(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f"{row['parent']}/results/{row['uid']}",
        "id": row["uid"],
        "uid": row["uid"],
        **_timestamps(row["create_time"], row["update_time"]),
    }
    annotations = _annotation_map(row["result_annotations"])
    if annotations:
        out["annotations"] = annotations
    out["etag"] = _etag(row["uid"], row["update_time"])
    if row["summary_record"] is not None:
        summary: dict[str, Any] = {
            "record": row["summary_record"],
            "type": row["summary_type"],
            "status": row["summary_status"],
        }
        if row["summary_start_time"] is not None:
            summary["start_time"] = jsonable(row["summary_start_time"])
        if row["summary_end_time"] is not None:
            summary["end_time"] = jsonable(row["summary_end_time"])
        summary_annotations = _annotation_map(row["summary_annotations"])
        if summary_annotations:
            summary["annotations"] = summary_annotations
        out["summary"] = summary
    return out


# -- results -----------------------------------------------------------------------------


@blueprint.get("/<parent>/results")
def list_results(parent: str) -> Response:
    params = Params()
    page = _page("results", parent)
    where = _filter(RESULTS, params)
    parent_sql = _parent_condition(parent, params)
    sql = (
        records_cte(parent_sql)
        + results_cte(parent_sql)
        + f" SELECT * FROM results WHERE {where} AND {keyset_sql(page.order, page.after, params)}"
        f" ORDER BY {order_sql(page.order)} LIMIT {page.size + 1}"
    )
    rows = _query(sql, params)
    return jsonify(
        {
            "results": [result_json(r) for r in rows[: page.size]],
            "next_page_token": _next_token(page, rows),
        }
    )


@blueprint.get("/<parent>/results/<result>")
def get_result(parent: str, result: str) -> Response:
    if parent == ANY or result == ANY:
        raise _invalid("a result is named <namespace>/results/<uid>; use the list for -")
    params = Params()
    parent_sql = _parent_condition(parent, params)
    if not is_uid(result):
        raise _not_found(f"result {parent}/results/{result}")
    sql = (
        records_cte(parent_sql)
        + results_cte(parent_sql)
        + f" SELECT * FROM results WHERE uid = CAST({params.add(result)} AS VARCHAR)"
    )
    rows = _query(sql, params)
    if not rows:
        raise _not_found(f"result {parent}/results/{result}")
    return jsonify(result_json(rows[0]))


# -- records -----------------------------------------------------------------------------


def _result_condition(result: str, params: Params) -> str:
    if result == ANY:
        return "true"
    if not is_uid(result):
        raise _invalid(f"invalid result name {result!r}: a uid or -")
    return f"result_uid = CAST({params.add(result)} AS VARCHAR)"


def _record_rows(
    parent_sql: str, result: str, page: Page, params: Params, extra: str = "true"
) -> list[dict[str, Any]]:
    where = _filter(RECORDS, params)
    in_result = _result_condition(result, params)
    sql = (
        records_cte(parent_sql) + f" SELECT {RECORD_COLUMNS} FROM records WHERE {in_result}"
        f" AND {where} AND {extra} AND {keyset_sql(page.order, page.after, params)}"
        f" ORDER BY {order_sql(page.order)} LIMIT {page.size + 1}"
    )
    return _query(sql, params)


@blueprint.get("/<parent>/results/<result>/records")
def list_records(parent: str, result: str) -> Response:
    params = Params()
    page = _page("records", f"{parent}/{result}")
    rows = _record_rows(_parent_condition(parent, params), result, page, params)
    return jsonify(
        {
            "records": [record_json(r) for r in rows[: page.size]],
            "next_page_token": _next_token(page, rows),
        }
    )


def _one_record(parent: str, result: str, record: str) -> dict[str, Any]:
    if parent == ANY or record == ANY:
        raise _invalid("a record is named <namespace>/results/<uid>/records/<uid>")
    params = Params()
    parent_sql = _parent_condition(parent, params)
    if not is_uid(record):
        raise _not_found(f"record {parent}/results/{result}/records/{record}")
    in_result = _result_condition(result, params)
    sql = (
        records_cte(parent_sql) + f" SELECT {RECORD_COLUMNS} FROM records WHERE {in_result}"
        f" AND uid = CAST({params.add(record)} AS VARCHAR)"
    )
    rows = _query(sql, params)
    if not rows:
        raise _not_found(f"record {parent}/results/{result}/records/{record}")
    return rows[0]


@blueprint.get("/<parent>/results/<result>/records/<record>")
def get_record(parent: str, result: str, record: str) -> Response:
    return jsonify(record_json(_one_record(parent, result, record)))


# -- record summary ----------------------------------------------------------------------


@blueprint.get("/<parent>/results/<result>/records/summary")
def records_summary(parent: str, result: str) -> Response:
    fields = [f.strip() for f in request.args.get("summary", "").split(",") if f.strip()]
    fields = fields or ["total"]
    unknown = [f for f in fields if f not in SUMMARY_FIELDS]
    if unknown:
        raise _invalid(
            f"invalid aggregate query: {', '.join(unknown)}; known: {', '.join(SUMMARY_FIELDS)}"
        )
    group_by = request.args.get("group_by", "").strip()
    order_by = request.args.get("order_by", "").strip()
    params = Params()
    where = _filter(RECORDS, params)
    select = [f"{SUMMARY_FIELDS[f]} AS {f}" for f in dict.fromkeys(fields)]
    tail = ""
    if group_by:
        try:
            select.append(f"{group_sql(group_by)} AS group_value")
        except ValueError as exc:
            raise _invalid(str(exc)) from exc
        tail = " GROUP BY group_value"
        order = "group_value ASC NULLS LAST"
        if order_by:
            parts = order_by.split()
            if len(parts) != 2 or parts[0].upper() not in ("ASC", "DESC") or parts[1] not in fields:
                raise _invalid(
                    f"invalid order_by {order_by!r}: ASC or DESC, then one of the summary fields"
                )
            order = f"{parts[1]} {parts[0].upper()} NULLS LAST, group_value ASC"
        tail += f" ORDER BY {order}"
    parent_sql = _parent_condition(parent, params)
    in_result = _result_condition(result, params)
    sql = (
        records_cte(parent_sql) + f" SELECT {', '.join(select)} FROM records"
        f" WHERE {in_result} AND {where}{tail}"
    )
    rows = _query(sql, params)
    summary = []
    for row in rows:
        item = {}
        for key, value in row.items():
            item[key] = format_interval(value) if key in DURATIONS else jsonable(value)
        summary.append(item)
    return jsonify({"summary": summary})


# -- logs --------------------------------------------------------------------------------


def _stored_logs(parent: str, uid: str | None = None) -> dict[str, dict[str, str]]:
    """run uid -> {step: key} for every stored step log under the parent (or of one run)."""
    prefix = "logs/" if parent == ANY else f"logs/{parent}/" + (f"{uid}/" if uid else "")
    found: dict[str, dict[str, str]] = {}
    for info in get_engine().store.list(prefix):
        parsed = parse_log_key(info.key)
        if parsed is not None:
            found.setdefault(parsed[1], {})[parsed[2]] = info.key
    return found


def _log_name(row: dict[str, Any]) -> str:
    return f"{row['namespace']}/results/{row['result_uid']}/logs/{row['uid']}"


def log_record_json(row: dict[str, Any], steps: dict[str, str]) -> dict[str, Any]:
    log = {
        "kind": "Log",
        "apiVersion": "results.tekton.dev/v1alpha3",
        "metadata": {
            "uid": row["uid"],
            "name": f"{row['name']}-log",
            "namespace": row["namespace"],
        },
        "spec": {
            "type": "File",
            "resource": {
                "uid": row["uid"],
                "kind": row["kind"],
                "name": row["name"],
                "namespace": row["namespace"],
            },
        },
        "status": {
            "path": f"logs/{row['namespace']}/{row['uid']}/",
            "steps": _step_order(row["object"], steps),
        },
    }
    return {
        "name": _log_name(row),
        "id": row["uid"],
        "uid": row["uid"],
        "data": {"type": LOG_TYPE, "value": _b64(json.dumps(log))},
        "etag": _etag(row["uid"], row["update_time"]),
        **_timestamps(row["create_time"], row["update_time"]),
    }


def _step_order(object_json: str | None, steps: dict[str, str]) -> list[str]:
    """The stored steps in the order the TaskRun ran them, then any others by name."""
    try:
        listed = [
            s.get("name")
            for s in json.loads(object_json or "{}").get("status", {}).get("steps", [])
            if isinstance(s, dict)
        ]
    except (ValueError, AttributeError):
        listed = []
    ordered = [s for s in dict.fromkeys(listed) if s in steps]
    return ordered + sorted(set(steps) - set(ordered))


@blueprint.get("/<parent>/results/<result>/logs")
def list_logs(parent: str, result: str) -> Response:
    params = Params()
    page = _page("logs", f"{parent}/{result}")
    parent_sql = _parent_condition(parent, params)  # checks the token before any listing
    stored = _stored_logs(parent)
    extra = f"list_contains(CAST({params.add(sorted(stored))} AS VARCHAR[]), uid)"
    rows = _record_rows(parent_sql, result, page, params, extra)
    return jsonify(
        {
            "records": [log_record_json(r, stored[r["uid"]]) for r in rows[: page.size]],
            "next_page_token": _next_token(page, rows),
        }
    )


@blueprint.get("/<parent>/results/<result>/logs/<log>")
def get_log(parent: str, result: str, log: str) -> Response:
    row = _one_record(parent, result, log)
    store = get_engine().store
    keys = _stored_logs(parent, log).get(log, {})
    if not keys:
        raise _not_found(f"log {parent}/results/{result}/logs/{log}")
    order = _step_order(row["object"], keys)

    # The listing above reached the store; the text streams, however large.
    def stream() -> Iterator[bytes]:
        for step in order:
            yield f"==> {step} <==\n".encode()
            last = b"\n"
            try:
                for chunk in read_log(store, keys[step]):
                    last = chunk or last
                    yield chunk
            except FileNotFoundError:
                pass  # deleted since the listing (retention): the others still stream
            if not last.endswith(b"\n"):
                yield b"\n"

    return Response(stream(), mimetype="text/plain")
