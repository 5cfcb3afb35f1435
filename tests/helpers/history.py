"""Known histories for the lifecycle tests: demo runs, each with earlier snapshots, and logs."""

from __future__ import annotations

import copy
import gzip
from collections.abc import Iterable
from datetime import UTC, datetime

from ingest.archive import import_objects
from layout.keys import log_key
from layout.store import Store
from runlake.demo import demo_step_log, generate

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def running_snapshot(obj: dict) -> dict:
    """The same run as it looked while still running: an earlier snapshot of it."""
    early = copy.deepcopy(obj)
    status = early.setdefault("status", {})
    status.pop("completionTime", None)
    status["conditions"] = [
        {"type": "Succeeded", "status": "Unknown", "reason": "Running", "message": "still running"}
    ]
    rv = early["metadata"].get("resourceVersion") or "2"
    early["metadata"]["resourceVersion"] = str(max(int(rv) - 1, 1))
    return early


def history(runs: int, seed: int = 11, days: int = 21) -> list[dict]:
    """Demo objects as of NOW (final snapshots, PipelineRuns before their TaskRuns)."""
    return list(generate(runs, seed=seed, now=NOW, days=days))


def archive(
    store: Store, objects: Iterable[dict], with_running: bool = True, per_file: int = 4
) -> None:
    """Store each object (and first an earlier running snapshot of it) in small files, as
    ingest does during a day."""
    objects = list(objects)
    if with_running:
        early = [running_snapshot(o) for o in objects]
        for i in range(0, len(early), per_file):
            import_objects(store, early[i : i + per_file], source="watcher")
    for i in range(0, len(objects), per_file):
        import_objects(store, objects[i : i + per_file], source="watcher")


def store_logs(store: Store, obj: dict) -> dict[str, int]:
    """Store the logs of a TaskRun's steps; returns key -> stored size."""
    sizes = {}
    for step in obj.get("status", {}).get("steps", []) or []:
        key = log_key(obj["metadata"]["namespace"], obj["metadata"]["uid"], step["name"])
        data = gzip.compress(demo_step_log(obj, step["name"]).encode())
        store.write_bytes(key, data)
        sizes[key] = len(data)
    return sizes
