"""`runlake demo`: a realistic history written through the same path as `runlake import`,
with an earlier in-progress snapshot for some runs (as Tekton's events would have left) and
the step logs of every TaskRun."""

from __future__ import annotations

import copy
import io
from collections import Counter
from collections.abc import Iterator

from ingest.archive import import_objects
from layout.logs import write_log
from layout.store import Store
from runlake.demo import demo_step_log, generate
from webhooks.status import SUCCEEDED_CONDITION


def _earlier_snapshot(obj: dict) -> dict:
    earlier = copy.deepcopy(obj)
    status = earlier.setdefault("status", {})
    status.pop("completionTime", None)
    status["conditions"] = [
        {
            "type": SUCCEEDED_CONDITION,
            "status": "Unknown",
            "reason": "Running",
            "message": "Not all Steps have completed executing",
        }
    ]
    version = earlier["metadata"].get("resourceVersion", "")
    if version.isdigit():
        earlier["metadata"]["resourceVersion"] = str(int(version) - 1)
    return earlier


def _with_history(objects: Iterator[dict], kinds: Counter) -> Iterator[dict]:
    for n, obj in enumerate(objects):
        kinds[obj["kind"]] += 1
        if n % 4 == 0 and obj.get("status", {}).get("completionTime"):
            yield _earlier_snapshot(obj)
        yield obj


def _write_logs(store: Store, obj: dict) -> int:
    written = 0
    for step in obj.get("status", {}).get("steps", []):
        if "terminated" not in step:
            continue
        text = demo_step_log(obj, step["name"]).encode()
        meta = obj["metadata"]
        write_log(store, meta["namespace"], meta["uid"], step["name"], io.BytesIO(text).read)
        written += 1
    return written


def write_demo(store: Store, runs: int, seed: int = 7, logs: bool = True) -> str:
    kinds: Counter = Counter()
    log_count = 0

    def objects() -> Iterator[dict]:
        nonlocal log_count
        for obj in _with_history(generate(runs, seed=seed), kinds):
            if logs and obj["kind"] == "TaskRun" and obj["status"].get("completionTime"):
                log_count += _write_logs(store, obj)
            yield obj

    snapshots = import_objects(store, objects())
    return (
        f"{runs} runs ({kinds['PipelineRun']} PipelineRuns, {kinds['TaskRun']} TaskRuns), "
        f"{snapshots} snapshots, {log_count} step logs"
    )
