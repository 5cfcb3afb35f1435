"""Listing and reading runs: what `GET /v1/runs[/<uid>]` and `runlake runs|get` answer.

Both take what the caller may read (a Readable, or None: everything) and never show anything
else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from layout.keys import is_dns_label, is_uid
from layout.schema import CUSTOM_RUN, KINDS, PIPELINE_RUN, TASK_RUN, VIEW_COLUMNS
from query.engine import Engine, json_row_sql, jsonable
from query.filters import Filters
from query.paging import (
    ORDER_SQL,
    PageKey,
    after_sql,
    decode_token,
    encode_token,
    from_micros,
)
from query.scope import Readable
from query.views import RUNS_WITH_DATE, STEPS_OF, Partitions

SUMMARY_COLUMNS: tuple[str, ...] = tuple(c for c in VIEW_COLUMNS if c != "object")
_SELECT = ", ".join(f'"{c}"' for c in SUMMARY_COLUMNS)
# A page of runs is rendered as JSON by DuckDB, its keys in the order the service's encoder
# sorts an answer's, so an answer can carry the text as it is.
_SUMMARY_JSON = json_row_sql(sorted(SUMMARY_COLUMNS))
_LOG_SUFFIX = ".log.gz"
# How far back from the newest partition a first page looks before reading everything.
_WIDENING_DAYS = (0, 1, 7, 35)


def list_runs(
    engine: Engine, filters: Filters, allowed: Readable | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of runs (summary fields, JSON-ready) and the token of the next, or None.
    Raises PageTokenError for a bad token."""
    texts, token = list_runs_json(engine, filters, allowed)
    return [orjson.loads(text) for text in texts], token


def list_runs_json(
    engine: Engine, filters: Filters, allowed: Readable | None
) -> tuple[list[str], str | None]:
    """The same page, each run's summary as the JSON text DuckDB rendered: an answer can
    carry it as it is, without parsing a page of 1,000 runs to encode it again."""
    with engine.pinned():
        return _page(engine, filters, allowed)


def _page(
    engine: Engine, filters: Filters, allowed: frozenset[str] | None
) -> tuple[list[str], str | None]:
    key = decode_token(filters.page_token, filters.raw) if filters.page_token else None
    if key is not None:
        # The window of the first page, so relative bounds (`24h`) do not move between pages.
        filters = replace(filters, since=key.since, until=key.until)
    where, params = filters.where(allowed)
    if key is not None:
        after, more = after_sql(key)
        where, params = f"{where} AND {after}", params + more
    # The page first, then its JSON: rendering every matching row would cost far more. Its
    # created_at comes as microseconds: only the last run's becomes a datetime (the token).
    sql = (
        f"SELECT {_SUMMARY_JSON} AS run, uid, epoch_us(created_at) AS created_us FROM ("
        f"SELECT {_SELECT} FROM {RUNS_WITH_DATE} WHERE {where} ORDER BY {ORDER_SQL} LIMIT ?) "
        f"ORDER BY {ORDER_SQL}"
    )
    params.append(filters.page_size + 1)
    bound = filters.partitions()
    kinds = bound.kinds if bound else tuple(KINDS)
    # The page ends at the newest partition that exists (or the page token's day), not at
    # today: a store fed last until yesterday still answers from its newest day first.
    anchor = engine.newest_day(kinds)
    if key is not None:
        anchor = key.created_at.astimezone(UTC).date() if key.created_at is not None else None
    if anchor is not None and bound is not None and bound.last is not None:
        anchor = min(anchor, bound.last)
    if anchor is None:
        rows = engine.query(sql, params, partitions=bound)
    else:
        rows = _newest_days_first(engine, sql, params, kinds, anchor, bound, filters.page_size)
    token = None
    if len(rows) > filters.page_size:
        rows = rows[: filters.page_size]
        last = rows[-1]
        token = encode_token(
            PageKey(from_micros(last["created_us"]), last["uid"], filters.since, filters.until),
            filters.raw,
        )
    return [row["run"] for row in rows], token


