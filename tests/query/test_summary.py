"""GET /v1/summary: totals, success rate and duration percentiles per group, checked against
a computation in Python over the stored files."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from layout.store import LocalStore
from query.http.app import create_app
from runlake.demo.write import write_demo
from tests.helpers.expected import latest_runs
from tests.helpers.units import BAD_DURATIONS, DURATIONS

STATUS_FIELDS = {
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Cancelled": "cancelled",
    "TimedOut": "timed_out",
    "Running": "running",
    "Pending": "pending",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = LocalStore(str(tmp_path_factory.mktemp("demo")))
    write_demo(store, 300, seed=23, logs=False)
    return store, list(latest_runs(store).values())


@pytest.fixture(scope="module")
def client(demo):
    return create_app({"RUNLAKE_STORE": demo[0].root}).test_client()


def _quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default, DuckDB's
    quantile_cont)."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _key(run, group_by):
    if group_by == "day":
        return run["created_at"].date().isoformat()
    if group_by == "week":
        day = run["created_at"].date()
        return (day - timedelta(days=day.weekday())).isoformat()
    return run[group_by]


def _expected(runs, group_by):
    groups = defaultdict(list)
    for run in runs:
        groups[_key(run, group_by)].append(run)
    answer = {}
    for key, members in groups.items():
        counts = {
            field: sum(r["status"] == status for r in members)
            for status, field in STATUS_FIELDS.items()
        }
        finished = (
            counts["succeeded"] + counts["failed"] + counts["cancelled"] + counts["timed_out"]
        )
        durations = [r["duration_seconds"] for r in members if r["duration_seconds"] is not None]
        answer[key] = {
            "key": key,
            "total": len(members),
            **counts,
            "success_rate": counts["succeeded"] / finished if finished else None,
            "avg_duration_seconds": sum(durations) / len(durations) if durations else None,
            "p50_duration_seconds": _quantile(durations, 0.5),
            "p95_duration_seconds": _quantile(durations, 0.95),
        }
    return answer


def _close(got, want):
    assert set(got) == set(want)
    for name, value in want.items():
        if isinstance(value, float):
            assert got[name] == pytest.approx(value), name
        else:
            assert got[name] == value, name


@pytest.mark.parametrize(
    ("group_by", "kind"),
    [
        ("pipeline", "PipelineRun"),
        ("task", "TaskRun"),
        ("namespace", None),
        ("status", None),
        ("day", None),
        ("week", None),
    ],
)
def test_summary_groups_match_python(demo, client, group_by, kind):
    runs = [r for r in demo[1] if kind is None or r["kind"] == kind]
    expected = _expected(runs, group_by)
    groups = client.get(f"/v1/summary?group_by={group_by}").get_json()["groups"]
    assert len(groups) == len(expected) > 1
    for group in groups:
        _close(group, expected[group["key"]])
    keys = [g["key"] for g in groups]
    if group_by in ("day", "week"):
        assert keys == sorted(keys)
    else:
        assert [g["total"] for g in groups] == sorted((g["total"] for g in groups), reverse=True)


def test_summary_with_filters_and_kind_override(demo, client):
    runs = demo[1]
    ns = max({r["namespace"] for r in runs}, key=lambda n: sum(r["namespace"] == n for r in runs))
    cutoff = sorted(r["created_at"] for r in runs)[len(runs) // 2]
    chosen = [
        r
        for r in runs
        if r["namespace"] == ns and r["created_at"] >= cutoff and r["kind"] == "TaskRun"
    ]
    response = client.get(
        "/v1/summary",
        query_string={
            "group_by": "pipeline",
            "namespace": ns,
            "kind": "TaskRun",
            "since": cutoff.isoformat(),
        },
    )
    groups = response.get_json()["groups"]
    expected = _expected(chosen, "pipeline")
    assert groups and {g["key"] for g in groups} == set(expected)
    for group in groups:
        _close(group, expected[group["key"]])
    assert any(g["success_rate"] is not None and 0 <= g["success_rate"] <= 1 for g in groups)


def test_summary_success_rate_null_when_nothing_finished(client):
    groups = client.get("/v1/summary?group_by=status&status=Running").get_json()["groups"]
    assert [g["key"] for g in groups] == ["Running"]
    assert groups[0]["success_rate"] is None and groups[0]["p50_duration_seconds"] is None


def test_summary_bad_request_lists_every_problem(client):
    response = client.get("/v1/summary?group_by=colour&status=nope&page_size=3")
    body = response.get_json()
    assert response.status_code == 400 and body["status"] == 400
    assert [e.split(":")[0] for e in body["errors"]] == ["group_by", "page_size", "status"]
    assert client.get("/v1/summary").status_code == 400


def test_summary_empty_store(tmp_path):
    client = create_app({"RUNLAKE_STORE": str(tmp_path)}).test_client()
    assert client.get("/v1/summary?group_by=day").get_json() == {"groups": []}
    assert client.get("/v1/runs?since=1d").get_json() == {"runs": [], "next_page_token": None}


@pytest.mark.parametrize(("text", "duration"), DURATIONS)
def test_summary_api_since_takes_the_one_duration_grammar(demo, client, text, duration):
    before = datetime.now(UTC)
    groups = client.get("/v1/summary", query_string={"group_by": "status", "since": text})
    after = datetime.now(UTC)
    total = sum(g["total"] for g in groups.get_json()["groups"])

    def created_since(moment):
        return sum(1 for r in demo[1] if r["created_at"] and r["created_at"] >= moment)

    assert created_since(after - duration) <= total <= created_since(before - duration)


@pytest.mark.parametrize("text", BAD_DURATIONS)
def test_summary_api_since_refuses_what_the_grammar_refuses(client, text):
    answer = client.get("/v1/summary", query_string={"group_by": "status", "since": text})
    assert answer.status_code == 400
    assert [e.split(":")[0] for e in answer.get_json()["errors"]] == ["since"]
