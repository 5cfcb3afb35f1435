"""Retention decides per result as Tekton Results does and deletes a result's rows (from both
tables and the index) and logs together."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from layout import retention
from layout.retention import (
    JOURNAL_PREFIX,
    Policy,
    PolicyError,
    RunInfo,
    expired_results,
    parse_policy,
)
from layout.tables import INDEX, Tables
from query.engine import Engine
from tests.helpers.expected import stored_snapshots
from tests.helpers.history import NOW, archive, history, store_logs
from tests.helpers.stages import materialize
from tests.helpers.units import BAD_DURATIONS, BAD_NUMBER_DURATIONS, DURATIONS, NUMBER_DURATIONS

POLICY = """
defaultRetention: 14d
policies:
  - name: previews
    selector:
      matchNamespaces: [previews]
      matchStatuses: [Succeeded, Completed]
    retention: 3d
  - name: data-team
    selector:
      matchLabels: {team: [data]}
      matchAnnotations: {}
    retention: 7d
  - name: keep-failures
    selector:
      matchStatuses: [Failed, PipelineRunTimeout, TaskRunTimeout]
    retention: 365d
"""


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _expected(objects: list[dict], now: datetime) -> tuple[set[str], set[str]]:
    """(uids of expired top-level runs, uids of every expired run), worked out from the
    Kubernetes objects as the policy above reads."""

    def owner(obj: dict) -> str | None:
        refs = obj["metadata"].get("ownerReferences") or []
        return next((r["uid"] for r in refs if r["kind"] == "PipelineRun"), None)

    tops, gone = set(), set()
    for obj in objects:
        if owner(obj):
            continue
        meta, status = obj["metadata"], obj["status"]
        reason = next(c.get("reason") for c in status["conditions"] if c["type"] == "Succeeded")
        if meta["namespace"] == "previews" and reason in ("Succeeded", "Completed"):
            keep = timedelta(days=3)
        elif meta.get("labels", {}).get("team") == "data":
            keep = timedelta(days=7)
        elif reason in ("Failed", "PipelineRunTimeout", "TaskRunTimeout"):
            keep = timedelta(days=365)
        else:
            keep = timedelta(days=14)
        since = _time(status.get("completionTime") or meta["creationTimestamp"])
        if now - since > keep:
            tops.add(meta["uid"])
    for obj in objects:
        if obj["metadata"]["uid"] in tops or owner(obj) in tops:
            gone.add(obj["metadata"]["uid"])
    return tops, gone


def _collect(store) -> list[RunInfo]:
    engine = Engine(store)
    try:
        return retention.runs_from_rows(engine.query(retention.RUNS_SQL))
    finally:
        engine.close()


def _logs(store) -> dict[str, int]:
    return {info.key: info.size for info in store.list("logs")}


@pytest.fixture
def known(store):
    objects = history(50, seed=3)
    archive(store, objects, per_file=6)
    materialize(store)
    sizes: dict[str, int] = {}
    for obj in objects:
        if obj["kind"] == "TaskRun":
            sizes.update(store_logs(store, obj))
    return store, objects, sizes


def _policy_with(value) -> str:
    return yaml.safe_dump(
        {"defaultRetention": value, "policies": [{"name": "a", "retention": value}]}
    )


@pytest.mark.parametrize(("value", "expected"), DURATIONS + NUMBER_DURATIONS)
def test_retention_policy_durations_are_the_one_grammar(value, expected):
    policy = parse_policy(_policy_with(value))
    assert policy.default == expected and policy.rules[0].retention == expected


@pytest.mark.parametrize(
    "value", BAD_DURATIONS + [v for v in BAD_NUMBER_DURATIONS if v is not None]
)
def test_retention_policy_refuses_what_the_grammar_refuses(value):
    with pytest.raises(PolicyError) as caught:
        parse_policy(_policy_with(value))
    assert [e.split(": ")[0] for e in caught.value.errors] == [
        "defaultRetention",
        "policies[0].retention",
    ]


def test_retention_parse_policy_reads_design_shape_and_results_configmap():
    policy = parse_policy(POLICY)
    assert policy.default == timedelta(days=14)
    assert [rule.name for rule in policy.rules] == ["previews", "data-team", "keep-failures"]
    assert policy.rules[1].selector.labels == {"team": frozenset({"data"})}

    configmap = parse_policy("""
