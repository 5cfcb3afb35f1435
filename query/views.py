"""The SQL views users query (DESIGN: SQL views), as text over the tables and the inbox.

Internal relations, never named by user SQL, which the views are built on:

- `_runs_far_from_inbox`, `_snapshots_table`: the runs table's files at one version outside
  the partitions the inbox's rows fall into, and the snapshots table's every file (or, for a
  query that needs only some partitions, temporary views over just those files);
- `_runs_near_inbox`, `_snapshots_near_inbox`: the tables' files in the partitions the inbox's
  rows fall into;
- `_inbox_rows`: the rows of the inbox objects, as the engine last listed them;
- `_inbox_runs`, `_superseded`, `_inbox_events`: what the inbox adds, worked out by the engine
  each time the inbox or a table changes (`inbox_statements`): each run's latest inbox
  snapshot where it beats the table's row (or the table has none), the uids whose table row
  it replaces, and the inbox's events the snapshots table does not hold yet.

So `runs` is the runs table without the superseded rows, plus the inbox's runs: every run once
with its latest snapshot by DESIGN's rule (layout.latest). A query reads the table's files as
it would without an inbox (DuckDB keeps its column and filter pushdown) and a few inbox rows;
nothing re-ranks the history. A superseded row can only be in a partition near the inbox (an
inbox row goes to its run's partition), so only those partitions' rows are checked against
`_superseded`: elsewhere a query that does not name `uid` never reads it. `snapshots` is the
snapshots table plus the inbox's new events.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from layout.latest import LATEST_ORDER_SQL, latest_rank_sql
from layout.literals import sql_string
from layout.schema import (
    CUSTOM_RUN,
    DEFAULT_CLUSTER,
    FINISHED_STATUSES,
    PIPELINE_RUN,
    SNAPSHOT_COLUMNS,
    TABLE_SCHEMA,
    TASK_RUN,
    VIEW_COLUMNS,
    duckdb_type,
)
from query.insight_views import INSIGHT_VIEWS, insight_statements

# Every view a user query may name.
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

RUNS_FAR_FROM_INBOX = "_runs_far_from_inbox"
SNAPSHOTS_TABLE = "_snapshots_table"
RUNS_NEAR_INBOX = "_runs_near_inbox"
SNAPSHOTS_NEAR_INBOX = "_snapshots_near_inbox"
INBOX_ROWS = "_inbox_rows"
INBOX_RUNS = "_inbox_runs"
SUPERSEDED = "_superseded"
INBOX_EVENTS = "_inbox_events"
# `runs` with the partition column `date`, for runlake's own queries.
RUNS_WITH_DATE = "_runs"

# The one place old rows get their cluster: files written before the column existed read it
# as null, and every view shows them as runs of the default cluster (DESIGN: columns).
_DEFAULTS = {"cluster": f'coalesce("cluster", {sql_string(DEFAULT_CLUSTER)})'}
# The views' columns (DESIGN); `_runs` has every stored one.
_COLUMNS = ", ".join(f'"{name}"' for name in VIEW_COLUMNS)
_DEFAULTED = ", ".join(
    f'{_DEFAULTS[name]} AS "{name}"' if name in _DEFAULTS else f'"{name}"'
    for name in SNAPSHOT_COLUMNS
)
_DEFAULTED_VIEW = ", ".join(
    f'{_DEFAULTS[name]} AS "{name}"' if name in _DEFAULTS else f'"{name}"' for name in VIEW_COLUMNS
)
_TABLE_COLUMNS = ", ".join(f'"{name}"' for name in TABLE_SCHEMA.names)


@dataclass(frozen=True)
class Partitions:
    """The (kind, date) partitions a query needs: `kinds` by name (TaskRun, ...), dates from
    `first` to `last` inclusive (None: unbounded), and, with `only`, just those (kind, date)
    pairs among them (the partitions of a page's runs, say)."""

    kinds: tuple[str, ...]
    first: date | None = None
    last: date | None = None
    only: frozenset[tuple[str, str]] | None = None

    @classmethod
    def of(cls, pairs: set[tuple[str, str]]) -> Partitions:
        """Exactly these (kind, date) partitions."""
        days = [date.fromisoformat(day) for _, day in pairs]
        kinds = tuple(sorted({kind for kind, _ in pairs}))
        return cls(kinds, min(days), max(days), frozenset(pairs))

    def holds(self, kind: str, day: str) -> bool:
        return (
            kind in self.kinds
            and (self.first is None or day >= self._first_day)
            and (self.last is None or day <= self._last_day)
            and (self.only is None or (kind, day) in self.only)
        )

    @functools.cached_property
    def _first_day(self) -> str:
        return self.first.isoformat() if self.first is not None else ""

    @functools.cached_property
    def _last_day(self) -> str:
        return self.last.isoformat() if self.last is not None else ""

    def condition(self) -> str:
        """The same bound as SQL over `kind` and `date` (for the inbox's rows)."""
        terms = [
            "list_contains([" + ", ".join(sql_string(k) for k in self.kinds) + "]::VARCHAR[], kind)"
        ]
        if self.first is not None:
            terms.append(f"date >= {sql_string(self.first.isoformat())}")
        if self.last is not None:
            terms.append(f"date <= {sql_string(self.last.isoformat())}")
        if self.only is not None:
            pairs = ", ".join(sql_string(f"{kind}/{day}") for kind, day in sorted(self.only))
            terms.append(f"list_contains([{pairs}]::VARCHAR[], kind || '/' || date)")
        return " AND ".join(terms)


def null_columns(leave_out: frozenset[str] = frozenset()) -> str:
    """TABLE_SCHEMA's columns, but those in `leave_out`, as typed NULLs (a SELECT list)."""
    return ", ".join(
        f'CAST(NULL AS {duckdb_type(field.type)}) AS "{field.name}"'
        for field in TABLE_SCHEMA
        if field.name not in leave_out
    )


@functools.cache
def empty_source() -> str:
    """No rows, TABLE_SCHEMA's columns and types (built once: a lookup names it each time)."""
    return f"SELECT {null_columns()} WHERE false"


@dataclass(frozen=True)
class Files:
    """Parquet files of a Delta table to read: `whole` ones have the table's every column,
    `older` ones were written before a column was added."""

    whole: tuple[str, ...] = ()
    older: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.whole or self.older)


