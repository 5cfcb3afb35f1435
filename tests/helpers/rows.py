"""Building snapshot rows by hand, with the schema's columns, for the query tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from layout.schema import SNAPSHOT_SCHEMA

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(
    uid: str,
    *,
    event_id: str | None = None,
    kind: str = "TaskRun",
    status: str = "Running",
    resource_version: str | None = "1",
    received_at: datetime | timedelta = T0,
    obj: dict | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One snapshot of run `uid`; `received_at` may be an offset from T0."""
    if isinstance(received_at, timedelta):
        received_at = T0 + received_at
    finished = status in ("Succeeded", "Failed", "Cancelled", "TimedOut")
    base: dict[str, Any] = {
        "uid": uid,
        "namespace": "ci",
        "name": f"run-{uid}",
        "kind": kind,
        "api_version": "tekton.dev/v1",
        "status": status,
        "reason": status,
        "message": None,
        "pipeline": "build",
        "pipeline_run": None,
        "task": None,
        "pipeline_task": None,
        "created_at": T0 - timedelta(minutes=5),
        "started_at": T0,
        "completed_at": T0 + timedelta(seconds=30) if finished else None,
        "duration_seconds": 30.0 if finished else None,
        "labels": {"tekton.dev/pipeline": "build"},
        "annotations": {},
        "resource_version": resource_version,
        "event_type": f"dev.tekton.event.{kind.lower()}.unknown.v1",
        "event_id": event_id or f"{uid}-{resource_version}-{received_at.isoformat()}",
        "source": "cloudevent",
        "received_at": received_at,
        "object": json.dumps(obj or {"kind": kind, "metadata": {"uid": uid}, "status": {}}),
    }
    base.update(extra)
    return base


def as_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows in SNAPSHOT_SCHEMA's types (raises if one does not fit): what the tables store."""
    pairs = [
        {**r, **{c: list(r[c].items()) for c in ("labels", "annotations") if r.get(c)}}
        for r in rows
    ]
    return pa.Table.from_pylist(pairs, schema=SNAPSHOT_SCHEMA)
