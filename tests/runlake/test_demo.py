"""The demo history generator: exact counts, determinism, every status, real object shapes."""

from __future__ import annotations

import importlib.util
import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from runlake.demo import demo_step_log, generate
from webhooks.status import run_status

NOW = datetime(2025, 3, 14, 15, 30, 0, tzinfo=UTC)
DAYS = 21
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse(ts: str) -> datetime:
    assert RFC3339_Z.match(ts), ts
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def condition(obj: dict) -> dict:
    (cond,) = obj["status"]["conditions"]
    assert cond["type"] == "Succeeded"
    return cond


def status_of(obj: dict) -> str:
    cond = condition(obj)
    return run_status(cond["status"], cond["reason"])


@pytest.fixture(scope="module")
def history() -> list[dict]:
    return list(generate(2000, seed=11, now=NOW, days=DAYS))


@pytest.fixture(scope="module")
def by_uid(history: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["uid"]: o for o in history}


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 9, 13, 50, 101, 777, 2001])
def test_demo_exact_count(n: int) -> None:
    objs = list(generate(n, seed=3, now=NOW))
    assert len(objs) == n
    assert all(o["apiVersion"] == "tekton.dev/v1" for o in objs)
    assert {o["kind"] for o in objs} <= {"PipelineRun", "TaskRun"}


def test_demo_is_lazy() -> None:
    it = generate(10**9, now=NOW)
    first = [next(it) for _ in range(20)]
    assert len(first) == 20


def test_demo_deterministic_per_seed() -> None:
    a = list(generate(600, seed=5, now=NOW))
    b = list(generate(600, seed=5, now=NOW))
    c = list(generate(600, seed=6, now=NOW))
    assert json.dumps(a) == json.dumps(b)
    assert [o["metadata"]["uid"] for o in a] != [o["metadata"]["uid"] for o in c]


def test_demo_default_now_is_current_utc_second() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    objs = list(generate(40, days=1))
    after = datetime.now(UTC)
    created = [parse(o["metadata"]["creationTimestamp"]) for o in objs]
    assert max(created) <= after
    assert min(created) >= before - timedelta(days=1)


def test_demo_naive_now_is_utc() -> None:
    naive = list(generate(30, now=NOW.replace(tzinfo=None)))
    assert json.dumps(naive) == json.dumps(list(generate(30, now=NOW)))


def test_demo_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate(-1)
    with pytest.raises(ValueError):
        generate(10, days=0)


def test_demo_all_statuses_appear(history: list[dict]) -> None:
    combos = Counter((o["kind"], condition(o)["status"], condition(o)["reason"]) for o in history)
    for combo in [
        ("PipelineRun", "True", "Succeeded"),
        ("PipelineRun", "True", "Completed"),
        ("PipelineRun", "False", "Failed"),
        ("PipelineRun", "False", "Cancelled"),
        ("PipelineRun", "False", "PipelineRunTimeout"),
        ("PipelineRun", "Unknown", "Running"),
        ("PipelineRun", "Unknown", "PipelineRunPending"),
        ("TaskRun", "True", "Succeeded"),
        ("TaskRun", "False", "Failed"),
        ("TaskRun", "False", "TaskRunCancelled"),
        ("TaskRun", "False", "TaskRunTimeout"),
        ("TaskRun", "Unknown", "Running"),
        ("TaskRun", "Unknown", "Pending"),
    ]:
        assert combos[combo] > 0, combo
    statuses = Counter(status_of(o) for o in history)
    assert set(statuses) == {"Succeeded", "Failed", "Cancelled", "TimedOut", "Running", "Pending"}
    # mostly green, and only a handful in flight
    assert statuses["Succeeded"] / len(history) > 0.75
    assert statuses["Running"] + statuses["Pending"] < 40


def test_demo_old_style_cancel_reason_appears() -> None:
    reasons = Counter(
        condition(o)["reason"]
        for o in generate(6000, seed=11, now=NOW)
        if o["kind"] == "PipelineRun"
    )
    assert reasons["PipelineRunCancelled"] > 0
    assert reasons["Cancelled"] > reasons["PipelineRunCancelled"]