def files_source(files: Files) -> str:
    """TABLE_SCHEMA's columns over these files of a Delta table (none: no rows).

    delta-rs keeps `kind` and `date` in the path (kind=TaskRun/date=2026-11-30/), not in the
    file, hence hive_partitioning with their types fixed. Files of the current schema are read
    as one set (DuckDB binds it from one footer); older files are read by name, and the typed
    empty relation supplies a column that no file has yet."""
    if not files:
        return empty_source()
    if not files.older:
        # Binding the typed empty relation too would cost each query about a millisecond.
        return f"SELECT {_TABLE_COLUMNS} FROM {_parquet(files.whole, by_name=False)}"
    parts = [empty_source()]
    for uris, by_name in ((files.whole, False), (files.older, True)):
        if uris:
            parts.append(f"SELECT * FROM {_parquet(uris, by_name)}")
    return f"SELECT {_TABLE_COLUMNS} FROM (" + " UNION ALL BY NAME ".join(parts) + ")"


def _parquet(uris: Sequence[str], by_name: bool, filename: bool = False) -> str:
    listed = "[" + ", ".join(sql_string(uri) for uri in uris) + "]"
    return (
        f"read_parquet({listed}, hive_partitioning = true, "
        "hive_types = {'kind': 'VARCHAR', 'date': 'VARCHAR'}"
        + (", union_by_name = true" if by_name else "")
        + (", filename = true" if filename else "")
        + ")"
    )


def each_file_holds_sql(uris: Sequence[str], condition: str) -> str:
    """(filename, holds) for each of these files of the current schema that has rows:
    whether any of its rows meets `condition` (SQL over TABLE_SCHEMA's columns)."""
    return (
        f"SELECT filename, bool_or(coalesce({condition}, false)) AS holds "
        f"FROM {_parquet(uris, by_name=False, filename=True)} GROUP BY filename"
    )


