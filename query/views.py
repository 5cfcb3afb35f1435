"""The SQL views users query (DESIGN: SQL views), as text over one `records` source.

The source is either the store's Parquet files or, while the store holds none, an empty
relation with the same columns and types, so an empty archive answers with empty views
instead of DuckDB's "No files found".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa

from layout.latest import LATEST_ORDER_SQL
from layout.schema import (
    CUSTOM_RUN,
    DEFAULT_CLUSTER,
    FINISHED_STATUSES,
    PIPELINE_RUN,
    RECORDS_SCHEMA,
    TASK_RUN,
)
from query.insight_views import INSIGHT_VIEWS, insight_statements

# Every view a user query may name; `_records` is the raw source the others are built on and
# stays internal (it still holds duplicate event_ids).
VIEWS: tuple[str, ...] = (
    "snapshots",
    "runs",
    "taskruns",
    "pipelineruns",
    "customruns",
    "steps",
    "logs",
    *INSIGHT_VIEWS,
)
RAW_VIEW = "_records"

RECORDS_GLOB = "records/kind=*/date=*/*.parquet"


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


# The one place old rows get their cluster: files written before the column existed read it
# as null, and every view shows them as runs of the default cluster (DESIGN: columns).
_DEFAULTS = {"cluster": f'coalesce("cluster", {sql_string(DEFAULT_CLUSTER)})'}
_COLUMNS = ", ".join(
    f'{_DEFAULTS[name]} AS "{name}"' if name in _DEFAULTS else f'"{name}"'
    for name in RECORDS_SCHEMA.names
)


def duckdb_type(arrow_type: pa.DataType) -> str:
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


def parquet_source(glob_uri: str | Sequence[str]) -> str:
    """Over one glob, or a list of files (the partitions a filtered query needs)."""
    # hive_partitioning=false: the path's kind=taskrun must not replace the file's
    # kind='TaskRun'. union_by_name: files written before a column existed still read.
    files = (
        sql_string(glob_uri)
        if isinstance(glob_uri, str)
        else "[" + ", ".join(sql_string(uri) for uri in glob_uri) + "]"
    )
    # The typed empty relation, unioned by name, supplies columns that no file has yet:
    # after a column is added, a store may hold only files written before (DESIGN: contracts).
    return (
        f"SELECT {_COLUMNS} FROM ({empty_source()} UNION ALL BY NAME "
        f"SELECT * FROM read_parquet({files}, "
        "union_by_name = true, hive_partitioning = false))"
    )


_DATE_IN_KEY = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")
# Past this many (kind, day) prefixes, one listing per kind (filtered by date) is cheaper.
_MAX_DAY_PREFIXES = 96


@dataclass(frozen=True)
class Partitions:
    """The (kind, date) partitions a query needs: `kinds` as directory names (taskrun, ...),
    dates from `first` to `last` inclusive (None: unbounded)."""

    kinds: tuple[str, ...]
    first: date | None = None
    last: date | None = None

    def prefixes(self) -> list[str]:
        """Store prefixes to list: one per (kind, day) for short ranges, else one per kind."""
        if self.first is not None and self.last is not None:
            days = (self.last - self.first).days + 1
            if days <= 0:
                return []
            if days * len(self.kinds) <= _MAX_DAY_PREFIXES:
                return [
                    f"records/kind={kind}/date={(self.first + timedelta(d)).isoformat()}/"
                    for kind in self.kinds
                    for d in range(days)
                ]
        return [f"records/kind={kind}/" for kind in self.kinds]

    def holds(self, key: str) -> bool:
        found = _DATE_IN_KEY.search(key)
        if not key.endswith(".parquet") or not found:
            return False
        day = date.fromisoformat(found.group(1))
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)


def empty_source() -> str:
    columns = ", ".join(
        f'CAST(NULL AS {duckdb_type(field.type)}) AS "{field.name}"' for field in RECORDS_SCHEMA
    )
    return f"SELECT {columns} WHERE false"


def view_statements(source: str) -> list[str]:
    """CREATE OR REPLACE VIEW statements for every view, over `source` (a SELECT)."""
    kinds = {"taskruns": TASK_RUN, "pipelineruns": PIPELINE_RUN, "customruns": CUSTOM_RUN}
    statements = [
        f"CREATE OR REPLACE VIEW {RAW_VIEW} AS {source}",
        # Writers may store one event twice (retries, compaction in progress): keep one.
        f"""CREATE OR REPLACE VIEW snapshots AS
            SELECT * FROM {RAW_VIEW}
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY received_at) = 1""",
        # Straight from the raw rows: a duplicate of the winning event is the same snapshot,
        # so either copy will do, and skipping the event_id pass measured 1.5x faster
        # (30k-run demo store, warm, every question of bench/query.py's kind).
        f"""CREATE OR REPLACE VIEW runs AS
            SELECT * FROM {RAW_VIEW}
            QUALIFY row_number() OVER (PARTITION BY uid ORDER BY {LATEST_ORDER_SQL}) = 1""",
    ]
    statements += [
        f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM runs WHERE kind = '{kind}'"
        for view, kind in kinds.items()
    ]
    statements += [STEPS_VIEW, LOGS_VIEW, *insight_statements()]
    return statements


# status.steps[] of each TaskRun, in the order Tekton lists them (the order they ran).
# A step is terminated {exitCode, reason, startedAt, finishedAt}, running {startedAt} or
# waiting {reason}; TRY_CAST keeps one malformed value from failing a whole query.
# termination_reason is Tekton's own word (Completed, Error, Skipped for a step not run
# because an earlier one failed, TimeoutExceeded, ...; v0.50 on).
STEPS_VIEW = """CREATE OR REPLACE VIEW steps AS
WITH each_step AS (
    SELECT uid, cluster, namespace, name AS run_name,
           unnest(json_extract("object", '$.status.steps[*]')) AS step,
           generate_subscripts(json_extract("object", '$.status.steps[*]'), 1) AS position
    FROM taskruns
), fields AS (
    SELECT uid, cluster, namespace, run_name, position,
           step ->> 'name' AS step,
           step ->> 'container' AS container,
           TRY_CAST(step -> 'terminated' ->> 'exitCode' AS INTEGER) AS exit_code,
           coalesce(step -> 'terminated' ->> 'reason', step -> 'waiting' ->> 'reason') AS reason,
           TRY_CAST(coalesce(step -> 'terminated' ->> 'startedAt',
                             step -> 'running' ->> 'startedAt') AS TIMESTAMPTZ) AS started_at,
           TRY_CAST(step -> 'terminated' ->> 'finishedAt' AS TIMESTAMPTZ) AS finished_at,
           step ->> 'terminationReason' AS termination_reason
    FROM each_step
)
SELECT uid, namespace, run_name, step, container, exit_code, reason, started_at, finished_at,
       epoch(finished_at) - epoch(started_at) AS duration_seconds, cluster, termination_reason
