"""What the watcher's tests share: a cluster seeded with demo runs and their pods, a watcher
wired to the fake API server with fast backoff, and waiting for an outcome."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes

from runlake.demo import demo_step_log, generate
from tests.helpers.kubeapi import FakeKube
from webhooks.watcher.metrics import ActionLog, WatchMetrics
from webhooks.watcher.prune import ARCHIVED, is_finished
from webhooks.watcher.sink import Backoff, Sink
from webhooks.watcher.watch import Watcher, WatchOptions

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FAST = Backoff(initial=0.02, maximum=0.2)


def demo_runs(count: int, seed: int = 11) -> list[dict]:
    return list(generate(count, seed=seed, now=NOW))


def add_with_pods(kube: FakeKube, objects: list[dict]) -> None:
    """Create the runs, and a pod with every step's log for each TaskRun."""
    for obj in objects:
        kube.apply(obj)
        status = obj.get("status") or {}
        if obj["kind"] == "TaskRun" and status.get("podName"):
            kube.add_pod(
                obj["metadata"]["namespace"],
                status["podName"],
                {
                    s.get("container") or f"step-{s['name']}": demo_step_log(obj, s["name"])
                    for s in status.get("steps") or []
                },
            )


def archived(obj: dict | None) -> bool:
    return bool(obj) and (obj["metadata"].get("annotations") or {}).get(ARCHIVED) == "true"


def finished(objects: list[dict]) -> list[dict]:
    return [o for o in objects if is_finished(o)]


class Harness:
    def __init__(self, watcher: Watcher, log: io.StringIO) -> None:
        self.watcher, self._log = watcher, log
        self.metrics = watcher.metrics

    def actions(self, name: str | None = None) -> list[dict]:
        lines = [json.loads(line) for line in self._log.getvalue().splitlines()]
        return [a for a in lines if name is None or a["action"] == name]


@contextmanager
def watching(
    kube: FakeKube,
    sink_url: str,
    tmp_path: Path,
    *,
    cluster: str | None = None,
    **options: Any,
) -> Iterator[Harness]:
    api = kubernetes.config.new_client_from_config(
        config_file=str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
    )
    metrics, stream = WatchMetrics(), io.StringIO()
    log = ActionLog(stream)
    opts = WatchOptions(
        backoff=FAST,
        watch_timeout_s=5,
        poll_s=0.05,
        prune_interval_s=0.05,
        clock=lambda: NOW,
        **options,
    )
    sink = Sink(sink_url, token="s3cret", cluster=cluster, backoff=FAST, metrics=metrics, log=log)
    watcher = Watcher(api, sink, opts, metrics=metrics, log=log)
    watcher.start()
    try:
        yield Harness(watcher, stream)
    finally:
        watcher.join()
        api.close()


def wait_for(predicate: Callable[[], Any], what: str, limit_s: float = 15.0) -> Any:
    """Poll until `predicate()` is truthy; a deadline only so a broken watcher fails, not hangs."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def all_archived(kube: FakeKube, objects: list[dict]) -> bool:
    return all(
        archived(kube.get(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]))
        for o in finished(objects)
    )