def inbox_tables() -> list[str]:
    """The engine's own tables: the inbox's rows and what they add to the views."""
    columns = ", ".join(f'"{field.name}" {duckdb_type(field.type)}' for field in TABLE_SCHEMA)
    return [
        f"CREATE TABLE IF NOT EXISTS {INBOX_ROWS} ({columns}, _file VARCHAR)",
        f"CREATE TABLE IF NOT EXISTS {INBOX_RUNS} ({columns})",
        f"CREATE TABLE IF NOT EXISTS {SUPERSEDED} (uid VARCHAR)",
        f"CREATE TABLE IF NOT EXISTS {INBOX_EVENTS} ({columns})",
    ]


def inbox_statements() -> list[str]:
    """Work out `_inbox_runs`, `_superseded` and `_inbox_events` anew from `_inbox_rows` and
    the near-inbox partitions of the tables (the engine runs them in one transaction with the
    sources they read, so a query sees both or neither)."""
    latest = (
        f"SELECT * EXCLUDE (_file) FROM {INBOX_ROWS} QUALIFY row_number() OVER "
        f"(PARTITION BY uid ORDER BY {LATEST_ORDER_SQL}) = 1"
    )
    events = (
        f"SELECT * EXCLUDE (_file) FROM {INBOX_ROWS} QUALIFY row_number() OVER "
        "(PARTITION BY event_id ORDER BY received_at, _file) = 1"
    )
    return [
        f"DELETE FROM {INBOX_RUNS}",
        f"DELETE FROM {SUPERSEDED}",
        f"DELETE FROM {INBOX_EVENTS}",
        f"""INSERT INTO {INBOX_RUNS} SELECT i.* FROM ({latest}) i
            ANTI JOIN {RUNS_NEAR_INBOX} t
                ON t.uid = i.uid AND {latest_rank_sql("t")} >= {latest_rank_sql("i")}""",
        f"""INSERT INTO {SUPERSEDED} SELECT DISTINCT uid FROM {RUNS_NEAR_INBOX}
            SEMI JOIN {INBOX_RUNS} USING (uid)""",
        f"""INSERT INTO {INBOX_EVENTS} SELECT i.* FROM ({events}) i
            ANTI JOIN {SNAPSHOTS_NEAR_INBOX} s USING (event_id)""",
    ]


def source_statements(sources: Sequence[tuple[str, Files]], temp: bool = False) -> list[str]:
    """(Re)define table relations (RUNS_FAR_FROM_INBOX, ... and their files); `temp` shadows them in
    one connection only."""
    scope = "TEMP " if temp else ""
    return [
        f"CREATE OR REPLACE {scope}VIEW {name} AS {files_source(files)}" for name, files in sources
    ]


@functools.cache
def runs_with_date_sql(far: bool = True, near: bool = True, inbox: bool = True) -> str:
    """`_runs`: the runs table's rows far from the inbox, those near it that no inbox row
    supersedes, and the inbox's runs. A query bounded to partitions where some of the three
    have no rows reads just the others (at least one): planning and running the empty ones
    measured 6 of a run lookup's 16 ms."""
    far_rows = f"SELECT * FROM {RUNS_FAR_FROM_INBOX}"
    branches = (
        (far, far_rows),
        (near, f"SELECT t.* FROM {RUNS_NEAR_INBOX} t ANTI JOIN {SUPERSEDED} s USING (uid)"),
        (inbox, f"SELECT * FROM {INBOX_RUNS}"),
    )
    chosen = [sql for wanted, sql in branches if wanted] or [far_rows]
    return f'SELECT {_DEFAULTED}, "date" FROM (' + " UNION ALL ".join(chosen) + ")"