apiVersion: v1
kind: ConfigMap
metadata: {name: tekton-results-config-results-retention-policy}
data:
  runAt: "5 5 * * 0"
  defaultRetention: "30"
  policies: |
    - name: ci
      selector: {matchNamespaces: [ci]}
      retention: 12h
""")
    assert configmap.default == timedelta(days=30)
    assert configmap.rules[0].retention == timedelta(hours=12)
    assert parse_policy("policies: []").default is None


def test_retention_parse_policy_lists_every_problem():
    with pytest.raises(PolicyError) as caught:
        parse_policy("""
defaultRetention: soon
policies:
  - name: a
    selector: {matchNamespaces: ci, matchColours: [red]}
    retention: 3d
  - name: b
    selector: {}
  - name: c
    selector: {matchLabels: {team: 5}}
    retention: 1d
""")
    text = " | ".join(caught.value.errors)
    assert len(caught.value.errors) == 4, text
    assert "defaultRetention" in text and "matchColours" in text
    assert "retention is required" in text and "matchLabels.team" in text


def _run(
    uid: str,
    kind: str = "PipelineRun",
    parent: str | None = None,
    done_days_ago: float | None = 10,
    namespace: str = "ci",
    reason: str = "Succeeded",
) -> RunInfo:
    done = NOW - timedelta(days=done_days_ago) if done_days_ago is not None else None
    return RunInfo(
        uid=uid,
        namespace=namespace,
        kind=kind,
        reason=reason,
        labels={},
        annotations={},
        created_at=NOW - timedelta(days=30),
        completed_at=done,
        parent_uid=parent,
    )


def test_retention_decides_per_result_by_the_top_level_run_first_match_wins():
    policy = parse_policy("""
defaultRetention: 7d
policies:
  - {name: ci-failures, selector: {matchNamespaces: [ci], matchStatuses: [Failed]},
     retention: 1d}
  - {name: ci, selector: {matchNamespaces: [ci]}, retention: 20d}
