"""The latest-snapshot rule: finished before unfinished, then the larger numeric
resource_version, then the later received_at (event_id breaks exact ties so every reader
picks the same row)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from layout.schema import FINISHED_STATUSES

_FINISHED_SQL = ", ".join(f"'{s}'" for s in FINISHED_STATUSES)

# The same rule as an SQL ORDER BY, for window functions over `snapshots`.
LATEST_ORDER_SQL = (
    f"(status IN ({_FINISHED_SQL})) DESC, "
    "TRY_CAST(resource_version AS HUGEINT) DESC NULLS LAST, "
    "received_at DESC, event_id DESC"
)


def latest_rank_sql(alias: str) -> str:
    """The rule as one comparable DuckDB value of the row `alias`: of two snapshots of a run,
    the one with the larger rank is the latest (struct values compare field by field)."""
    p = f"{alias}."
    return (
        f"struct_pack(f := coalesce({p}status IN ({_FINISHED_SQL}), false), "
        f"v := coalesce(TRY_CAST({p}resource_version AS HUGEINT), -1), "
        f"r := {p}received_at, e := {p}event_id)"
    )


def _resource_version(row: Mapping[str, Any]) -> int:
    try:
        return int(row.get("resource_version") or "")
    except ValueError:
        return -1


def latest_key(row: Mapping[str, Any]) -> tuple:
    """Sort key: the row with the largest key is the run's latest snapshot."""
    return (
        row.get("status") in FINISHED_STATUSES,
        _resource_version(row),
        row.get("received_at"),
        row.get("event_id") or "",
    )