def view_statements() -> list[str]:
    """CREATE OR REPLACE VIEW statements for every view (the relations above must exist)."""
    kinds = {"taskruns": TASK_RUN, "pipelineruns": PIPELINE_RUN, "customruns": CUSTOM_RUN}
    statements = [
        f"CREATE OR REPLACE VIEW {RUNS_WITH_DATE} AS {runs_with_date_sql()}",
        f"CREATE OR REPLACE VIEW runs AS SELECT {_COLUMNS} FROM {RUNS_WITH_DATE}",
        f"""CREATE OR REPLACE VIEW snapshots AS
            SELECT {_DEFAULTED_VIEW} FROM (
                SELECT * FROM {SNAPSHOTS_TABLE}
                UNION ALL
                SELECT * FROM {INBOX_EVENTS})""",
    ]
    statements += [
        f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM runs WHERE kind = '{kind}'"
        for view, kind in kinds.items()
    ]
    statements += [STEPS_MACRO, STEPS_VIEW, LOGS_VIEW, *insight_statements()]
    return statements


# status.steps[] of one TaskRun's object, in the order Tekton lists them (the order they ran).
# A step is terminated {exitCode, reason, startedAt, finishedAt}, running {startedAt} or
# waiting {reason}; TRY_CAST keeps one malformed value from failing a whole query.
# termination_reason is Tekton's own word (Completed, Error, Skipped for a step not run
# because an earlier one failed, TimeoutExceeded, ...; v0.50 on). One
# definition for the `steps` view and for one run's steps (query.runs), which passes the
# object it already read instead of scanning its partition again.
STEPS_OF = "_steps_of"
# Each step's columns from its JSON (`step`); `position` is its place in status.steps[].
_STEP_FIELDS = """step ->> 'name' AS step,
           step ->> 'container' AS container,
           TRY_CAST(step -> 'terminated' ->> 'exitCode' AS INTEGER) AS exit_code,
           coalesce(step -> 'terminated' ->> 'reason', step -> 'waiting' ->> 'reason') AS reason,
           TRY_CAST(coalesce(step -> 'terminated' ->> 'startedAt',
                             step -> 'running' ->> 'startedAt') AS TIMESTAMPTZ) AS started_at,
           TRY_CAST(step -> 'terminated' ->> 'finishedAt' AS TIMESTAMPTZ) AS finished_at,
           step ->> 'terminationReason' AS termination_reason"""
_STEP_COLUMNS = """step, container, exit_code, reason, started_at, finished_at,
       epoch(finished_at) - epoch(started_at) AS duration_seconds, termination_reason"""

STEPS_MACRO = f"""CREATE OR REPLACE MACRO {STEPS_OF}(obj) AS TABLE
WITH listed AS (
    SELECT json_extract(obj, '$.status.steps[*]') AS steps
), fields AS (
    SELECT position, {_STEP_FIELDS}
    FROM (SELECT unnest(steps) AS step, generate_subscripts(steps, 1) AS position FROM listed)
)
SELECT position, {_STEP_COLUMNS}
FROM fields"""

# The steps unnested in the select list, not by a LATERAL call of the macro: DuckDB plans
# that as a join on the distinct objects, which holds every TaskRun's JSON in memory (at
# 1,000,000 runs, past the engine's memory limit).
STEPS_VIEW = f"""CREATE OR REPLACE VIEW steps AS
WITH listed AS (
    SELECT uid, namespace, name AS run_name, cluster,
           json_extract("object", '$.status.steps[*]') AS steps
    FROM taskruns
), fields AS (
    SELECT uid, namespace, run_name, cluster, position, {_STEP_FIELDS}
    FROM (SELECT uid, namespace, run_name, cluster, unnest(steps) AS step,
                 generate_subscripts(steps, 1) AS position FROM listed)
)
SELECT uid, namespace, run_name, step, container, exit_code, reason, started_at, finished_at,
       epoch(finished_at) - epoch(started_at) AS duration_seconds, cluster, termination_reason
FROM fields
ORDER BY namespace, uid, position"""


# The store's log objects as the engine last listed them (query.engine refreshes it before a
# query that names `logs`); internal, never named by user SQL.
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
