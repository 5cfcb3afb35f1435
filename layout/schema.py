"""The Arrow schema of the `records` table and the Parquet settings every writer uses.

Only portable types: strings, float64, UTC microsecond timestamps and string maps, which
pyarrow, polars, DuckDB, Athena and Spark all read the same way.
"""

from __future__ import annotations

import pyarrow as pa

LAYOUT_VERSION = 1

TIMESTAMP = pa.timestamp("us", tz="UTC")
STRING_MAP = pa.map_(pa.string(), pa.string())

RECORDS_SCHEMA = pa.schema(
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
    metadata={"runlake.layout_version": str(LAYOUT_VERSION)},
)

RECORD_COLUMNS: tuple[str, ...] = tuple(RECORDS_SCHEMA.names)

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

# Rows of one file are sorted so DuckDB's row-group statistics can skip by namespace and uid.
SORT_KEYS = [("namespace", "ascending"), ("uid", "ascending"), ("received_at", "ascending")]

# Dictionary encoding pays only where values repeat; trying it on uids and whole objects costs
# a third of the time of writing a small file.
DICTIONARY_COLUMNS = [
    "namespace",
    "cluster",
    "kind",
    "api_version",
    "status",
    "reason",
    "pipeline",
    "task",
    "pipeline_task",
    "event_type",
    "source",
    "labels",
    "annotations",
]

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": DICTIONARY_COLUMNS,
    "write_statistics": True,
    "coerce_timestamps": "us",
    "allow_truncated_timestamps": False,
    "row_group_size": 64 * 1024,
}