""")
    runs = [
        _run("old-pr"),
        _run("child-young", "TaskRun", "old-pr", done_days_ago=0.1),
        _run("young-pr", done_days_ago=1),
        _run("child-old", "TaskRun", "young-pr", done_days_ago=40, reason="Failed"),
        _run("failed-tr", "TaskRun", done_days_ago=2, reason="Failed"),
        _run("other-ns", "TaskRun", namespace="web", done_days_ago=8),
        _run("never-finished", done_days_ago=None),  # age from creation: 30 days
        _run("orphan", "TaskRun", "pr-never-archived", done_days_ago=2),
    ]

    decided = {
        e.top.uid: (e.policy, sorted(r.uid for r in e.runs))
        for e in expired_results(runs, policy, now=NOW)
    }

    assert decided == {
        "failed-tr": ("ci-failures", ["failed-tr"]),
        "other-ns": ("defaultRetention", ["other-ns"]),
        "never-finished": ("ci", ["never-finished"]),
    }
    keep_forever = Policy(default=None, rules=())
    assert expired_results(runs, keep_forever, now=NOW) == []
    twenty_days = parse_policy("defaultRetention: 9d")
    assert "old-pr" in {e.top.uid for e in expired_results(runs, twenty_days, now=NOW)}
    old_pr = next(e for e in expired_results(runs, twenty_days, now=NOW) if e.top.uid == "old-pr")
    assert sorted(r.uid for r in old_pr.runs) == ["child-young", "old-pr"]


def test_retention_deletes_records_and_logs_of_expired_results_only(known):
    store, objects, sizes = known
    tops, gone = _expected(objects, NOW)
    children = gone - tops
    assert tops and children and len(gone) < len(objects)
    expired = expired_results(_collect(store), parse_policy(POLICY), now=NOW)
    assert {e.top.uid for e in expired} == tops

    plan = retention.plan(store, expired)
    gone_logs = {k: v for k, v in sizes.items() if k.split("/")[2] in gone}
    assert (plan.results, plan.runs) == (len(tops), len(gone))
    # a running and a final snapshot each, and the run's row
    assert plan.record_rows == 3 * len(gone)
    assert (plan.log_objects, plan.log_bytes) == (len(gone_logs), sum(gone_logs.values()))
    assert _logs(store) == sizes  # planning deleted nothing

    done = retention.apply(store, expired)

    assert done.results == len(tops)
    remaining = {run.uid for run in _collect(store)}
    assert remaining == {o["metadata"]["uid"] for o in objects} - gone
    stored = {row["uid"] for row in stored_snapshots(store)}
    assert stored == remaining  # no snapshot of an expired run is left either
    index = Tables(store).open(INDEX).to_pyarrow_table().column("uid").to_pylist()
    assert set(index) == remaining
    assert _logs(store) == {k: v for k, v in sizes.items() if k not in gone_logs}
    assert store.list(JOURNAL_PREFIX) == []
    # Nothing left to do the second time.
    again = expired_results(_collect(store), parse_policy(POLICY), now=NOW)
    assert again == []


def test_retention_killed_before_logs_is_finished_by_the_next_run(local_store):
    objects = history(30, seed=4)
    archive(local_store, objects)
    materialize(local_store)
    sizes: dict[str, int] = {}
    for obj in objects:
        if obj["kind"] == "TaskRun":
            sizes.update(store_logs(local_store, obj))
    policy = parse_policy("defaultRetention: 5d")
    expired = expired_results(_collect(local_store), policy, now=NOW)
    gone = {run.uid for e in expired for run in e.runs}
    assert gone

    class Killed(Exception):
        pass

    def kill() -> None:
        raise Killed

    with pytest.raises(Killed):
        retention.apply(local_store, expired, before_logs=kill)
    assert not gone & {run.uid for run in _collect(local_store)}
    assert local_store.list(JOURNAL_PREFIX)
    assert any(key.split("/")[2] in gone for key in _logs(local_store))

    retention.apply(local_store, [])

    assert not any(key.split("/")[2] in gone for key in _logs(local_store))
    assert local_store.list(JOURNAL_PREFIX) == []


def test_retention_reader_sees_an_expired_run_whole_or_not_at_all(store):
    objects = history(30, seed=9)
    archive(store, objects, per_file=3)
    materialize(store)
    final = {o["metadata"]["uid"]: o["metadata"]["resourceVersion"] for o in objects}
    expired = expired_results(_collect(store), parse_policy("defaultRetention: 6d"), now=NOW)
    gone = sorted(run.uid for e in expired for run in e.runs)
    assert len(gone) > 5
    engine = Engine(store)
    stop = threading.Event()
    seen: list[str] = []
    problems: list[str] = []
    uid_list = "[" + ", ".join(f"'{uid}'" for uid in gone) + "]"

    def read() -> None:
        while not stop.is_set():
            try:
                rows = engine.query(
                    f"SELECT uid, resource_version FROM runs WHERE list_contains({uid_list}, uid)"
                )
            except Exception as exc:  # noqa: BLE001 - a failed query is a finding
                problems.append(str(exc))
                continue
            seen.append(str(len(rows)))
            stop.wait(0.005)  # leave the store some room for the deletes
            problems.extend(
                f"{r['uid']} showed an earlier snapshot"
                for r in rows
                if r["resource_version"] != final[r["uid"]]
            )

    reader = threading.Thread(target=read)
    reader.start()
    try:
        retention.apply(store, expired)
    finally:
        stop.set()
        reader.join()
    assert not problems, problems[:3]
    assert seen
    assert (
        engine.query(f"SELECT count(*) AS n FROM runs WHERE list_contains({uid_list}, uid)")[0]["n"]
        == 0
    )


def test_retention_against_now_keeps_recent_runs(local_store):
    objects = history(20, seed=2)
    archive(local_store, objects, with_running=False)
    expired = expired_results(
        _collect(local_store), parse_policy("defaultRetention: 1000d"), now=datetime.now(UTC)
    )
    assert expired == []
