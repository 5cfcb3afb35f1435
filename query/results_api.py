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
that matches the HTTP status. A parent outside the query token's namespaces is
PERMISSION_DENIED whether or not it exists (as Results' RBAC check, which looks at the
namespace only), and `-` covers only the token's namespaces.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ingest.errors import RETRY_AFTER_S, ApiError
from layout.keys import is_dns_label, is_uid
from layout.store import StoreError
from query.api import get_engine
from query.cel import RECORDS, RESULTS, CelError, Params, Scope, status_sql, translate
from query.engine import SqlError, SqlTimeout, jsonable
from query.tenancy import allowed_namespaces

PREFIX = "/apis/results.tekton.dev/v1alpha2/parents"
blueprint = Blueprint("results_api", __name__, url_prefix=PREFIX)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 10000
ANY = "-"
LOG_TYPE = "results.tekton.dev/v1alpha3.Log"
CHUNK_BYTES = 64 * 1024

# HTTP status -> gRPC code, as grpc-gateway maps them the other way.
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 10, 413: 8, 415: 3, 429: 8,
              500: 13, 501: 12, 503: 14, 504: 4}


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
    return grpc_error(503, f"the store cannot be read; retry later: {exc}",
                      {"Retry-After": str(RETRY_AFTER_S)})


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
    """Which namespaces a request reads: its parent, confined to the token's namespaces."""
    allowed = allowed_namespaces()
    if parent == ANY:
        if allowed is None:
            return "true"
        return f"list_contains(CAST({params.add(sorted(allowed))} AS VARCHAR[]), namespace)"
    if not is_dns_label(parent):
        raise _invalid(f"invalid parent {parent!r}: a namespace or -")
    if allowed is not None and parent not in allowed:
        raise ApiError(403, "permission denied")
    return f"namespace = CAST({params.add(parent)} AS VARCHAR)"


def _records_cte(parent_sql: str) -> str:
    """`records`: one row per run (its latest snapshot) with the Results names. A run's
    result is the PipelineRun that owns it, else the run itself. The owner is found by the
    tekton.dev/pipelineRun label: the PipelineRun of that name created last before the run
    (names are reused once the old run is deleted); only without the label, or when that
    PipelineRun is not archived, are the object's ownerReferences parsed, which costs a
    JSON parse per run. Each mention of the `runs` view scans it, so there are two."""
    return f"""
WITH scoped AS (
    SELECT * FROM runs WHERE {parent_sql}
), owners AS (
    SELECT namespace, name, uid, created_at FROM pipelineruns WHERE {parent_sql}
), owned AS (
    SELECT r.*, CASE WHEN r.kind = 'PipelineRun' THEN r.uid ELSE coalesce(p.uid,
               CASE WHEN contains(r."object", '"ownerReferences"') THEN list_filter(
                   json_extract(r."object", '$.metadata.ownerReferences[*]'),
                   lambda o: o ->> 'kind' = 'PipelineRun')[1] ->> 'uid' END,
               r.uid) END AS result_uid
    FROM scoped r
    ASOF LEFT JOIN owners p ON p.namespace = r.namespace AND p.name = r.pipeline_run
        AND r.created_at >= p.created_at
), records AS (
    SELECT *, namespace || '/results/' || result_uid || '/records/' || uid AS record_name,
           api_version || '.' || kind AS data_type,
           coalesce(created_at, received_at) AS create_time, received_at AS update_time,
           uid = result_uid AS is_top
    FROM owned
)"""


def _json_annotation(key: str) -> str:
    value = f"t.annotations['{key}']"
    return f"CASE WHEN json_valid({value}) THEN {value} END"


def _results_cte(parent_sql: str) -> str:
    """`results`: one row per result; its summary from its top-level run, when archived."""
    return f""", groups AS (
    SELECT namespace AS parent, result_uid AS uid,
           min(create_time) AS create_time, max(update_time) AS update_time
    FROM records GROUP BY namespace, result_uid
), results AS (
    SELECT g.*,
           CASE WHEN t.uid IS NOT NULL THEN g.parent || '/results/' || g.uid || '/records/'
               || g.uid END AS summary_record,
           t.api_version || '.' || t.kind AS summary_type,
           CASE WHEN t.uid IS NOT NULL THEN {status_sql("t.status")} END
               AS summary_status,
           t.started_at AS summary_start_time, t.completed_at AS summary_end_time,
           {_json_annotation("results.tekton.dev/resultAnnotations")} AS result_annotations,
           {_json_annotation("results.tekton.dev/recordSummaryAnnotations")}
               AS summary_annotations
    FROM groups g LEFT JOIN (SELECT * FROM runs WHERE {parent_sql}) t
        ON t.uid = g.uid AND t.namespace = g.parent
)"""