FROM fields
ORDER BY namespace, uid, position"""


# The store's log objects as the engine last listed them (query.engine refreshes it before a
# query that names `logs`); internal like _records, never named by user SQL.
LOG_OBJECTS = "_log_objects"
LOG_OBJECTS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {LOG_OBJECTS} (namespace VARCHAR, uid VARCHAR, "
    "step VARCHAR, key VARCHAR, size_bytes BIGINT)"
)

# Stored logs of known runs (a run's logs outlive its records only while retention is deleting
# them, and nothing may name such a run), of their run's cluster (log keys carry none, and a
# uid is one run's), and, unavailable, each step of a finished TaskRun
# whose log was never stored.
_FINISHED = ", ".join(sql_string(status) for status in FINISHED_STATUSES)
LOGS_VIEW = f"""CREATE OR REPLACE VIEW logs AS
SELECT o.uid, o.namespace, o.step, o.size_bytes, o.key, true AS available, r.cluster
FROM {LOG_OBJECTS} o JOIN runs r ON r.uid = o.uid AND r.namespace = o.namespace
UNION ALL
SELECT s.uid, s.namespace, s.step, CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR), false, s.cluster
FROM steps s SEMI JOIN taskruns t
    ON t.uid = s.uid AND t.status IN ({_FINISHED})
ANTI JOIN {LOG_OBJECTS} o ON o.uid = s.uid AND o.namespace = s.namespace AND o.step = s.step"""