def test_demo_uids_and_names_unique(history: list[dict]) -> None:
    uids = [o["metadata"]["uid"] for o in history]
    assert len(set(uids)) == len(uids)
    for u in uids:
        assert str(uuid.UUID(u)) == u and uuid.UUID(u).version == 4
    names = [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in history]
    assert len(set(names)) == len(names)


def test_demo_resource_versions_increase(history: list[dict]) -> None:
    rvs = [int(o["metadata"]["resourceVersion"]) for o in history]
    assert all(a < b for a, b in zip(rvs, rvs[1:], strict=False))


def test_demo_creation_times_within_window(history: list[dict]) -> None:
    start = NOW - timedelta(days=DAYS)
    created = [parse(o["metadata"]["creationTimestamp"]) for o in history]
    assert all(start <= c <= NOW for c in created)
    # spread over the window, busier on weekdays
    assert (max(created) - min(created)) > timedelta(days=DAYS - 2)
    weekdays = sum(c.weekday() < 5 for c in created)
    assert weekdays / len(created) > 0.8


def test_demo_times_are_consistent(history: list[dict]) -> None:
    for o in history:
        st = o["status"]
        created = parse(o["metadata"]["creationTimestamp"])
        done = "completionTime" in st
        assert done == (condition(o)["status"] != "Unknown"), o["metadata"]["name"]
        if "startTime" in st:
            assert created <= parse(st["startTime"]) <= NOW
        if done:
            assert parse(st["startTime"]) <= parse(st["completionTime"]) <= NOW
        for step in st.get("steps", []):
            term = step.get("terminated")
            if term and term["startedAt"]:
                assert parse(term["startedAt"]) <= parse(term["finishedAt"]) <= NOW


def test_demo_child_taskruns_belong_to_a_pipelinerun(
    history: list[dict], by_uid: dict[str, dict]
) -> None:
    children: dict[str, list[dict]] = {}
    for o in history:
        if o["kind"] != "TaskRun" or "ownerReferences" not in o["metadata"]:
            continue
        (owner,) = o["metadata"]["ownerReferences"]
        assert owner["apiVersion"] == "tekton.dev/v1" and owner["kind"] == "PipelineRun"
        assert owner["controller"] is True and owner["blockOwnerDeletion"] is True
        parent = by_uid[owner["uid"]]
        assert parent["kind"] == "PipelineRun"
        assert parent["metadata"]["name"] == owner["name"]
        labels = o["metadata"]["labels"]
        assert labels["tekton.dev/pipelineRun"] == owner["name"]
        assert labels["tekton.dev/pipeline"] == parent["metadata"]["labels"]["tekton.dev/pipeline"]
        assert labels["tekton.dev/memberOf"] in ("tasks", "finally")
        assert labels["tekton.dev/pipelineTask"] and labels["tekton.dev/task"]
        assert o["metadata"]["namespace"] == parent["metadata"]["namespace"]
        # inside the parent's window
        pst = parent["status"]
        assert parse(pst["startTime"]) <= parse(o["metadata"]["creationTimestamp"])
        if "completionTime" in pst:
            assert "completionTime" in o["status"]
            assert parse(o["status"]["completionTime"]) <= parse(pst["completionTime"])
        children.setdefault(owner["uid"], []).append(o)
    standalone = sum(
        o["kind"] == "TaskRun" and "ownerReferences" not in o["metadata"] for o in history
    )
    assert 0.05 < standalone / len(history) < 0.2
    # childReferences name exactly the children that exist
    for o in history:
        if o["kind"] != "PipelineRun":
            continue
        refs = o["status"].get("childReferences", [])
        kids = children.get(o["metadata"]["uid"], [])
        assert [r["name"] for r in refs] == [k["metadata"]["name"] for k in kids]
        for r, k in zip(refs, kids, strict=True):
            assert r["apiVersion"] == "tekton.dev/v1" and r["kind"] == "TaskRun"
            assert r["pipelineTaskName"] == k["metadata"]["labels"]["tekton.dev/pipelineTask"]


