"""The SQL of the Tekton Results API over the views: records and results as Results names
them (Log records included), keyset paging in a list's order, and the record summary's
aggregates. Pure text: the HTTP module (query.http.results) parses requests and shapes
answers."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import Any

from layout.literals import sql_string
from layout.schema import PIPELINE_RUN, TASK_RUN
from query.cel import Params, status_sql
from query.views import RUNS_WITH_DATE, null_columns

LOG_TYPE = "results.tekton.dev/v1alpha3.Log"
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def log_uid(result_uid: str, run_uid: str) -> str:
    """A Log record's name, as Results' watcher makes it: UUID v3 (MD5) of the run's uid in
    the result's uid as namespace (a uid that is not a UUID, never one from Kubernetes,
    stands for the MD5 of its text). LOG_UID_SQL computes the same in SQL."""
    if re.fullmatch(_UUID, result_uid):
        namespace = uuid.UUID(result_uid)
    else:
        namespace = uuid.UUID(bytes=hashlib.md5(result_uid.encode()).digest())
    return str(uuid.uuid3(namespace, run_uid))


def _uuid3_sql(namespace: str, name: str) -> str:
    digest = (
        f"md5(CASE WHEN regexp_full_match({namespace}, '{_UUID}') "
        f"THEN unhex(replace({namespace}, '-', '')) ELSE unhex(md5({namespace})) END "
        f"|| encode({name}))"
    )
    # Version 3 in the 13th hex digit, the RFC 4122 variant (8, 9, a or b) in the 17th.
    return (
        f"(SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-3' || substr(h, 14, 3) || '-'"
        " || substr('89ab', ((strpos('0123456789abcdef', substr(h, 17, 1)) - 1) & 3) + 1, 1)"
        f" || substr(h, 18, 3) || '-' || substr(h, 21, 12) FROM (SELECT {digest} AS h))"
    )


LOG_UID_SQL = _uuid3_sql("result_uid", "uid")


# The columns that hold most of a run's bytes: a query that names none of them need not read
# them (the object of a page's runs is read afterwards, `RUN_OBJECTS_SQL`).
HEAVY_COLUMNS: dict[str, str] = {
    '"object"': "VARCHAR",
    "labels": "MAP(VARCHAR, VARCHAR)",
    "annotations": "MAP(VARCHAR, VARCHAR)",
}


def unread_columns(sql: str) -> tuple[str, ...]:
    """The heavy columns that this SQL (a translated filter, say) does not name."""
    return tuple(column for column in HEAVY_COLUMNS if column not in sql)


# A run stored without ownerReferences whose tekton.dev/pipelineRun label names its owner:
# only such runs need the join that finds the PipelineRun by name.
OWNED_BY_LABEL_SQL = (
    f"kind <> '{PIPELINE_RUN}' AND pipeline_run_uid IS NULL AND pipeline_run IS NOT NULL"
)


# The columns of `records` a Log record has (log_records below): every other is NULL in
# every Log record.
LOG_RECORD_COLUMNS = frozenset(
    {
        *("cluster", "namespace", "uid", "short_name", "name", "kind", "api_version"),
        *("result_uid", "data_type", "create_time", "update_time", "log_of", "log_kind"),
        *("object", "record_name", "is_top"),
    }
)


def log_probe_sql(where: str, parameters: int) -> str:
    """One row, `met`: whether `where` (a translated records filter with this many
    parameters) holds for a Log record. It binds only where `where` reads no column a Log
    record has, so that its value is the same for every Log record; else DuckDB refuses it
    (a Binder Error), and any Log record may meet it."""
    # Each parameter is named: DuckDB refuses a value that the statement does not use.
    named = "".join(f", ${n} AS _p{n}" for n in range(1, parameters + 1))
    return (
        f"SELECT coalesce(({where}), false) AS met{named} "
        f"FROM (SELECT {null_columns(LOG_RECORD_COLUMNS)}, NULL::VARCHAR AS date) AS records"
    )


def records_cte(
    parent_sql: str,
    with_logs: bool = False,
    leave_out: Sequence[str] = (),
    owned_by_label: bool = True,
) -> str:
    """`records`: one row per run (its latest snapshot) with the Results names, and, with
    `with_logs`, one Log record per run whose logs are stored (a PipelineRun's are its
    TaskRuns'). The heavy columns in `leave_out` are NULL in the runs' records. A run's
    result is the PipelineRun that owns it, else the run itself. The owner is the
    PipelineRun its ownerReferences name (stored with each snapshot as `pipeline_run_uid`);
    for a run stored without them, the PipelineRun its tekton.dev/pipelineRun label names in
    its cluster and namespace, created last before the run (names are reused once the old
    run is deleted, and other clusters have their own). `owned_by_label` false says no run
    meets OWNED_BY_LABEL_SQL: the join by name, which reads every PipelineRun, is left out."""
    nulls = ", ".join(f"NULL::{HEAVY_COLUMNS[c]} AS {c}" for c in leave_out)
    columns = f"* REPLACE ({nulls})" if nulls else "*"
    by_label = (
        ""
        if not owned_by_label
        else f"""
    UNION ALL
    SELECT r.*, coalesce(p.uid, r.uid) AS result_uid
    FROM (SELECT * FROM scoped WHERE {OWNED_BY_LABEL_SQL}) r
    ASOF LEFT JOIN (SELECT cluster, namespace, name, uid, created_at FROM scoped
                    WHERE kind = '{PIPELINE_RUN}') p
        ON p.cluster = r.cluster AND p.namespace = r.namespace AND p.name = r.pipeline_run
        AND r.created_at >= p.created_at"""
    )
    runs = f"""
WITH scoped AS NOT MATERIALIZED (
    SELECT {columns} FROM {RUNS_WITH_DATE} WHERE {parent_sql}
), owned AS NOT MATERIALIZED (
    SELECT r.*, CASE WHEN r.kind = '{PIPELINE_RUN}' THEN r.uid
                     ELSE coalesce(r.pipeline_run_uid, r.uid) END AS result_uid
    FROM scoped r
    WHERE r.kind = '{PIPELINE_RUN}' OR r.pipeline_run_uid IS NOT NULL
          OR r.pipeline_run IS NULL{by_label}
), run_records AS NOT MATERIALIZED (
    SELECT *, uid AS short_name, api_version || '.' || kind AS data_type,
           coalesce(created_at, received_at) AS create_time, received_at AS update_time
    FROM owned
)"""
    if not with_logs:
        return runs + ", records AS (" + _named("run_records") + ")"
    return (
        runs
        + f""", stored AS (
    SELECT cluster, namespace, uid, sum(size_bytes) AS size FROM logs
    WHERE available AND {parent_sql} GROUP BY cluster, namespace, uid
), logged AS (
    SELECT r.cluster, r.namespace, r.uid, r.name, r.kind, r.result_uid, r.create_time,
           r.update_time, s.size
    FROM run_records r JOIN stored s
        ON s.cluster = r.cluster AND s.namespace = r.namespace AND s.uid = r.uid
    WHERE r.kind = '{TASK_RUN}'
    UNION ALL
    SELECT p.cluster, p.namespace, p.uid, p.name, p.kind, p.result_uid, p.create_time,
           p.update_time, sum(s.size)
    FROM run_records p
    JOIN run_records c ON c.cluster = p.cluster AND c.namespace = p.namespace
        AND c.result_uid = p.uid
        AND c.kind = '{TASK_RUN}'
    JOIN stored s ON s.cluster = c.cluster AND s.namespace = c.namespace AND s.uid = c.uid
    WHERE p.kind = '{PIPELINE_RUN}'
    GROUP BY ALL
), log_records AS (
    SELECT cluster, namespace, log_uid AS uid, log_uid AS short_name, name || '-log' AS name,
           'Log' AS kind, 'results.tekton.dev/v1alpha3' AS api_version, result_uid,
           '{LOG_TYPE}' AS data_type, create_time, update_time, uid AS log_of,
           kind AS log_kind, {_log_json()} AS "object"
    FROM (SELECT *, {LOG_UID_SQL} AS log_uid FROM logged)
), records AS (
    {_named("run_records")} UNION ALL BY NAME {_named("log_records")}
)"""
    )


def _named(source: str) -> str:
    return (
        f"SELECT *, namespace || '/results/' || result_uid || '/records/' || short_name "
        f"AS record_name, uid = result_uid AS is_top FROM {source}"
    )


def _log_json() -> str:
    """The Log record's data (tektoncd/results pkg/apis/v1alpha3/types.go); its `size` is the
    stored text's, before the `[step]` prefixes the log answer adds."""
    return (
        "json_object('kind', 'Log', 'apiVersion', 'results.tekton.dev/v1alpha3', "
        "'metadata', json_object('name', name || '-log', 'namespace', namespace, "
        "'uid', log_uid, 'creationTimestamp', NULL), "
        "'spec', json_object('resource', json_object('kind', kind, 'namespace', namespace, "
        "'name', name, 'uid', uid), 'type', 'File'), "
        "'status', json_object('size', size, 'isStored', true, 'errorOnStoreMsg', '', "
        "'isRetryableErr', false))::VARCHAR"
    )


def json_annotation(key: str) -> str:
    value = f"t.annotations['{key}']"
    return f"CASE WHEN json_valid({value}) THEN {value} END"


def results_cte(parent_sql: str) -> str:
    """`results`: one row per result; its summary from its top-level run, when archived.
    Its annotations, as Results' watcher writes them: the top run's name under
    `object.metadata.name` and the keys of its results.tekton.dev/resultAnnotations."""
    return f""", groups AS (
    SELECT namespace AS parent, cluster, result_uid AS uid,
           min(create_time) AS create_time, max(update_time) AS update_time
    FROM records GROUP BY namespace, cluster, result_uid
), results AS (
    SELECT g.*,
           CASE WHEN t.uid IS NOT NULL THEN g.parent || '/results/' || g.uid || '/records/'
               || g.uid END AS summary_record,
           t.api_version || '.' || t.kind AS summary_type,
           CASE WHEN t.uid IS NOT NULL THEN {status_sql("t.status")} END AS summary_status,
           t.started_at AS summary_start_time, t.completed_at AS summary_end_time,
           CASE WHEN t.uid IS NOT NULL THEN json_merge_patch(
               json_object('object.metadata.name', t.name),
               coalesce({json_annotation("results.tekton.dev/resultAnnotations")}, '{{}}'))
           END AS result_annotations,
           {json_annotation("results.tekton.dev/recordSummaryAnnotations")}
               AS summary_annotations
    FROM groups g LEFT JOIN (SELECT * FROM runs WHERE {parent_sql}) t
        ON t.uid = g.uid AND t.namespace = g.parent AND t.cluster = g.cluster
)"""


def run_objects_sql(uids: Sequence[str]) -> str:
    """The stored objects of a page's run records, read after the page is chosen so that
    only these rows' objects are read. The uids are literals (escaped)
    because DuckDB pushes a literal IN list into the scan, and a list parameter not."""
    listed = ", ".join(sql_string(uid) for uid in uids)
    return f'SELECT uid, "object" FROM {RUNS_WITH_DATE} WHERE uid IN ({listed})'


RECORD_COLUMNS = (
    "cluster, namespace, uid, short_name, name, kind, status, record_name, result_uid, "
    "data_type, "
    'create_time, update_time, started_at, completed_at, log_of, log_kind, "object"'
)
_NO_LOG_COLUMNS = "NULL AS log_of, NULL AS log_kind"


def record_columns(with_logs: bool) -> str:
    return (
        RECORD_COLUMNS if with_logs else RECORD_COLUMNS.replace("log_of, log_kind", _NO_LOG_COLUMNS)
    )


def keyset_sql(order: list[tuple[str, bool]], after: list[Any] | None, params: Params) -> str:
    """Rows strictly after the previous page's last row in the page's order: one column
    (NULLs last, whichever direction) then uid in the same direction."""
    if after is None:
        return "true"
    (column, descending), (_, _) = order
    value, uid = after
    beyond = "<" if descending else ">"
    uid_after = f"uid {beyond} CAST({params.add(uid)} AS VARCHAR)"
    if value is None:
        return f"({column} IS NULL AND {uid_after})"
    moment = f"CAST({params.add(value)} AS {'VARCHAR' if column == 'uid' else 'TIMESTAMPTZ'})"
    return (
        f"({column} {beyond} {moment} OR ({column} = {moment} AND {uid_after}) OR {column} IS NULL)"
    )


def order_sql(order: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{c} {'DESC' if d else 'ASC'} NULLS LAST" for c, d in order)


# Results' aggregator counts by the first condition's reason (lister/aggregator.go): Tekton's
# reasons, not runlake's `status` names.
_REASON_COUNTS = {
    "succeeded": "reason IN ('Succeeded', 'Completed')",
    "failed": "reason = 'Failed'",
    "cancelled": "reason = 'Cancelled'",
    "running": "reason = 'Running'",
    "others": "reason NOT IN ('Succeeded', 'Completed', 'Failed', 'Cancelled', 'Running')",
}
SUMMARY_FIELDS = {
    "total": "count(*)",
    **{name: f"count(*) FILTER (WHERE {cond})" for name, cond in _REASON_COUNTS.items()},
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
    """Raises ValueError with Results' message for a group_by it does not know."""
    parts = group_by.split(" ")
    if parts and parts[0] in TIME_GROUPS and len(parts) <= 2:
        column = "create_time"
        if len(parts) == 2:
            if parts[1] not in TIME_FIELDS:
                raise ValueError(f"group_by does not recognize {parts[1]}")
            column = TIME_FIELDS[parts[1]]
        return f"CAST(epoch(date_trunc('{parts[0]}', {column})) AS BIGINT)"
    if len(parts) == 1 and parts[0] in FIELD_GROUPS:
        return FIELD_GROUPS[parts[0]]
    raise ValueError(f"group_by does not recognize {group_by}")
