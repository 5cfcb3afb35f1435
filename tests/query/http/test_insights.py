"""GET /v1/insights/... and /v1/insights/.../runs over the crafted history of
tests/helpers/insight_history.py: the known answers, the filters, paging and token
confinement, and the runs behind each number."""

from __future__ import annotations

import copy

import pytest

from ingest.archive import import_objects
from layout.store import LocalStore
from tests.helpers.apps import query_client
from tests.helpers.insight_history import crafted_history, store_crafted_logs

TOKENS = "datatok=data;alltok=*"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(str(tmp_path_factory.mktemp("insights-http") / "store"))
    import_objects(store, crafted_history())
    store_crafted_logs(store)
    return store


@pytest.fixture(scope="module")
def client(store):
    return query_client(store)


def _get(client, path: str, **params) -> dict:
    response = client.get(path, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _rows(client, insight: str, **params) -> list[dict]:
    return _get(client, f"/v1/insights/{insight}", **params)["rows"]


def _behind(client, insight: str, **params) -> list[str]:
    return [run["uid"] for run in _get(client, f"/v1/insights/{insight}/runs", **params)["runs"]]


def test_insights_answer_the_crafted_history(client) -> None:
    retries = _rows(client, "retries")
    assert [(r["uid"], r["attempt"], r["status"]) for r in retries] == [
        ("pr-a3-lint", 0, "Failed"),
        ("pr-a3-lint", 1, "Succeeded"),
    ]
    flaky = _rows(client, "flaky")
    assert [(r["pipeline_task"], r["flips"], r["passed_on_retry"]) for r in flaky[:2]] == [
        ("test", 1, 0),
        ("lint", 0, 1),
    ]
    queue = {r["key"]: r for r in _rows(client, "queue", group_by="namespace")}
    assert queue["shop"]["runs"] == 23 and queue["shop"]["max_queued_seconds"] == 3.0
    assert queue["data"]["p95_queued_seconds"] == 10.0
    # only three data TaskRuns list steps: 0 s, 0 s (the failures) and 1 s (the cancelled)
    assert queue["data"]["p50_pod_pending_seconds"] == 0.0
    path = {r["pipeline_task"]: r for r in _rows(client, "critical-path")}
    # test lies on 3 of 4 paths: 60 + 25 + 55 s of their 107 + 44 + 98 + 127 s
    assert path["test"]["on_path"] == 3 and path["test"]["pipeline_runs"] == 4
    assert path["test"]["on_path_rate"] == 0.75
    assert path["test"]["wall_share"] == pytest.approx(140 / 376)
    assert path["lint"]["on_path"] == 1 and path["fetch"]["on_path_rate"] == 1.0
    usage = _rows(client, "usage")
    assert [(u["namespace"], u["day"], u["taskruns"], u["taskrun_seconds"]) for u in usage] == [
        ("data", "2026-03-02", 7, 3370.0),
        ("shop", "2026-03-02", 19, 442.0),
    ]
    # shop: 0.5 core for 350 s, 2 cores for 60 s, 1 core for 25 s, 7 s unknown
    assert usage[1]["cpu_hours"] == pytest.approx((0.5 * 350 + 2 * 60 + 25) / 3600)
    assert usage[1]["taskruns_with_cpu"] == 18
    failures = _rows(client, "step-failures")
    assert [(f["task"], f["failures"], f["first_error_line"]) for f in failures] == [
        ("dbt-run", 2, "Database Error in model orders"),
        ("go-test", 1, "--- FAIL: TestCheckout (0.01s)"),
    ]


def test_insights_group_by(client) -> None:
    by_team = _rows(client, "usage", group_by="label:team,week")
    assert [(u["label:team"], u["week"], u["taskruns"]) for u in by_team] == [
        ("analytics", "2026-03-02", 7),
        ("checkout", "2026-03-02", 19),
    ]
    assert [u["task"] for u in _rows(client, "usage", group_by="task")][:2] == [
        "dbt-run",
        "git-clone",
    ]
    paths = _rows(client, "critical-path", group_by="pipeline_run")
    assert [(p["pipeline_run"], p["position"]) for p in paths[:4]] == [
        ("pr-b1", 0),
        ("pr-b1", 1),
        ("pr-b1", 2),
        ("pr-b1", 3),
    ]
    days = _rows(client, "queue", group_by="day", kind="PipelineRun")
    assert days == [
        {
            "key": "2026-03-02",
            "runs": 4,
            "p50_queued_seconds": 3.0,
            "p95_queued_seconds": 3.0,
            "max_queued_seconds": 3.0,
            "avg_queued_seconds": 3.0,
            "p50_pod_pending_seconds": None,
            "p95_pod_pending_seconds": None,
        }
    ]


def test_insights_filters_scope_runs_and_pick_rows(client) -> None:
    assert _rows(client, "flaky", namespace="data") == []
    assert {u["namespace"] for u in _rows(client, "usage", pipeline="diamond")} == {"shop"}
    assert [f["pipeline_task"] for f in _rows(client, "flaky", task="go-test")] == ["test"]
    assert {u["namespace"] for u in _rows(client, "usage", label="team=analytics")} == {"data"}
    # From pr-a3 on, commit aaa ran once: no flip in that window.
    late = _rows(client, "flaky", since="2026-03-02T10:05:00Z")
    assert {f["pipeline_task"]: f["flips"] for f in late}["test"] == 0
    assert {f["pipeline_task"]: f["runs"] for f in late}["test"] == 2
    early = _rows(client, "critical-path", until="2026-03-02T10:05:00Z", group_by="pipeline_run")
    assert {p["pipeline_run"] for p in early} == {"pr-a1", "pr-a2"}


def test_insights_filter_values_are_data_even_with_quotes_and_nul(client) -> None:
    # The scope is inlined into SQL (a view takes no parameters): no value may end it.
    for value in ("it's", "a\x00'; select 1 --", "%00"):
        response = client.get("/v1/insights/queue", query_string={"pipeline": value})
        assert response.status_code == 200, response.json
        assert response.json["rows"] == []


def test_insights_refuse_bad_parameters(client) -> None:
    response = client.get(
        "/v1/insights/flaky",
        query_string={"status": "Failed", "group_by": "day", "since": "yesterday"},
    )
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert any(e.startswith("status: not a parameter") for e in errors)
    assert any(e.startswith("group_by:") for e in errors)
    assert any(e.startswith("since:") for e in errors)
    assert client.get("/v1/insights/usage?group_by=label:a%22b").status_code == 400
    assert client.get("/v1/insights/queue?group_by=day,task").status_code == 400
    assert client.get("/v1/insights/queue?kind=CustomRun").status_code == 400
    missing = client.get("/v1/insights/flakiness")
    assert missing.status_code == 404 and "retries" in missing.get_json()["errors"][0]


@pytest.mark.parametrize(
    ("insight", "params"),
    [
        ("flaky", {}),
        ("retries", {}),
        ("usage", {"group_by": "namespace,task"}),
        ("critical-path", {"group_by": "pipeline_run"}),
        ("queue", {"group_by": "task"}),
        ("step-failures", {}),
    ],
)
def test_insights_pages_walk_every_row_once(client, insight, params) -> None:
    whole = _rows(client, insight, page_size=1000, **params)
    assert len(whole) > 1
    walked, token = [], None
    while True:
        page = _get(
            client,
            f"/v1/insights/{insight}",
            page_size=1,
            **params,
            **({"page_token": token} if token else {}),
        )
        walked += page["rows"]
        token = page["next_page_token"]
        if token is None:
            break
    # Sums of floats may differ in the last digit between two queries (DuckDB adds in
    # parallel, in any order): rows compare with their numbers rounded.
    assert _rounded(walked) == _rounded(whole)


def _rounded(rows: list[dict]) -> list[dict]:
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


def test_insights_page_token_belongs_to_its_request(client) -> None:
    token = _get(client, "/v1/insights/flaky", page_size=1)["next_page_token"]
    other = client.get("/v1/insights/flaky", query_string={"page_token": token, "pipeline": "x"})
    assert other.status_code == 400 and "other filters" in other.get_json()["errors"][0]
    forged = client.get("/v1/insights/flaky", query_string={"page_token": "bm90IGEgdG9rZW4"})
    assert forged.status_code == 400


def test_insights_runs_behind_each_number(client) -> None:
    flaky = {"pipeline": "diamond", "pipeline_task": "test"}
    assert _behind(client, "flaky", **flaky) == [
        "pr-b1-test",
        "pr-a3-test",
        "pr-a2-test",
        "pr-a1-test",
    ]
    assert _behind(client, "flaky", **flaky, measure="failures") == ["pr-a2-test"]
    assert _behind(client, "flaky", **flaky, measure="flips") == [
        "pr-a3-test",
        "pr-a2-test",
        "pr-a1-test",
    ]
    lint = {"pipeline": "diamond", "pipeline_task": "lint"}
    assert _behind(client, "flaky", **lint, measure="passed_on_retry") == ["pr-a3-lint"]
    assert _behind(client, "critical-path", **lint, measure="on_path") == ["pr-b1"]
    assert _behind(client, "retries") == ["pr-a3-lint"]
    failed = {"task": "dbt-run", "step": "run", "exit_code": "1"}
    assert _behind(client, "step-failures", **failed) == ["etl-fail-2", "etl-fail-1"]
    assert _behind(client, "queue", kind="PipelineRun") == ["pr-b1", "pr-a3", "pr-a2", "pr-a1"]
    team = _behind(client, "usage", label="team=analytics", since="2026-03-02")
    assert len(team) == 7 and all(uid.startswith("etl-") for uid in team)
    # paged as /v1/runs pages
    first = _get(client, "/v1/insights/flaky/runs", page_size=3, **flaky)
    rest = _get(
        client,
        "/v1/insights/flaky/runs",
        page_size=3,
        page_token=first["next_page_token"],
        **flaky,
    )
    assert [r["uid"] for r in first["runs"] + rest["runs"]] == _behind(client, "flaky", **flaky)
    assert rest["next_page_token"] is None
    bad = client.get("/v1/insights/flaky/runs?measure=fun&step=x")
    assert bad.status_code == 400 and len(bad.get_json()["errors"]) == 2


def test_insights_token_learns_nothing_of_other_namespaces(store) -> None:
    client = query_client(store, RUNLAKE_QUERY_TOKENS=TOKENS)
    assert client.get("/v1/insights/flaky").status_code == 401
    data = {"Authorization": "Bearer datatok"}

    def rows(insight: str, **params) -> list[dict]:
        response = client.get(f"/v1/insights/{insight}", query_string=params, headers=data)
        assert response.status_code == 200
        return response.get_json()["rows"]

    for insight, params in (
        ("retries", {}),
        ("flaky", {}),
        ("critical-path", {}),
        ("critical-path", {"group_by": "pipeline_run"}),
        ("flaky", {"namespace": "shop"}),
        ("usage", {"namespace": "shop"}),
    ):
        assert rows(insight, **params) == [], insight
    assert [u["namespace"] for u in rows("usage")] == ["data"]
    assert [q["key"] for q in rows("queue", group_by="namespace")] == ["data"]
    assert [f["namespace"] for f in rows("step-failures")] == ["data"]
    behind = client.get(
        "/v1/insights/flaky/runs",
        query_string={"pipeline": "diamond", "pipeline_task": "test"},
        headers=data,
    )
    assert behind.get_json()["runs"] == []
    sql = client.post(
        "/v1/sql", json={"sql": "SELECT count(*) FROM critical_path"}, headers=data
    ).get_json()
    assert sql["rows"] == [[0]]
    everything = {"Authorization": "Bearer alltok"}
    assert client.get("/v1/insights/flaky", headers=everything).get_json()["rows"]


def test_insights_two_clusters_with_the_same_names(tmp_path) -> None:
    """The shop history archived from two clusters (same namespaces, names and commits, other
    uids): each cluster's insights are its own, and a token for one learns nothing of the
    other."""
    store = LocalStore(str(tmp_path / "store"))
    import_objects(store, crafted_history(), cluster="prod-eu")
    staging = copy.deepcopy(crafted_history())
    for obj in staging:
        obj["metadata"]["uid"] = "stg-" + obj["metadata"]["uid"]
        for owner in obj["metadata"].get("ownerReferences", []):
            owner["uid"] = "stg-" + owner["uid"]
    import_objects(store, staging, cluster="staging")
    client = query_client(store, RUNLAKE_QUERY_TOKENS="eu=prod-eu/shop;all=*")
    everything = {"Authorization": "Bearer all"}
    rows = client.get("/v1/insights/flaky", headers=everything).get_json()["rows"]
    test = [(r["cluster"], r["runs"], r["flips"]) for r in rows if r["pipeline_task"] == "test"]
    # the same commit in two clusters is two inputs of two pipelines: no cross-cluster flip
    assert sorted(test) == [("prod-eu", 4, 1), ("staging", 4, 1)]
    paths = client.get(
        "/v1/insights/critical-path", query_string={"cluster": "staging"}, headers=everything
    ).get_json()["rows"]
    assert {p["cluster"] for p in paths} == {"staging"} and len(paths) == 5
    eu = {"Authorization": "Bearer eu"}
    for insight in ("retries", "flaky", "critical-path", "step-failures"):
        seen = client.get(f"/v1/insights/{insight}", headers=eu).get_json()["rows"]
        assert {(r["cluster"], r["namespace"]) for r in seen} <= {("prod-eu", "shop")}, insight
    usage = client.get(
        "/v1/insights/usage", query_string={"group_by": "cluster,namespace"}, headers=eu
    ).get_json()["rows"]
    assert [(u["cluster"], u["namespace"], u["taskruns"]) for u in usage] == [
        ("prod-eu", "shop", 19)
    ]
    assert (
        client.get(
            "/v1/insights/flaky", query_string={"cluster": "staging"}, headers=eu
        ).get_json()["rows"]
        == []
    )
    behind = client.get(
        "/v1/insights/flaky/runs",
        query_string={"pipeline": "diamond", "pipeline_task": "test", "measure": "flips"},
        headers=eu,
    ).get_json()["runs"]
    assert [r["uid"] for r in behind] == ["pr-a3-test", "pr-a2-test", "pr-a1-test"]