def _newest_days_first(
    engine: Engine,
    sql: str,
    params: list[Any],
    kinds: tuple[str, ...],
    anchor: date,
    bound: Partitions | None,
    page_size: int,
) -> list[dict[str, Any]]:
    """A page (`sql`'s last parameter is its length) read from the partitions of `anchor`
    back, each step reading only days older than the last one's, until the page is full or
    the bound is reached. Older partitions hold only older runs (a run's partition is the
    date it was created), so each step's rows follow the ones before. A run without
    created_at sorts after every dated one, wherever it is stored: one found before the last
    step sends the page to the whole bound at once."""
    since = bound.first if bound else None
    newest = bound.last if bound else None
    unlimited = params[:-1]
    rows: list[dict[str, Any]] = []
    for days in _WIDENING_DAYS:
        first = anchor - timedelta(days=days)
        if since is not None and first <= since:
            break  # as wide as the bound: the last read below
        window = Partitions(kinds, first, newest)
        found = engine.query(sql, [*unlimited, page_size + 1 - len(rows)], partitions=window)
        if any(row["created_us"] is None for row in found):
            return engine.query(sql, params, partitions=bound)
        rows += found
        if len(rows) > page_size:
            return rows
        newest = first - timedelta(days=1)
    rest = Partitions(kinds, since, newest)
    return rows + engine.query(sql, [*unlimited, page_size + 1 - len(rows)], partitions=rest)


def summary(row: dict[str, Any]) -> dict[str, Any]:
    return {column: jsonable(row.get(column)) for column in SUMMARY_COLUMNS}


class RunNotFound(LookupError):
    """No run answers to the reference (or none the caller may read: the same answer)."""


