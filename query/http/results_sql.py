"""The SQL of the Tekton Results API over the views: records and results as Results names
them, keyset paging in a list's order, and the record summary's aggregates. Pure text: the
HTTP module (query.http.results) parses requests and shapes answers."""

from __future__ import annotations

from typing import Any

from layout.schema import CANCELLED, FAILED, PIPELINE_RUN, RUNNING, SUCCEEDED
from query.cel import Params, status_sql


def records_cte(parent_sql: str) -> str:
    """`records`: one row per run (its latest snapshot) with the Results names. A run's
    result is the PipelineRun that owns it, else the run itself. The owner is found by the
    tekton.dev/pipelineRun label: the PipelineRun of that name in the run's cluster and
    namespace created last before the run (names are reused once the old run is deleted, and
    other clusters have their own); only without the label, or when that
    PipelineRun is not archived, are the object's ownerReferences parsed, which costs a
    JSON parse per run. Each mention of the `runs` view scans it, so there are two."""
    return f"""
WITH scoped AS (
    SELECT * FROM runs WHERE {parent_sql}
), owners AS (
    SELECT cluster, namespace, name, uid, created_at FROM pipelineruns WHERE {parent_sql}
), owned AS (
    SELECT r.*, CASE WHEN r.kind = '{PIPELINE_RUN}' THEN r.uid ELSE coalesce(p.uid,
               CASE WHEN contains(r."object", '"ownerReferences"') THEN list_filter(
                   json_extract(r."object", '$.metadata.ownerReferences[*]'),
                   lambda o: o ->> 'kind' = '{PIPELINE_RUN}')[1] ->> 'uid' END,
               r.uid) END AS result_uid
    FROM scoped r
    ASOF LEFT JOIN owners p ON p.cluster = r.cluster AND p.namespace = r.namespace
        AND p.name = r.pipeline_run AND r.created_at >= p.created_at
), records AS (
    SELECT *, namespace || '/results/' || result_uid || '/records/' || uid AS record_name,
           api_version || '.' || kind AS data_type,
           coalesce(created_at, received_at) AS create_time, received_at AS update_time,
           uid = result_uid AS is_top
    FROM owned
)"""


def json_annotation(key: str) -> str:
    value = f"t.annotations['{key}']"
    return f"CASE WHEN json_valid({value}) THEN {value} END"


def results_cte(parent_sql: str) -> str:
    """`results`: one row per result; its summary from its top-level run, when archived."""
    return f""", groups AS (
    SELECT namespace AS parent, cluster, result_uid AS uid,
           min(create_time) AS create_time, max(update_time) AS update_time
    FROM records GROUP BY namespace, cluster, result_uid
), results AS (
    SELECT g.*,
           CASE WHEN t.uid IS NOT NULL THEN g.parent || '/results/' || g.uid || '/records/'
               || g.uid END AS summary_record,
           t.api_version || '.' || t.kind AS summary_type,
           CASE WHEN t.uid IS NOT NULL THEN {status_sql("t.status")} END
               AS summary_status,
           t.started_at AS summary_start_time, t.completed_at AS summary_end_time,
           {json_annotation("results.tekton.dev/resultAnnotations")} AS result_annotations,
           {json_annotation("results.tekton.dev/recordSummaryAnnotations")}
               AS summary_annotations
    FROM groups g LEFT JOIN (SELECT * FROM runs WHERE {parent_sql}) t
        ON t.uid = g.uid AND t.namespace = g.parent
)"""


RECORD_COLUMNS = (
    "cluster, namespace, uid, name, kind, status, record_name, result_uid, data_type, "
    'create_time, update_time, started_at, completed_at, "object"'
)


def keyset_sql(order: list[tuple[str, bool]], after: list[Any] | None, params: Params) -> str:
    """Rows strictly after the previous page's last row in the page's order."""
    if after is None:
        return "true"
    placeholders = []
    for (column, _), value in zip(order, after, strict=True):
        cast = "VARCHAR" if column == "uid" else "TIMESTAMPTZ"
        placeholders.append(f"CAST({params.add(value)} AS {cast})")
    branches = []
    for i, (column, descending) in enumerate(order):
        equal = [f"{c} = {placeholders[j]}" for j, (c, _) in enumerate(order[:i])]
        branches.append(
            " AND ".join(equal + [f"{column} {'<' if descending else '>'} {placeholders[i]}"])
        )
    return "(" + " OR ".join(f"({b})" for b in branches) + ")"


def order_sql(order: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{c} {'DESC' if d else 'ASC'}" for c, d in order)


# Results' summary counts these four statuses by name and the rest as `others`.
_COUNTED = {"succeeded": SUCCEEDED, "failed": FAILED, "cancelled": CANCELLED, "running": RUNNING}
_COUNTED_LIST = ", ".join(f"'{status}'" for status in _COUNTED.values())
_STATUS_COUNTS = {
    **{name: f"status = '{status}'" for name, status in _COUNTED.items()},
    "others": f"status IS NULL OR status NOT IN ({_COUNTED_LIST})",
}
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
    "cluster": "cluster",
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


def group_sql(group_by: str) -> str:
    parts = group_by.split()
    if parts and parts[0] in TIME_GROUPS and len(parts) <= 2:
        column = "create_time"
        if len(parts) == 2:
            if parts[1] not in TIME_FIELDS:
                raise ValueError(
                    f"group_by does not recognize {parts[1]}: use completionTime or startTime"
                )
            column = TIME_FIELDS[parts[1]]
        return f"CAST(epoch(date_trunc('{parts[0]}', {column})) AS BIGINT)"
    if len(parts) == 1 and parts[0] in FIELD_GROUPS:
        return FIELD_GROUPS[parts[0]]
    raise ValueError(
        f"group_by does not recognize {group_by}: use one of "
        f"{', '.join(TIME_GROUPS + tuple(FIELD_GROUPS))}"
    )
