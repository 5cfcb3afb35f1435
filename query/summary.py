"""Totals per group over the latest snapshot of each run (the `runs` view's rule):
`GET /v1/summary` and `runlake summary`.

Grouping by pipeline counts PipelineRuns and by task counts TaskRuns unless a `kind` filter
says otherwise: a PipelineRun's TaskRuns carry its pipeline label too, and counting both would
count one pipeline run many times.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from layout.schema import (
    CANCELLED,
    FAILED,
    PENDING,
    PIPELINE_RUN,
    RUNNING,
    SUCCEEDED,
    TASK_RUN,
    TIMED_OUT,
)
from query.engine import Engine, jsonable
from query.filters import Filters
from query.scope import Readable

GROUP_BY: dict[str, str] = {
    "pipeline": "pipeline",
    "namespace": "namespace",
    "task": "task",
    "status": "status",
    "day": "strftime(created_at, '%Y-%m-%d')",
    # ISO weeks, keyed by their Monday.
    "week": "strftime(date_trunc('week', created_at), '%Y-%m-%d')",
    "cluster": "cluster",
}
_DEFAULT_KIND = {"pipeline": PIPELINE_RUN, "task": TASK_RUN}
_STATUS_COLUMNS = {
    "succeeded": SUCCEEDED,
    "failed": FAILED,
    "cancelled": CANCELLED,
    "timed_out": TIMED_OUT,
    "running": RUNNING,
    "pending": PENDING,
}
GROUP_FIELDS: tuple[str, ...] = (
    "key",
    "total",
    *_STATUS_COLUMNS,
    "success_rate",
    "avg_duration_seconds",
    "p50_duration_seconds",
    "p95_duration_seconds",
)


def summarize(
    engine: Engine, group_by: str, filters: Filters, allowed: Readable | None
) -> list[dict[str, Any]]:
    """One dict per group (GROUP_FIELDS). Raises KeyError for an unknown group_by."""
    key_sql = GROUP_BY[group_by]
    if not filters.kinds and group_by in _DEFAULT_KIND:
        filters = replace(filters, kinds=[_DEFAULT_KIND[group_by]])
    where, params = filters.where(allowed)
    counts = ", ".join(
        f"count(*) FILTER (WHERE status = '{status}') AS {name}"
        for name, status in _STATUS_COLUMNS.items()
    )
    # Chronological groups read oldest first; the others most runs first.
    order = "key" if group_by in ("day", "week") else "total DESC, key NULLS LAST"
    rows = engine.query(
        f"""SELECT {key_sql} AS key, count(*) AS total, {counts},
                   avg(duration_seconds) AS avg_duration_seconds,
                   quantile_cont(duration_seconds, 0.5) AS p50_duration_seconds,
                   quantile_cont(duration_seconds, 0.95) AS p95_duration_seconds
            FROM runs WHERE {where} GROUP BY ALL ORDER BY {order}""",
        params,
        partitions=filters.partitions(),
    )
    groups = []
    for row in rows:
        finished = row["succeeded"] + row["failed"] + row["cancelled"] + row["timed_out"]
        row["success_rate"] = row["succeeded"] / finished if finished else None
        groups.append({name: jsonable(row[name]) for name in GROUP_FIELDS})
    return groups
