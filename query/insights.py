"""What `GET /v1/insights/...` answers: pages of the insight views (query.insight_views, where
each insight is decided), rolled up where the endpoint groups them, and the runs behind any
number.

Filters: `cluster`, `namespace`, `pipeline`, `label`, `since` and `until` choose the runs an
insight is computed over (the views read `runs` shadowed to just those, and to what the
reader may read);
`task` (and `kind` for queue times) then chooses rows. Rollups are plain sums, counts and
percentiles over a view's rows, so a number and the runs behind it come from the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from layout.literals import sql_string
from layout.schema import PIPELINE_RUN, TASK_RUN
from query.engine import Engine, jsonable
from query.filters import FilterError, Filters, parse_filters
from query.insight_views import SCOPE_COLUMNS
from query.paging import (
    ORDER_SQL,
    PageKey,
    PageTokenError,
    after_sql,
    decode,
    decode_token,
    encode,
    encode_token,
    fingerprint,
)
from query.runs import SUMMARY_COLUMNS, summary
from query.scope import Readable

# The filters every insight takes (the rest of /v1/runs' filters would change what an
# insight means: a flaky task counted over its failed runs only is not flaky any more).
INSIGHT_FILTERS = ("cluster", "namespace", "pipeline", "task", "label", "since", "until")
_SCOPE = ", ".join(SCOPE_COLUMNS)
_SCOPE_ORDER = tuple((column, False) for column in SCOPE_COLUMNS)
_SELECT_RUNS = ", ".join(f'"{c}"' for c in SUMMARY_COLUMNS)


class InsightError(ValueError):
    """Bad insight parameters; `.errors` lists each problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Order:
    """A page order: (column, descending) pairs ending in a unique key; nulls sort last."""

    columns: tuple[tuple[str, bool], ...]

    def sql(self) -> str:
        return ", ".join(
            f'"{column}" {"DESC" if desc else "ASC"} NULLS LAST' for column, desc in self.columns
        )

    def after(self, last: Sequence[Any]) -> tuple[str, list[Any]]:
        """Rows strictly after the row whose order values are `last`."""
        ors, params = [], []
        for i, (column, desc) in enumerate(self.columns):
            ands, these = [], []
            for (earlier, _), value in zip(self.columns[:i], last, strict=False):
                if value is None:
                    ands.append(f'"{earlier}" IS NULL')
                else:
                    ands.append(f'"{earlier}" = ?')
                    these.append(value)
            value = last[i]
            if value is None:
                continue  # nothing sorts after a null (nulls last)
            ands.append(f'("{column}" {"<" if desc else ">"} ? OR "{column}" IS NULL)')
            these.append(value)
            ors.append("(" + " AND ".join(ands) + ")")
            params += these
        return ("(" + " OR ".join(ors) + ")" if ors else "false"), params


@dataclass(frozen=True)
class Grouping:
    """One answer of an insight: its SQL (a SELECT over the views, `{where}` standing for its
    row filters) and its page order."""

    sql: str
    order: Order
    row_columns: tuple[str, ...] = ("task",)


@dataclass
class Request:
    insight: str
    filters: Filters
    group_by: tuple[str, ...] = ()
    kind: str | None = None
    raw: tuple[tuple[str, str], ...] = ()
    drill: dict[str, str] = field(default_factory=dict)


# -- the answers ------------------------------------------------------------------------------

_QUEUE_KEYS = {
    "day": "strftime(created_at, '%Y-%m-%d')",
    "cluster": "cluster",
    "week": "strftime(date_trunc('week', created_at), '%Y-%m-%d')",
    "namespace": "namespace",
    "pipeline": "pipeline",
    "task": "coalesce(task, pipeline_task)",
}
_USAGE_KEYS = {
    "cluster": "cluster",
    "namespace": "namespace",
    "day": "strftime(day, '%Y-%m-%d')",
    "week": "strftime(week, '%Y-%m-%d')",
    "pipeline": "pipeline",
    "task": "task",
}
GROUP_BY: dict[str, tuple[str, ...]] = {
    "retries": (),
    "flaky": (),
    "queue": tuple(_QUEUE_KEYS),
    "critical-path": ("task", "pipeline_run"),
    "usage": (*_USAGE_KEYS, "label:<key>"),
    "step-failures": (),
}
DEFAULT_GROUP_BY = {"queue": ("day",), "critical-path": ("task",), "usage": ("namespace", "day")}
INSIGHTS = tuple(GROUP_BY)


# A Kubernetes label key: an optional DNS-subdomain prefix and a name.
_LABEL_KEY = re.compile(
    r"([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
)


