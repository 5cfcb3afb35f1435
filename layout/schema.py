"""The Arrow schemas of the snapshot rows and of the two Delta tables, and the names every
room spells the same way (kinds, statuses).

Only portable types: strings, float64, UTC microsecond timestamps and string maps, which
pyarrow, polars, DuckDB, Athena, Spark and Trino all read the same way.

A snapshot row (SNAPSHOT_SCHEMA) is what webhooks/ makes of one received object and what the
inbox holds. The tables `snapshots` and `runs` (TABLE_SCHEMA) store the same columns plus
`date`, the UTC date of the run's creation (of its first receipt when it has none), and are
partitioned by (`kind`, `date`), so every snapshot of a run lands in one partition.
"""

from __future__ import annotations

import pyarrow as pa

# Layout 1 was records/kind=/date=/*.parquet, deduplicated at read time; `runlake migrate`
# converts it (layout.migrate).
LAYOUT_VERSION = 2

TIMESTAMP = pa.timestamp("us", tz="UTC")
STRING_MAP = pa.map_(pa.string(), pa.string())

SNAPSHOT_SCHEMA = pa.schema(
    [
        pa.field("uid", pa.string(), nullable=False),
        pa.field("namespace", pa.string()),
        pa.field("name", pa.string()),
        # Added after layout 1's first files: nullable, and older files read as DEFAULT_CLUSTER.
        pa.field("cluster", pa.string()),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("api_version", pa.string()),
        pa.field("status", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("message", pa.string()),
        pa.field("pipeline", pa.string()),
        pa.field("pipeline_run", pa.string()),
        pa.field("task", pa.string()),
        pa.field("pipeline_task", pa.string()),
        # The uid of the PipelineRun that owns the run (its ownerReferences), which the
        # `pipeline_run` label names only by name; not in the views (DESIGN's columns), it
        # spares runlake a JSON parse per run to find a TaskRun's PipelineRun.
        pa.field("pipeline_run_uid", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("started_at", TIMESTAMP),
        pa.field("completed_at", TIMESTAMP),
        pa.field("duration_seconds", pa.float64()),
        pa.field("labels", STRING_MAP),
        pa.field("annotations", STRING_MAP),
        pa.field("resource_version", pa.string()),
        pa.field("event_type", pa.string()),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("object", pa.string()),
    ],
)

SNAPSHOT_COLUMNS: tuple[str, ...] = tuple(SNAPSHOT_SCHEMA.names)
# Stored, read by runlake's own queries, not shown by the views.
INTERNAL_COLUMNS: tuple[str, ...] = ("pipeline_run_uid",)
VIEW_COLUMNS: tuple[str, ...] = tuple(c for c in SNAPSHOT_COLUMNS if c not in INTERNAL_COLUMNS)

PARTITION_COLUMNS = ("kind", "date")
TABLE_SCHEMA = SNAPSHOT_SCHEMA.append(pa.field("date", pa.string(), nullable=False))

# The cluster of rows sent with a plain ingest token (RUNLAKE_CLUSTER's default), and what the
# views show for rows written before the `cluster` column existed.
DEFAULT_CLUSTER = "default"

# The `kind` column: the kinds runlake archives, each with its partitions' `kind=` value.
TASK_RUN, PIPELINE_RUN, CUSTOM_RUN = "TaskRun", "PipelineRun", "CustomRun"
KINDS: dict[str, str] = {
    TASK_RUN: "taskrun",
    PIPELINE_RUN: "pipelinerun",
    CUSTOM_RUN: "customrun",
}

# The `status` column (webhooks.status derives it from the Succeeded condition).
SUCCEEDED, FAILED, CANCELLED, TIMED_OUT = "Succeeded", "Failed", "Cancelled", "TimedOut"
RUNNING, PENDING = "Running", "Pending"
FINISHED_STATUSES = (SUCCEEDED, FAILED, CANCELLED, TIMED_OUT)
STATUSES = (*FINISHED_STATUSES, RUNNING, PENDING)


def duckdb_type(arrow_type: pa.DataType) -> str:
    """The DuckDB type that reads a column of `arrow_type` (what the views and the inbox's
    JSON reader declare)."""
    if pa.types.is_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    if pa.types.is_map(arrow_type):
        return f"MAP({duckdb_type(arrow_type.key_type)}, {duckdb_type(arrow_type.item_type)})"
    raise TypeError(f"no DuckDB type for {arrow_type}")