RECORD_COLUMNS = ("namespace, uid, name, kind, status, record_name, result_uid, data_type, "
                  'create_time, update_time, started_at, completed_at, "object"')


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
            raise _invalid(f"invalid order_by {part!r}: order by create_time or update_time, "
                           "each optionally asc or desc")
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
    fingerprint = hashlib.sha256(json.dumps(
        [kind, parent, request.args.get("filter", ""), order]).encode()).hexdigest()[:16]
    token = request.args.get("page_token", "").strip()
    after = None
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if decoded["f"] != fingerprint or len(decoded["v"]) != len(order):
                raise ValueError("token of another query")
            after = decoded["v"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise _invalid("invalid page_token: it belongs to another query, or is "
                           "malformed") from None
    return Page(size, order, after, fingerprint)


def _keyset(page: Page, params: Params) -> str:
    """Rows strictly after the previous page's last row in the page's order."""
    if page.after is None:
        return "true"
    placeholders = []
    for (column, _), value in zip(page.order, page.after, strict=True):
        cast = "VARCHAR" if column == "uid" else "TIMESTAMPTZ"
        placeholders.append(f"CAST({params.add(value)} AS {cast})")
    branches = []
    for i, (column, descending) in enumerate(page.order):
        equal = [f"{c} = {placeholders[j]}" for j, (c, _) in enumerate(page.order[:i])]
        branches.append(" AND ".join(equal + [f"{column} {'<' if descending else '>'} "
                                              f"{placeholders[i]}"]))
    return "(" + " OR ".join(f"({b})" for b in branches) + ")"


def _order_sql(page: Page) -> str:
    return ", ".join(f"{c} {'DESC' if d else 'ASC'}" for c, d in page.order)


def _next_token(page: Page, rows: list[dict[str, Any]]) -> str:
    if len(rows) <= page.size:
        return ""
    last = rows[page.size - 1]
    values = [jsonable(last[column]) for column, _ in page.order]
    raw = json.dumps({"f": page.fingerprint, "v": values}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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
    return {"name": row["record_name"], "id": row["uid"], "uid": row["uid"],
            "data": {"type": row["data_type"], "value": _b64(row["object"] or "{}")},
            "etag": _etag(row["uid"], row["update_time"]),
            **_timestamps(row["create_time"], row["update_time"])}


def _annotation_map(text: str | None) -> dict[str, str]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def result_json(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f"{row['parent']}/results/{row['uid']}", "id": row["uid"],
                           "uid": row["uid"],
                           **_timestamps(row["create_time"], row["update_time"])}
    annotations = _annotation_map(row["result_annotations"])
    if annotations:
        out["annotations"] = annotations
    out["etag"] = _etag(row["uid"], row["update_time"])
    if row["summary_record"] is not None:
        summary: dict[str, Any] = {"record": row["summary_record"], "type": row["summary_type"],
                                   "status": row["summary_status"]}
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
    sql = (_records_cte(parent_sql) + _results_cte(parent_sql) +
           f" SELECT * FROM results WHERE {where} AND {_keyset(page, params)}"
           f" ORDER BY {_order_sql(page)} LIMIT {page.size + 1}")
    rows = _query(sql, params)
    return jsonify({"results": [result_json(r) for r in rows[:page.size]],
                    "next_page_token": _next_token(page, rows)})


@blueprint.get("/<parent>/results/<result>")
def get_result(parent: str, result: str) -> Response:
    if parent == ANY or result == ANY:
        raise _invalid("a result is named <namespace>/results/<uid>; use the list for -")
    params = Params()
    parent_sql = _parent_condition(parent, params)
    if not is_uid(result):
        raise _not_found(f"result {parent}/results/{result}")
    sql = (_records_cte(parent_sql) + _results_cte(parent_sql) +
           f" SELECT * FROM results WHERE uid = CAST({params.add(result)} AS VARCHAR)")
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


def _record_rows(parent_sql: str, result: str, page: Page, params: Params,
                 extra: str = "true") -> list[dict[str, Any]]:
    where = _filter(RECORDS, params)
    in_result = _result_condition(result, params)
    sql = (_records_cte(parent_sql) +
           f" SELECT {RECORD_COLUMNS} FROM records WHERE {in_result}"
           f" AND {where} AND {extra} AND {_keyset(page, params)}"
           f" ORDER BY {_order_sql(page)} LIMIT {page.size + 1}")
    return _query(sql, params)


@blueprint.get("/<parent>/results/<result>/records")
def list_records(parent: str, result: str) -> Response:
    params = Params()
    page = _page("records", f"{parent}/{result}")
    rows = _record_rows(_parent_condition(parent, params), result, page, params)
    return jsonify({"records": [record_json(r) for r in rows[:page.size]],
                    "next_page_token": _next_token(page, rows)})


def _one_record(parent: str, result: str, record: str) -> dict[str, Any]:
    if parent == ANY or record == ANY:
        raise _invalid("a record is named <namespace>/results/<uid>/records/<uid>")
    params = Params()
    parent_sql = _parent_condition(parent, params)
    if not is_uid(record):
        raise _not_found(f"record {parent}/results/{result}/records/{record}")
    in_result = _result_condition(result, params)
    sql = (_records_cte(parent_sql) +
           f" SELECT {RECORD_COLUMNS} FROM records WHERE {in_result}"
           f" AND uid = CAST({params.add(record)} AS VARCHAR)")
    rows = _query(sql, params)
    if not rows:
        raise _not_found(f"record {parent}/results/{result}/records/{record}")
    return rows[0]


@blueprint.get("/<parent>/results/<result>/records/<record>")
def get_record(parent: str, result: str, record: str) -> Response:
    return jsonify(record_json(_one_record(parent, result, record)))


# -- record summary ----------------------------------------------------------------------

_STATUS_COUNTS = {"succeeded": "status = 'Succeeded'", "failed": "status = 'Failed'",
                  "cancelled": "status = 'Cancelled'", "running": "status = 'Running'",
                  "others": "status IS NULL OR status NOT IN "
                            "('Succeeded', 'Failed', 'Cancelled', 'Running')"}
SUMMARY_FIELDS = {
    "total": "count(*)",
    **{name: f"count(*) FILTER (WHERE {cond})" for name, cond in _STATUS_COUNTS.items()},
    "avg_duration": "avg(duration_seconds)",
    "min_duration": "min(duration_seconds)",
    "max_duration": "max(duration_seconds)",
    "total_duration": "sum(duration_seconds)",
    "last_runtime": "CAST(floor(max(epoch(started_at))) AS BIGINT)",
}
DURATIONS = ("avg_duration", "min_duration", "max_duration", "total_duration")
TIME_GROUPS = ("year", "month", "week", "day", "hour", "minute")
TIME_FIELDS = {"completionTime": "completed_at", "startTime": "started_at"}
FIELD_GROUPS = {
    "namespace": "namespace",
    "pipeline": "namespace || '/' || coalesce(labels['tekton.dev/pipeline'], '')",
    "repository": "namespace || '/' || "
                  "coalesce(annotations['pipelinesascode.tekton.dev/repository'], '')",
}


def format_interval(seconds: float | None) -> str | None:
    """A duration as PostgreSQL prints an interval (what Results answers): HH:MM:SS[.ffffff]."""
    if seconds is None:
        return None
    micros = round(seconds * 1_000_000)
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    whole, fraction = divmod(micros, 1_000_000)
    hours, rest = divmod(whole, 3600)
    text = f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return text + (f".{fraction:06d}".rstrip("0") if fraction else "")


def _group_sql(group_by: str) -> str:
    parts = group_by.split()
    if parts and parts[0] in TIME_GROUPS and len(parts) <= 2:
        column = "create_time"
        if len(parts) == 2:
            if parts[1] not in TIME_FIELDS:
                raise _invalid(f"group_by does not recognize {parts[1]}: use completionTime "
                               "or startTime")
            column = TIME_FIELDS[parts[1]]
        return f"CAST(epoch(date_trunc('{parts[0]}', {column})) AS BIGINT)"
    if len(parts) == 1 and parts[0] in FIELD_GROUPS:
        return FIELD_GROUPS[parts[0]]
    raise _invalid(f"group_by does not recognize {group_by}: use one of "
                   f"{', '.join(TIME_GROUPS + tuple(FIELD_GROUPS))}")


@blueprint.get("/<parent>/results/<result>/records/summary")
def records_summary(parent: str, result: str) -> Response:
    fields = [f.strip() for f in request.args.get("summary", "").split(",") if f.strip()]
    fields = fields or ["total"]
    unknown = [f for f in fields if f not in SUMMARY_FIELDS]
    if unknown:
        raise _invalid(f"invalid aggregate query: {', '.join(unknown)}; known: "
                       f"{', '.join(SUMMARY_FIELDS)}")
    group_by = request.args.get("group_by", "").strip()
    order_by = request.args.get("order_by", "").strip()
    params = Params()
    where = _filter(RECORDS, params)
    select = [f"{SUMMARY_FIELDS[f]} AS {f}" for f in dict.fromkeys(fields)]
    tail = ""
    if group_by:
        select.append(f"{_group_sql(group_by)} AS group_value")
        tail = " GROUP BY group_value"
        order = "group_value ASC NULLS LAST"
        if order_by:
            parts = order_by.split()
            if len(parts) != 2 or parts[0].upper() not in ("ASC", "DESC") \
                    or parts[1] not in fields:
                raise _invalid(f"invalid order_by {order_by!r}: ASC or DESC, then one of the "
                               "summary fields")
            order = f"{parts[1]} {parts[0].upper()} NULLS LAST, group_value ASC"
        tail += f" ORDER BY {order}"
    parent_sql = _parent_condition(parent, params)
    in_result = _result_condition(result, params)
    sql = (_records_cte(parent_sql) +
           f" SELECT {', '.join(select)} FROM records"
           f" WHERE {in_result} AND {where}{tail}")
    rows = _query(sql, params)
    summary = []
    for row in rows:
        item = {}
        for key, value in row.items():
            item[key] = format_interval(value) if key in DURATIONS else jsonable(value)
        summary.append(item)
    return jsonify({"summary": summary})


# -- logs --------------------------------------------------------------------------------

def _stored_logs(parent: str) -> dict[str, dict[str, str]]:
    """run uid -> {step: key} for every stored step log under the parent."""
    prefix = "logs/" if parent == ANY else f"logs/{parent}/"
    found: dict[str, dict[str, str]] = {}
    for info in get_engine().store.list(prefix):
        parts = info.key.split("/")
        if len(parts) == 4 and parts[3].endswith(".log.gz"):
            found.setdefault(parts[2], {})[parts[3][:-len(".log.gz")]] = info.key
    return found


def _log_name(row: dict[str, Any]) -> str:
    return f"{row['namespace']}/results/{row['result_uid']}/logs/{row['uid']}"


def log_record_json(row: dict[str, Any], steps: dict[str, str]) -> dict[str, Any]:
    log = {"kind": "Log", "apiVersion": "results.tekton.dev/v1alpha3",
           "metadata": {"uid": row["uid"], "name": f"{row['name']}-log",
                        "namespace": row["namespace"]},
           "spec": {"type": "File",
                    "resource": {"uid": row["uid"], "kind": row["kind"], "name": row["name"],
                                 "namespace": row["namespace"]}},
           "status": {"path": f"logs/{row['namespace']}/{row['uid']}/",
                      "steps": _step_order(row["object"], steps)}}
    return {"name": _log_name(row), "id": row["uid"], "uid": row["uid"],
            "data": {"type": LOG_TYPE, "value": _b64(json.dumps(log))},
            "etag": _etag(row["uid"], row["update_time"]),
            **_timestamps(row["create_time"], row["update_time"])}


def _step_order(object_json: str | None, steps: dict[str, str]) -> list[str]:
    """The stored steps in the order the TaskRun ran them, then any others by name."""
    try:
        listed = [s.get("name") for s in json.loads(object_json or "{}")
                  .get("status", {}).get("steps", []) if isinstance(s, dict)]
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
    return jsonify({"records": [log_record_json(r, stored[r["uid"]]) for r in rows[:page.size]],
                    "next_page_token": _next_token(page, rows)})


@blueprint.get("/<parent>/results/<result>/logs/<log>")
def get_log(parent: str, result: str, log: str) -> Response:
    row = _one_record(parent, result, log)
    store = get_engine().store
    keys = {info.key.rsplit("/", 1)[1][:-len(".log.gz")]: info.key
            for info in store.list(f"logs/{parent}/{log}/") if info.key.endswith(".log.gz")}
    if not keys:
        raise _not_found(f"log {parent}/results/{result}/logs/{log}")
    order = _step_order(row["object"], keys)

    # The listing above reached the store; the text streams, however large.
    def stream() -> Iterator[bytes]:
        for step in order:
            yield f"==> {step} <==\n".encode()
            last = b"\n"
            with store.open_read(keys[step]) as raw, gzip.GzipFile(fileobj=raw) as text:
                while chunk := text.read(CHUNK_BYTES):
                    last = chunk
                    yield chunk
            if not last.endswith(b"\n"):
                yield b"\n"

    return Response(stream(), mimetype="text/plain")