def _grouping(insight: str, group_by: tuple[str, ...]) -> Grouping:
    if insight == "retries":
        return Grouping(
            "SELECT * FROM retries WHERE attempts > 1 AND {where}",
            Order((("created_at", True), ("uid", True), ("attempt", False))),
        )
    if insight == "flaky":
        return Grouping(
            "SELECT * FROM flaky_tasks WHERE {where}",
            Order(
                (
                    ("flips", True),
                    ("passed_on_retry", True),
                    ("failures", True),
                    *_SCOPE_ORDER,
                    ("pipeline", False),
                    ("pipeline_task", False),
                )
            ),
        )
    if insight == "queue":
        (key,) = group_by
        order = (("key", False),) if key in ("day", "week") else (("p95_queued_seconds", True),)
        return Grouping(
            f"""SELECT {_QUEUE_KEYS[key]} AS key, count(*) AS runs,
                       quantile_cont(queued_seconds, 0.5) AS p50_queued_seconds,
                       quantile_cont(queued_seconds, 0.95) AS p95_queued_seconds,
                       max(queued_seconds) AS max_queued_seconds,
                       avg(queued_seconds) AS avg_queued_seconds,
                       quantile_cont(pod_pending_seconds, 0.5) AS p50_pod_pending_seconds,
                       quantile_cont(pod_pending_seconds, 0.95) AS p95_pod_pending_seconds
                FROM queue_times WHERE {{where}} GROUP BY 1""",
            Order((*order, ("key", False)) if key not in ("day", "week") else order),
            row_columns=("task", "kind"),
        )
    if insight == "critical-path" and group_by == ("pipeline_run",):
        return Grouping(
            "SELECT * FROM critical_path WHERE {where}",
            Order((("created_at", True), ("pipeline_run", True), ("position", False))),
        )
    if insight == "critical-path":
        # Per pipeline, over every PipelineRun that has a path: how often each task is on it
        # and its share of their wall time (the task filter picks rows after that).
        return Grouping(
            f"""WITH paths AS (SELECT * FROM critical_path),
               pipelines AS (
                   SELECT {_SCOPE}, pipeline, count(*) AS pipeline_runs,
                          sum(wall_seconds) AS wall_seconds
                   FROM (SELECT DISTINCT {_SCOPE}, pipeline, pipeline_run, wall_seconds
                         FROM paths)
                   GROUP BY ALL
               ), tasks AS (
                   SELECT {_SCOPE}, pipeline, pipeline_task, mode(task) AS task,
                          count(*) AS on_path, avg(duration_seconds) AS avg_seconds,
                          max(duration_seconds) AS max_seconds,
                          sum(duration_seconds) AS path_seconds
                   FROM paths GROUP BY ALL
               )
               SELECT {", ".join(f"t.{c}" for c in SCOPE_COLUMNS)}, t.pipeline, t.pipeline_task,
                      t.task, t.on_path, p.pipeline_runs,
                      t.on_path / p.pipeline_runs AS on_path_rate,
                      t.avg_seconds, t.max_seconds, t.path_seconds,
                      t.path_seconds / nullif(p.wall_seconds, 0) AS wall_share
               FROM tasks t JOIN pipelines p USING ({_SCOPE}, pipeline)
               WHERE {{where}}""",
            Order(
                (
                    ("path_seconds", True),
                    *_SCOPE_ORDER,
                    ("pipeline", False),
                    ("pipeline_task", False),
                )
            ),
        )
    if insight == "usage":
        keys = [_usage_key(k) for k in group_by]
        return Grouping(
            f"""SELECT {", ".join(f'{expr} AS "{name}"' for name, expr in keys)},
                       count(*) AS taskruns, sum(attempts) AS attempts,
                       sum(taskrun_seconds) AS taskrun_seconds, sum(cpu_hours) AS cpu_hours,
                       count(*) FILTER (WHERE cpu_cores IS NOT NULL) AS taskruns_with_cpu
                FROM usage WHERE {{where}} GROUP BY ALL""",
            Order(tuple((name, False) for name, _ in keys)),
        )
    if insight == "step-failures":
        return Grouping(
            "SELECT * FROM step_failures WHERE {where}",
            Order(
                (
                    ("failures", True),
                    ("newest_at", True),
                    *_SCOPE_ORDER,
                    ("task", False),
                    ("step", False),
                    ("exit_code", False),
                )
            ),
        )
    raise KeyError(insight)


def _usage_key(name: str) -> tuple[str, str]:
    if name.startswith("label:"):
        return name, f"labels[{sql_string(name[len('label:') :])}]"
    return name, _USAGE_KEYS[name]


# -- parsing ----------------------------------------------------------------------------------


