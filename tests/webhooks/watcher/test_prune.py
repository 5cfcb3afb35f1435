"""Pruning: only archived, finished-long-enough, ownerless runs, with a UID precondition; a
PipelineRun only once every child is archived."""

from __future__ import annotations

import copy
from datetime import timedelta

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from tests.helpers.watchkit import NOW, add_with_pods, archived, demo_runs, wait_for, watching
from webhooks.watcher.prune import RunRef, delete_run, prunable


def _ref(
    name: str,
    *,
    archived: bool = True,
    age_h: float | None = 2,
    owners=(),
    children=(),
    uid: str | None = None,
    kind: str = "TaskRun",
) -> RunRef:
    return RunRef(
        kind=kind,
        plural=kind.lower() + "s",
        version="v1",
        namespace="ci",
        name=name,
        uid=uid or f"uid-{name}",
        owners=tuple(owners),
        completed_at=None if age_h is None else NOW - timedelta(hours=age_h),
        archived=archived,
        children=tuple(children),
    )


def _verdicts(runs: list[RunRef]) -> dict[str, str | None]:
    return {r.name: why for r, why in prunable(runs, NOW, timedelta(hours=1))}


def test_prunable_keeps_unarchived_unfinished_and_recent_runs():
    verdicts = _verdicts(
        [
            _ref("done"),
            _ref("unarchived", archived=False),
            _ref("running", age_h=None),
            _ref("recent", age_h=0.5),
        ]
    )
    assert verdicts == {
        "done": None,
        "unarchived": "not archived",
        "running": "not finished",
        "recent": "finished too recently",
    }


def test_prunable_pipelinerun_waits_for_every_child():
    pr = _ref("pr", kind="PipelineRun", children=("a", "b", "c"))
    a = _ref("a", owners=[pr.uid])
    b = _ref("b", owners=[pr.uid], archived=False)
    assert _verdicts([pr, a, b]) == {"pr": "child c not seen yet"}  # children are not judged
    c = _ref("c", owners=[pr.uid])
    assert _verdicts([pr, a, b, c]) == {"pr": "children not archived: b"}
    b.archived = True
    assert _verdicts([pr, a, b, c]) == {"pr": None}


def test_delete_run_uid_precondition_spares_a_recreated_run(kube, tmp_path):
    run = demo_runs(5)[0]
    kube.apply(run)
    api = kubernetes.config.new_client_from_config(
        config_file=str(kube.write_kubeconfig(tmp_path / "kubeconfig"))
    )
    custom = kubernetes.client.CustomObjectsApi(api)
    stale = RunRef.of(
        {**run, "metadata": {**run["metadata"], "uid": "another-uid"}},
        run["kind"].lower() + "s",
        "v1",
    )
    with pytest.raises(ApiException) as conflict:
        delete_run(custom, stale)
    assert conflict.value.status == 409
    assert kube.get(run["kind"], run["metadata"]["namespace"], run["metadata"]["name"])
    delete_run(custom, RunRef.of(run, run["kind"].lower() + "s", "v1"))
    assert kube.get(run["kind"], run["metadata"]["namespace"], run["metadata"]["name"]) is None
    api.close()


def _pipeline_family(runs: list[dict]) -> tuple[dict, list[dict]]:
    pr = next(
        r
        for r in runs
        if r["kind"] == "PipelineRun"
        and r["status"].get("completionTime")
        and len(r["status"].get("childReferences") or []) >= 2
    )
    children = [
        r
        for r in runs
        if any(
            o["uid"] == pr["metadata"]["uid"] for o in r["metadata"].get("ownerReferences") or []
        )
    ]
    return pr, children


def test_watcher_prunes_pipelinerun_only_after_children_finish(kube, sink, tmp_path):
    pr, children = _pipeline_family(demo_runs(25))
    late = copy.deepcopy(children[-1])  # this child finishes later than its siblings
    late["status"].pop("completionTime")
    late["status"]["conditions"] = [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]
    add_with_pods(kube, [pr, *children[:-1], late])
    with watching(kube, sink.url, tmp_path, prune_after=timedelta(hours=1)) as h:
        wait_for(
            lambda: all(
                archived(kube.get(c["kind"], c["metadata"]["namespace"], c["metadata"]["name"]))
                for c in children[:-1]
            ),
            "the finished children archived",
        )
        wait_for(
            lambda: archived(
                kube.get("PipelineRun", pr["metadata"]["namespace"], pr["metadata"]["name"])
            ),
            "the PipelineRun archived",
        )
        assert kube.deletes == []
        assert h.metrics.value("runlake_watch_runs_pruned_total") == 0
        add_with_pods(kube, [children[-1]])  # now it finished
        wait_for(lambda: kube.deletes, "the PipelineRun pruned")
    assert kube.deletes[0] == ("pipelineruns", pr["metadata"]["namespace"], pr["metadata"]["name"])
    assert {name for _, _, name in kube.deletes[1:]} == {c["metadata"]["name"] for c in children}
    assert kube.count("DELETE", "/taskruns/") == 0  # children go with their owner
    assert {o["metadata"]["uid"] for o in sink.snapshots} >= {
        r["metadata"]["uid"] for r in [pr, *children]
    }


def test_watcher_never_prunes_unarchived_or_recent_runs(kube, sink, tmp_path):
    runs = demo_runs(25)
    sink.fail_with = 503  # nothing can be archived
    add_with_pods(kube, runs)
    with watching(kube, sink.url, tmp_path, prune_after=timedelta(0)) as h:
        wait_for(lambda: h.metrics.value("runlake_watch_retries_total") >= 5, "retries")
        h.watcher.prune_once()
    assert kube.deletes == []
    sink.fail_with = None
    with watching(kube, sink.url, tmp_path, prune_after=timedelta(days=3650)) as h:
        wait_for(lambda: h.metrics.value("runlake_watch_runs_archived_total") > 0, "archiving")
        h.watcher.prune_once()
    assert kube.deletes == []