def test_demo_pipelines_and_namespaces_are_varied(history: list[dict]) -> None:
    prs = [o for o in history if o["kind"] == "PipelineRun"]
    pipelines = Counter(o["metadata"]["labels"]["tekton.dev/pipeline"] for o in prs)
    assert len(pipelines) >= 8
    assert len({o["metadata"]["namespace"] for o in history}) >= 5
    for o in prs:
        assert re.fullmatch(
            re.escape(o["metadata"]["generateName"]) + r"[a-z0-9]{5}", o["metadata"]["name"]
        )
        assert o["spec"]["pipelineRef"]["name"] == o["metadata"]["labels"]["tekton.dev/pipeline"]
        assert o["spec"]["taskRunTemplate"]["serviceAccountName"]
        assert o["spec"]["timeouts"]["pipeline"]
    tasks_per_run = Counter(
        len(o["status"].get("childReferences", [])) + len(o["status"].get("skippedTasks", []))
        for o in prs
        if "completionTime" in o["status"]
    )
    assert min(tasks_per_run) >= 3 and max(tasks_per_run) <= 7


def test_demo_failed_taskruns_have_a_failing_step(history: list[dict]) -> None:
    failed = [o for o in history if o["kind"] == "TaskRun" and condition(o)["reason"] == "Failed"]
    assert failed
    for o in failed:
        codes = [s["terminated"]["exitCode"] for s in o["status"]["steps"]]
        assert any(c != 0 for c in codes)
        assert o["status"]["podName"] in condition(o)["message"]
    for o in history:
        if o["kind"] == "TaskRun" and condition(o)["reason"] == "Succeeded":
            assert all(s["terminated"]["exitCode"] == 0 for s in o["status"]["steps"])


def test_demo_failed_pipelinerun_skips_later_tasks(
    history: list[dict], by_uid: dict[str, dict]
) -> None:
    failed = [
        o for o in history if o["kind"] == "PipelineRun" and condition(o)["reason"] == "Failed"
    ]
    assert failed
    for pr in failed:
        assert "Failed: " in condition(pr)["message"]
    assert any(
        s["reason"] == "PipelineRun was stopping"
        for pr in failed
        for s in pr["status"].get("skippedTasks", [])
    )


def test_demo_completed_runs_skipped_tasks_by_when(history: list[dict]) -> None:
    completed = [
        o for o in history if o["kind"] == "PipelineRun" and condition(o)["reason"] == "Completed"
    ]
    assert completed
    for pr in completed:
        assert condition(pr)["status"] == "True"
        skipped = pr["status"]["skippedTasks"]
        assert skipped and all(s["whenExpressions"] for s in skipped)


def test_demo_retries(history: list[dict]) -> None:
    retried = [o for o in history if o["status"].get("retriesStatus")]
    assert retried
    for o in retried:
        assert o["spec"]["retries"] >= len(o["status"]["retriesStatus"])
        for attempt in o["status"]["retriesStatus"]:
            assert attempt["conditions"][0]["status"] == "False"
            assert attempt["podName"] != o["status"].get("podName")
    assert any(condition(o)["reason"] == "Succeeded" for o in retried)


def test_demo_in_flight_runs_are_near_now(history: list[dict]) -> None:
    live = [o for o in history if condition(o)["status"] == "Unknown"]
    assert live
    for o in live:
        assert "completionTime" not in o["status"]
        assert NOW - parse(o["metadata"]["creationTimestamp"]) < timedelta(hours=3)
    pending_pr = [o for o in live if condition(o)["reason"] == "PipelineRunPending"]
    assert all(
        o["spec"]["status"] == "PipelineRunPending" and "startTime" not in o["status"]
        for o in pending_pr
    )


def test_demo_pipelinerun_records_its_task_graph(history: list[dict]) -> None:
    for o in history:
        if o["kind"] != "PipelineRun" or "startTime" not in o["status"]:
            continue
        spec = o["status"]["pipelineSpec"]
        names = [t["name"] for t in spec["tasks"]] + [t["name"] for t in spec.get("finally", [])]
        children = {c["pipelineTaskName"] for c in o["status"].get("childReferences", [])}
        assert children <= set(names)
        for task in spec["tasks"]:
            assert set(task.get("runAfter", [])) < set(names)


