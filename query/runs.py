"""Listing and reading runs: what `GET /v1/runs[/<uid>]` and `runlake runs|get` answer.

Both take what the caller may read (a Readable, or None: everything) and never show anything
else.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from layout.keys import is_dns_label, is_uid
from layout.latest import LATEST_ORDER_SQL
from layout.schema import CUSTOM_RUN, KINDS, PIPELINE_RUN, RECORD_COLUMNS, TASK_RUN
from query.engine import Engine, jsonable
from query.filters import Filters
from query.paging import ORDER_SQL, PageKey, after_sql, decode_token, encode_token
from query.scope import Readable
from query.views import RAW_VIEW, Partitions

SUMMARY_COLUMNS: tuple[str, ...] = tuple(c for c in RECORD_COLUMNS if c != "object")
_SELECT = ", ".join(f'"{c}"' for c in SUMMARY_COLUMNS)
_LOG_SUFFIX = ".log.gz"
# How far back from the newest partition a first page looks before reading everything.
_WIDENING_DAYS = (1, 7, 35)


def list_runs(
    engine: Engine, filters: Filters, allowed: Readable | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of runs (summary fields, JSON-ready) and the token of the next, or None.
    Raises PageTokenError for a bad token."""
    key = decode_token(filters.page_token, filters.raw) if filters.page_token else None
    if key is not None:
        # The window of the first page, so relative bounds (`24h`) do not move between pages.
        filters = replace(filters, since=key.since, until=key.until)
    fixed, params, other, other_params = filters.where_split(allowed)
    if key is not None:
        after, more = after_sql(key)  # created_at and uid: the same in every snapshot
        fixed, params = f"{fixed} AND {after}", params + more
    # Only the keys first, so the latest-snapshot ranking carries few columns, and only over
    # the snapshots that can match.
    sql = (
        f"SELECT uid, kind, created_at FROM ({latest_sql(fixed, '*')}) WHERE {other} "
        f"ORDER BY {ORDER_SQL} LIMIT ?"
    )
    params += [*other_params, filters.page_size + 1]
    rows = None
    bound = filters.partitions()
    anchor = (
        datetime.now(UTC).date()
        if key is None
        else key.created_at.astimezone(UTC).date()
        if key.created_at is not None
        else None
    )
    if anchor is not None and bound is not None and bound.last is not None:
        anchor = min(anchor, bound.last)
    if filters.since is None and anchor is not None:
        # Newest partitions first, widening only while they hold less than a page. A full
        # page there is the right page: older partitions hold only older runs (partition
        # date = created_at date), and a run without created_at (sorting last) ends the
        # shortcut.
        kinds = bound.kinds if bound else tuple(KINDS.values())
        for days in _WIDENING_DAYS:
            window = Partitions(kinds, anchor - timedelta(days=days), bound.last if bound else None)
            rows = engine.query(sql, params, partitions=window)
            if len(rows) > filters.page_size and rows[-1]["created_at"] is not None:
                break
            rows = None
    if rows is None:
        rows = engine.query(sql, params, partitions=bound)
    token = None
    if len(rows) > filters.page_size:
        rows = rows[: filters.page_size]
        last = rows[-1]
        token = encode_token(
            PageKey(last["created_at"], last["uid"], filters.since, filters.until), filters.raw
        )
    return [summary(row) for row in _latest_of(engine, rows)], token


def _latest_of(
    engine: Engine, keys: list[dict[str, Any]], columns: str = _SELECT
) -> list[dict[str, Any]]:
    """The latest snapshots of the runs `keys` names (uid, kind, created_at), in that order,
    read from only their partitions."""
    if not keys:
        return []
    partitions = None
    if all(k["created_at"] is not None for k in keys):
        days = [k["created_at"].astimezone(UTC).date() for k in keys]
        partitions = Partitions(
            tuple(sorted({KINDS[k["kind"]] for k in keys})), min(days), max(days)
        )
    rows = engine.query(
        latest_sql("uid IN (SELECT unnest(?::VARCHAR[]))", columns),
        [[k["uid"] for k in keys]],
        partitions=partitions,
    )
    by_uid = {row["uid"]: row for row in rows}
    return [by_uid[k["uid"]] for k in keys if k["uid"] in by_uid]