def parse_request(
    insight: str,
    args: Iterable[tuple[str, str]],
    *,
    drill: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Request:
    """An insight request from query parameters; InsightError lists every problem. `drill`
    names the extra parameters of a runs-behind request."""
    pairs = list(args)
    own = ("group_by", *(("kind",) if insight == "queue" else ()), *drill)
    accepted = (*INSIGHT_FILTERS, *own, "page_size", "page_token")
    problems = [
        f"{name}: not a parameter of /v1/insights/{insight}; use {', '.join(accepted)}"
        for name, _ in pairs
        if name not in accepted and name != "token"
    ]
    filters = Filters()
    try:
        filters = parse_filters(
            [(n, v) for n, v in pairs if n in accepted and n not in own], now=now
        )
    except FilterError as exc:
        problems += exc.errors
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in own and value.strip():
            given.setdefault(name, []).append(value.strip())
    group_by = _group_by(insight, given.pop("group_by", []), problems)
    kind = None
    for value in given.pop("kind", []):
        if value not in (TASK_RUN, PIPELINE_RUN):
            problems.append(f"kind: {value!r} is not {TASK_RUN} or {PIPELINE_RUN}")
        kind = value
    drilled = {}
    for name, values in given.items():
        if len(values) > 1:
            problems.append(f"{name}: given {len(values)} times; give it once")
        drilled[name] = values[0]
    if problems:
        raise InsightError(problems)
    raw = tuple(
        sorted(
            (n, v.strip())
            for n, v in pairs
            if v.strip() and n in accepted and n not in ("page_size", "page_token")
        )
    )
    return Request(insight, filters, group_by, kind, raw, drilled)


def _group_by(insight: str, values: list[str], problems: list[str]) -> tuple[str, ...]:
    allowed = GROUP_BY[insight]
    if not values:
        return DEFAULT_GROUP_BY.get(insight, ())
    if not allowed:
        problems.append(f"group_by: /v1/insights/{insight} is not grouped")
        return ()
    names = tuple(n.strip() for value in values for n in value.split(",") if n.strip())
    for name in names:
        if name not in allowed and not (
            "label:<key>" in allowed
            and name.startswith("label:")
            and _LABEL_KEY.fullmatch(name[len("label:") :])
        ):
            problems.append(
                f"group_by: {name!r} is not one of {', '.join(allowed)} "
                "(a label key as Kubernetes spells them)"
            )
    if len(names) != len(set(names)):
        problems.append("group_by: names a key twice")
    if insight != "usage" and len(names) > 1:
        problems.append(f"group_by: /v1/insights/{insight} takes one of {', '.join(allowed)}")
    return names


# -- answering --------------------------------------------------------------------------------


def insight_page(
    engine: Engine, request: Request, readable: Readable | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an insight's rows (JSON-ready) and the next page's token, or None.
    Raises PageTokenError for a token made for other parameters."""
    grouping = _grouping(request.insight, request.group_by)
    filters, last = _continued(request)
    where, params = _row_filters(request, grouping.row_columns)
    sql = grouping.sql.format(where=where)
    after, after_params = ("true", [])
    if last is not None:
        after, after_params = grouping.order.after(last)
    rows = engine.query(
        f"SELECT * FROM ({sql}) WHERE {after} ORDER BY {grouping.order.sql()} LIMIT ?",
        [*params, *after_params, filters.page_size + 1],
        partitions=filters.partitions(),
        scope=scope_sql(filters, readable),
    )
    token = None
    if len(rows) > filters.page_size:
        rows = rows[: filters.page_size]
        token = _token(request, filters, [rows[-1][c] for c, _ in grouping.order.columns])
    return [{k: jsonable(v) for k, v in row.items()} for row in rows], token


# The runs behind a number: the fact rows it counted, by insight. Each entry: the fact view,
# its column holding the run's uid, the keys a row of the answer is found by (parameter ->
# column), and the measures (parameter value -> condition).
DRILL: dict[str, tuple[str, str, dict[str, str], dict[str, str]]] = {
    "retries": ("retries", "uid", {}, {"": "attempts > 1"}),
    "flaky": (
        "_task_outcomes",
        "uid",
        {"pipeline_task": "pipeline_task"},
        {
            "": "true",
            "runs": "true",
            "failures": "failed",
            "passed_on_retry": "passed_on_retry",
            "flips": "flipped",
        },
    ),
    "queue": ("queue_times", "uid", {"kind": "kind"}, {"": "true"}),
    "critical-path": (
        "critical_path",
        "pipeline_run",
        {"pipeline_task": "pipeline_task"},
        {"": "true", "on_path": "true"},
    ),
    "usage": ("usage", "uid", {}, {"": "true"}),
    "step-failures": (
        "_failed_steps",
        "uid",
        {"step": "step", "exit_code": "CAST(exit_code AS VARCHAR)"},
        {"": "true"},
    ),
}
DRILL_PARAMS = ("pipeline_task", "step", "exit_code", "measure")


def runs_behind(
    engine: Engine, request: Request, readable: Readable | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The runs a number of an insight counted (newest first, as /v1/runs pages them)."""
    view, uid_column, keys, measures = DRILL[request.insight]
    drill = dict(request.drill)
    measure = drill.pop("measure", "")
    problems = []
    if measure not in measures:
        problems.append(f"measure: {measure!r} is not one of {', '.join(m for m in measures if m)}")
    for name in drill:
        if name not in keys:
            problems.append(f"{name}: not a key of /v1/insights/{request.insight}")
    if problems:
        raise InsightError(problems)
    filters = request.filters
    key = decode_token(filters.page_token, request.raw) if filters.page_token else None
    if key is not None:
        filters = replace(filters, since=key.since, until=key.until)
    conditions = [measures[measure]]
    params: list[Any] = []
    for name, value in drill.items():
        conditions.append(f"{keys[name]} = ?")
        params.append(value)
    where, row_params = _row_filters(request, ("task",))
    if request.kind is not None and "kind" not in drill:
        where, row_params = f"{where} AND kind = ?", [*row_params, request.kind]
    inner = f"SELECT {uid_column} FROM {view} WHERE {' AND '.join(conditions)} AND {where}"
    after, after_params = after_sql(key) if key is not None else ("true", [])
    rows = engine.query(
        f"SELECT {_SELECT_RUNS} FROM runs WHERE uid IN ({inner}) AND {after} "
        f"ORDER BY {ORDER_SQL} LIMIT ?",
        [*params, *row_params, *after_params, filters.page_size + 1],
        partitions=filters.partitions(),
        scope=scope_sql(filters, readable),
    )
    token = None
    if len(rows) > filters.page_size:
        rows = rows[: filters.page_size]
        last = rows[-1]
        token = encode_token(
            PageKey(last["created_at"], last["uid"], filters.since, filters.until), request.raw
        )
    return [summary(row) for row in rows], token


def _row_filters(request: Request, columns: tuple[str, ...]) -> tuple[str, list[Any]]:
    conditions, params = ["true"], []
    if request.filters.task is not None and "task" in columns:
        conditions.append("task = ?")
        params.append(request.filters.task)
    if request.kind is not None and "kind" in columns:
        conditions.append("kind = ?")
        params.append(request.kind)
    return " AND ".join(conditions), params


def scope_sql(filters: Filters, readable: Readable | None) -> str:
    """The runs an insight is computed over, as a condition with literals (query.filters
    writes it; this only inlines its parameters, which a view cannot take)."""
    scoping = replace(filters, task=None, kinds=[], statuses=[], pipeline_run=None, q=None)
    condition, params = scoping.where(readable)
    pieces = condition.split("?")
    if len(pieces) != len(params) + 1:
        raise AssertionError("a filter condition holds a ? that is not a parameter")
    inlined = (_literal(value) + rest for value, rest in zip(params, pieces[1:], strict=True))
    return pieces[0] + "".join(inlined)


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return sql_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ {sql_string(value.isoformat())}"
    raise TypeError(f"no literal for {value!r}")


# -- page tokens ------------------------------------------------------------------------------


def _bound_to(request: Request) -> str:
    return fingerprint([request.insight, list(request.group_by), list(request.raw)])


def _token(request: Request, filters: Filters, last: list[Any]) -> str:
    return encode(
        {
            "k": [jsonable(v) for v in last],
            "s": filters.since.isoformat() if filters.since else None,
            "e": filters.until.isoformat() if filters.until else None,
        },
        _bound_to(request),
    )


def _continued(request: Request) -> tuple[Filters, list[Any] | None]:
    """The filters of the request's page (a later page keeps the first page's since/until)
    and the order values of the last row shown before it."""
    filters = request.filters
    if not filters.page_token:
        return filters, None
    body = decode(filters.page_token, _bound_to(request))
    try:
        since, until, last = body["s"], body["e"], body["k"]
        columns = _grouping(request.insight, request.group_by).order.columns
        if not isinstance(last, list) or len(last) != len(columns):
            raise TypeError
        if not all(v is None or isinstance(v, (str, int, float)) for v in last):
            raise TypeError
        window = replace(
            filters,
            since=datetime.fromisoformat(since) if since else None,
            until=datetime.fromisoformat(until) if until else None,
        )
    except (KeyError, TypeError, ValueError):
        raise PageTokenError("page_token: not a token this service gave out") from None
    return window, last


__all__ = [
    "DRILL_PARAMS",
    "GROUP_BY",
    "INSIGHTS",
    "INSIGHT_FILTERS",
    "InsightError",
    "PageTokenError",
    "Request",
    "insight_page",
    "parse_request",
    "runs_behind",
    "scope_sql",
]