class AmbiguousRun(LookupError):
    """More than one run answers to the reference; `candidates` are their uid, cluster,
    namespace, name, kind, status and created_at, newest first."""

    def __init__(self, message: str, candidates: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.candidates = candidates


# A uid prefix must be this long, as git asks of a commit prefix: shorter ones name half the
# archive and are more likely a typo than a choice.
MIN_UID_PREFIX = 4


def resolve_run(
    engine: Engine,
    ref: str,
    namespace: str | None,
    allowed: Readable | None,
    cluster: str | None = None,
) -> str:
    """The uid of the run `ref` names, as `tkn` users name runs: a uid, a run's name (in
    `namespace` and `cluster` when given), or a unique prefix of a uid; an exact uid wins over
    a name, and a name over a prefix. Raises RunNotFound, or AmbiguousRun naming every
    candidate."""
    ref = ref.strip()
    if not ref or (allowed is not None and not allowed.grants):
        raise RunNotFound(_not_found(ref, namespace, cluster))
    where = [allowed.sql() if allowed is not None else "true"]
    params: list[Any] = []
    for column, value in (("namespace", namespace), ("cluster", cluster)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    confine = " AND ".join(where)
    with engine.pinned():
        # An exact uid is one index lookup; only a name or a prefix reads the runs view.
        if is_uid(ref) and _one_run(engine, ref, confine, params) is not None:
            return ref
        prefix = len(ref) >= MIN_UID_PREFIX and is_uid(ref)
        found = engine.query(
            "SELECT uid, cluster, namespace, name, kind, status, created_at FROM runs "
            f"WHERE (name = ?{' OR starts_with(uid, ?)' if prefix else ''}) AND {confine} "
            "ORDER BY created_at DESC NULLS LAST, uid",
            [ref, *([ref] if prefix else []), *params],
        )
    for matches in ([row for row in found if row["name"] == ref], found):
        if len(matches) == 1:
            return matches[0]["uid"]
        if matches:
            raise _ambiguous(ref, [{k: jsonable(v) for k, v in row.items()} for row in matches])
    raise RunNotFound(_not_found(ref, namespace, cluster))


def _not_found(ref: str, namespace: str | None, cluster: str | None) -> str:
    where = "".join(
        f" in {what} {value!r}"
        for what, value in (("cluster", cluster), ("namespace", namespace))
        if value
    )
    return f"no run{where} has the uid, name or uid prefix {ref!r}"


def _ambiguous(ref: str, runs: list[dict[str, Any]]) -> AmbiguousRun:
    return AmbiguousRun(f"{ref!r} names {len(runs)} runs", runs)


def get_run(engine: Engine, uid: str, allowed: Readable | None) -> dict[str, Any] | None:
    """The run's latest snapshot with `object`, `steps` and `logs`; None when unknown or
    where the caller may not read (the same answer, so nothing leaks)."""
    if allowed is not None and not allowed.grants:
        return None
    confine = allowed.sql() if allowed is not None else "true"
    with engine.pinned():
        found = _one_run(engine, uid, confine)
        if found is None:
            return None
        return _with_details(engine, found)


def _one_run(engine: Engine, uid: str, confine: str, params: Sequence[Any] = ()) -> dict | None:
    """The run's row, read from its own partition (the uid index says which), if it meets
    `confine` (a condition with `params`)."""
    where = engine.locate(uid)
    if where is None:
        return None
    found = _row_in(engine, where, uid, confine, params)
    if found is None:  # the partition the engine remembered may hold the run no longer
        again = engine.locate(uid, afresh=True)
        if again is not None and again != where:
            found = _row_in(engine, again, uid, confine, params)
    return found


def _row_in(
    engine: Engine, where: tuple[str, str], uid: str, confine: str, params: Sequence[Any]
) -> dict | None:
    kind, day = where
    found = engine.query(
        f'SELECT {_SELECT}, "object", date FROM {RUNS_WITH_DATE} WHERE uid = ? AND {confine}',
        [uid, *params],
        partitions=Partitions((kind,), date.fromisoformat(day), date.fromisoformat(day)),
    )
    return found[0] if found else None


def _with_details(engine: Engine, row: dict[str, Any]) -> dict[str, Any]:
    run = summary(row)
    run["object"] = _parsed(row["object"])
    if row["kind"] == TASK_RUN:
        run["steps"] = _steps(engine, row)
    elif row["kind"] == PIPELINE_RUN:
        run["steps"] = _child_runs(engine, row)
    else:
        run["steps"] = []
    run["logs"] = _logs(engine, row, run["steps"])
    return run


def _parsed(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None


def _steps(engine: Engine, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's steps in the order Tekton ran them, as the `steps` view reads them, from
    the object already in hand."""
    steps = engine.query(
        "SELECT step, container, exit_code, reason, started_at, finished_at, "
        f"duration_seconds FROM {STEPS_OF}(?) ORDER BY position",
        [row["object"]],
    )
    return [{name: jsonable(value) for name, value in step.items()} for step in steps]


def _child_runs(engine: Engine, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The PipelineRun's TaskRuns and CustomRuns: those it owns (ownerReferences), or, for a
    run stored without them, those labelled with its name in its cluster and namespace
    (another cluster may run a PipelineRun of the same name). They are created after it, up
    to its completion (or now)."""
    start = (row["created_at"] or row["received_at"]).astimezone(UTC)
    end = (row["completed_at"] or datetime.now(UTC)).astimezone(UTC)
    first, last = start.date(), max(end.date(), start.date()) + timedelta(days=1)
    children = engine.query(
        "SELECT uid, kind, name, pipeline_task, status, reason, started_at, completed_at, "
        f"duration_seconds FROM {RUNS_WITH_DATE} WHERE kind <> '{PIPELINE_RUN}' AND "
        "cluster = ? AND namespace = ? AND (pipeline_run_uid = ? OR "
        "(pipeline_run_uid IS NULL AND pipeline_run = ?)) "
        "ORDER BY started_at NULLS LAST, created_at, name",
        [row["cluster"], row["namespace"], row["uid"], row["name"]],
        partitions=Partitions((TASK_RUN, CUSTOM_RUN), first, last),
    )
    return [{name: jsonable(value) for name, value in child.items()} for child in children]


def _logs(engine: Engine, row: dict[str, Any], steps: list[dict[str, Any]]) -> list[dict]:
    """The run's stored step logs (`stored_bytes` is the compressed object's size), in step
    order where the run lists its steps."""
    namespace, uid = row["namespace"] or "", row["uid"]
    if not is_dns_label(namespace) or not is_uid(uid):
        return []
    prefix = f"logs/{namespace}/{uid}/"
    logs = [
        {"step": info.key[len(prefix) : -len(_LOG_SUFFIX)], "stored_bytes": info.size}
        for info in engine.store.list(prefix)
        if info.key.endswith(_LOG_SUFFIX)
    ]
    order = {step.get("step"): n for n, step in enumerate(steps) if "step" in step}
    return sorted(logs, key=lambda log: (order.get(log["step"], len(order)), log["step"]))


def namespaces_in(engine: Engine, cluster: str) -> list[str]:
    """The namespaces `cluster`'s archived runs are in (what a reader's RBAC is checked
    against)."""
    rows = engine.query(
        "SELECT DISTINCT namespace FROM runs WHERE cluster = ? AND namespace IS NOT NULL "
        "ORDER BY namespace",
        [cluster],
    )
    return [row["namespace"] for row in rows]