def latest_sql(where: str, columns: str = _SELECT) -> str:
    """The `runs` view's rule (one row per event_id, then the latest per uid) over the raw
    rows matching `where`, which must hold for all or none of a run's snapshots (uid,
    namespace): filtering before the ranking lets the scan skip everything else."""
    return (
        f"WITH s AS (SELECT * FROM {RAW_VIEW} WHERE {where} QUALIFY row_number() OVER "
        "(PARTITION BY event_id ORDER BY received_at) = 1) "
        f"SELECT {columns} FROM s QUALIFY row_number() OVER "
        f"(PARTITION BY uid ORDER BY {LATEST_ORDER_SQL}) = 1"
    )


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
    prefix = len(ref) >= MIN_UID_PREFIX and is_uid(ref)
    where = ["(uid = ? OR name = ?" + (" OR starts_with(uid, ?))" if prefix else ")")]
    params: list[Any] = [ref, ref, *([ref] if prefix else [])]
    for column, value in (("namespace", namespace), ("cluster", cluster)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if allowed is not None:
        where.append(allowed.sql())
    # uid, name, namespace and cluster hold for every snapshot of a run: filtered below the
    # ranking.
    found = engine.query(
        latest_sql(" AND ".join(where), "uid, cluster, namespace, name, kind, status, created_at")
        + " ORDER BY created_at DESC NULLS LAST, uid",
        params,
    )
    for matches in (
        [row for row in found if row["uid"] == ref],
        [row for row in found if row["name"] == ref],
        found,
    ):
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
    # The runs view cannot push a uid filter below its de-duplication; this query can.
    found = engine.query(latest_sql(f"uid = ? AND {confine}", f'{_SELECT}, "object"'), [uid])
    if not found:
        return None
    row = found[0]
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


def _own_partition(row: dict[str, Any]) -> Partitions:
    moment = row["created_at"] or row["received_at"]
    day = moment.astimezone(UTC).date()
    return Partitions((KINDS[row["kind"]],), day, day)


def _steps(engine: Engine, row: dict[str, Any]) -> list[dict[str, Any]]:
    # The steps view lists a run's steps in the order Tekton ran them.
    steps = engine.query(
        "SELECT step, container, exit_code, reason, started_at, finished_at, "
        "duration_seconds FROM steps WHERE uid = ?",
        [row["uid"]],
        partitions=_own_partition(row),
    )
    return [{name: jsonable(value) for name, value in step.items()} for step in steps]


def _child_runs(engine: Engine, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The PipelineRun's TaskRuns and CustomRuns: labelled with its name in its cluster and
    namespace (another cluster may run a PipelineRun of the same name), or owned by its uid.
    They are created after it, up to its completion (or now)."""
    start = (row["created_at"] or row["received_at"]).astimezone(UTC)
    end = (row["completed_at"] or datetime.now(UTC)).astimezone(UTC)
    first, last = start.date(), max(end.date(), start.date()) + timedelta(days=1)
    children = engine.query(
        "SELECT uid, kind, name, pipeline_task, status, reason, started_at, completed_at, "
        f"duration_seconds FROM runs WHERE kind <> '{PIPELINE_RUN}' AND cluster = ? AND "
        "namespace = ? AND (pipeline_run = ? OR list_contains(json_extract_string("
        "\"object\", '$.metadata.ownerReferences[*].uid'), ?)) "
        "ORDER BY started_at NULLS LAST, created_at, name",
        [row["cluster"], row["namespace"], row["name"], row["uid"]],
        partitions=Partitions((KINDS[TASK_RUN], KINDS[CUSTOM_RUN]), first, last),
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
    against). Every snapshot of a run has its namespace, so the raw rows answer without
    picking the latest."""
    rows = engine.query(
        f"SELECT DISTINCT namespace FROM {RAW_VIEW} WHERE cluster = ? AND namespace IS NOT NULL "
        "ORDER BY namespace",
        [cluster],
    )
    return [row["namespace"] for row in rows]