def test_demo_taskrun_shape(history: list[dict]) -> None:
    for o in history:
        if o["kind"] != "TaskRun":
            continue
        spec, st = o["spec"], o["status"]
        # As Tekton records it: the resolved Task in status.taskSpec once the run started,
        # its steps those of status.steps (what usage's CPU-hours read), never in spec.
        assert "taskSpec" not in spec
        if "startTime" in st:
            names = [step["name"] for step in st["taskSpec"]["steps"]]
            assert not st.get("steps") or names == [step["name"] for step in st["steps"]]
        assert spec["taskRef"] and spec["timeout"] and spec["serviceAccountName"]
        assert o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "tekton-pipelines"
        for step in st.get("steps", []):
            assert step["container"] == f"step-{step['name']}"
            assert "@sha256:" in step["imageID"]
            if "terminated" in step:
                assert step["terminated"]["reason"] in (
                    "Completed",
                    "Error",
                    "OOMKilled",
                    "TaskRunCancelled",
                    "TaskRunTimeout",
                )
    digests = [
        r for o in history for r in o["status"].get("results", []) if r["name"] == "IMAGE_DIGEST"
    ]
    assert digests and all(re.fullmatch(r"sha256:[0-9a-f]{64}", r["value"]) for r in digests)


def test_demo_step_logs(history: list[dict]) -> None:
    taskruns = [o for o in history if o["kind"] == "TaskRun"]
    coloured = failing = 0
    for o in taskruns[:400] + [o for o in taskruns if condition(o)["reason"] == "Failed"]:
        for step in o["status"].get("steps", []):
            log = demo_step_log(o, step["name"])
            assert log == demo_step_log(o, step["name"])
            term = step.get("terminated") or {}
            if term.get("reason") == "Completed":
                assert log.count("\n") >= 1 and log.endswith("\n")
            if (
                term.get("reason") in ("Error", "OOMKilled")
                and step.get("terminationReason") != "Skipped"
            ):
                failing += 1
                assert log.strip()
            coloured += bool(ANSI.search(log))
    assert coloured and failing
    go_fail = next(
        o
        for o in taskruns
        if condition(o)["reason"] == "Failed"
        and o["metadata"]["labels"]["tekton.dev/task"] == "golang-test"
    )
    assert "--- FAIL" in demo_step_log(go_fail, "unit-test")
    with pytest.raises(KeyError):
        demo_step_log(taskruns[0], "no-such-step")


def test_demo_normalizes() -> None:
    if importlib.util.find_spec("webhooks.normalize") is None:
        pytest.skip("webhooks.normalize is not written yet")
    from webhooks.normalize import normalize

    objs = list(generate(3000, seed=2, now=NOW))
    rows = [
        normalize(o, received_at=NOW, event_id=f"demo-{i}", source="watcher")
        for i, o in enumerate(objs)
    ]
    for o, row in zip(objs, rows, strict=True):
        assert row["uid"] == o["metadata"]["uid"]
        assert row["kind"] == o["kind"]
        assert row["api_version"] == "tekton.dev/v1"
        assert row["status"] == status_of(o)
        if o["kind"] == "TaskRun" and "ownerReferences" in o["metadata"]:
            assert row["pipeline"] and row["pipeline_run"] and row["pipeline_task"]
        if row["status"] in ("Running", "Pending"):
            assert row["completed_at"] is None and row["duration_seconds"] is None
        else:
            assert row["duration_seconds"] is not None and row["duration_seconds"] >= 0
    prs = Counter(r["status"] for r in rows if r["kind"] == "PipelineRun")
    total = sum(prs.values())
    assert prs["Succeeded"] / total > 0.6
    assert 0.05 < prs["Failed"] / total < 0.25
    assert 0 < prs["Cancelled"] / total < 0.06
    assert 0 < prs["TimedOut"] / total < 0.04
    assert 0 < prs["Running"] + prs["Pending"] < 0.05 * total
    trs = Counter(r["status"] for r in rows if r["kind"] == "TaskRun")
    assert trs["Succeeded"] / sum(trs.values()) > 0.85
    durations = sorted(
        r["duration_seconds"]
        for r in rows
        if r["kind"] == "TaskRun" and r["duration_seconds"] is not None
    )
    assert durations[0] >= 1 and 10 < durations[len(durations) // 2] < 600
