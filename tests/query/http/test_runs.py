"""GET /v1/runs, /v1/runs/<uid>: every filter against a demo history whose answers are
computed without DuckDB, partition pruning, real fixtures, S3, and token confinement."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from layout.inbox import write_inbox
from layout.store import LocalStore
from query.http.app import create_app
from query.runs import SUMMARY_COLUMNS
from query.views import VIEWS
from runlake.demo.write import write_demo
from tests.helpers.expected import latest_runs, newest_first
from tests.helpers.rows import row
from tests.helpers.servers import free_port
from tests.helpers.stages import materialize
from tests.helpers.tekton import fixture_index, fixture_object
from tests.helpers.units import BAD_DURATIONS, DURATIONS


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = LocalStore(str(tmp_path_factory.mktemp("demo")))
    write_demo(store, 400, seed=11)
    materialize(store)
    return store, latest_runs(store)


@pytest.fixture(scope="module")
def client(demo):
    return create_app({"RUNLAKE_STORE": demo[0].root}).test_client()


def _pages(client, params, page_size=1000):
    uids, token = [], None
    while True:
        query = {**params, "page_size": page_size, **({"page_token": token} if token else {})}
        response = client.get("/v1/runs", query_string=query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        uids += [r["uid"] for r in body["runs"]]
        token = body["next_page_token"]
        if token is None:
            return uids


def _error(response, status):
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"error", "errors", "status"} and body["status"] == status
    return body


def _common(runs, column):
    return Counter(r[column] for r in runs if r[column]).most_common(1)[0][0]


def _cases(runs):
    """(query parameters, which runs they select) built from the history itself."""
    ns, pipeline, task = (
        _common(runs, "namespace"),
        _common(runs, "pipeline"),
        _common(runs, "task"),
    )
    other_ns = [n for n, _ in Counter(r["namespace"] for r in runs).most_common()][1]
    prun = _common(runs, "pipeline_run")
    team = Counter(r["labels"].get("team") for r in runs if r["labels"].get("team"))
    team = team.most_common(1)[0][0]
    times = sorted(r["created_at"] for r in runs)
    day = times[len(times) // 2].date()
    start = f"{day.isoformat()}T00:00:00Z"
    end = f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z"
    mid = times[len(times) // 3]
    word = Counter(r["name"].split("-")[0] for r in runs).most_common(1)[0][0]

    def on(day_start, day_end):
        return lambda r: r["created_at"] and day_start <= r["created_at"] < day_end

    from datetime import datetime

    s, e = datetime.fromisoformat(start), datetime.fromisoformat(end)
    # Combinations around real runs, so each selects something.
    pr = next(r for r in runs if r["kind"] == "PipelineRun" and r["status"] == "Succeeded")
    pr_day = pr["created_at"].date()
    ps = datetime.fromisoformat(f"{pr_day}T00:00:00+00:00")
    pe = ps + timedelta(days=1)
    tr = next(
        r for r in runs if r["kind"] == "TaskRun" and r["pipeline"] and r["labels"].get("team")
    )
    return [
        ({}, lambda r: True),
        ({"namespace": ns}, lambda r: r["namespace"] == ns),
        ({"namespace": [ns, other_ns]}, lambda r: r["namespace"] in (ns, other_ns)),
        ({"kind": "PipelineRun"}, lambda r: r["kind"] == "PipelineRun"),
        (
            {"kind": "taskrun", "status": "Succeeded"},
            lambda r: r["kind"] == "TaskRun" and r["status"] == "Succeeded",
        ),
        ({"status": ["Failed", "TimedOut"]}, lambda r: r["status"] in ("Failed", "TimedOut")),
        # Many finished runs have an earlier Running snapshot: only the latest may count.
        ({"status": "Running"}, lambda r: r["status"] == "Running"),
        ({"pipeline": pipeline}, lambda r: r["pipeline"] == pipeline),
        ({"task": task}, lambda r: r["task"] == task),
        ({"pipeline_run": prun}, lambda r: r["pipeline_run"] == prun),
        ({"label": f"team={team}"}, lambda r: r["labels"].get("team") == team),
        (
            {"label": ["tekton.dev/pipelineTask", f"team={team}"]},
            lambda r: "tekton.dev/pipelineTask" in r["labels"] and r["labels"].get("team") == team,
        ),
        ({"since": start, "until": end}, on(s, e)),
        (
            {"since": mid.isoformat().replace("+00:00", "Z")},
            lambda r: r["created_at"] and r["created_at"] >= mid,
        ),
        ({"until": mid.isoformat()}, lambda r: r["created_at"] and r["created_at"] < mid),
        ({"q": word.upper()}, lambda r: word in r["name"]),
        (
            {
                "namespace": pr["namespace"],
                "kind": "PipelineRun",
                "since": f"{pr_day}",
                "until": pe.isoformat(),
                "status": "Succeeded",
            },
            lambda r: (
                r["namespace"] == pr["namespace"]
                and r["kind"] == "PipelineRun"
                and r["status"] == "Succeeded"
                and on(ps, pe)(r)
            ),
        ),
        (
            {
                "pipeline": tr["pipeline"],
                "kind": "TaskRun",
                "label": f"team={tr['labels']['team']}",
            },
            lambda r: (
                r["pipeline"] == tr["pipeline"]
                and r["kind"] == "TaskRun"
                and r["labels"].get("team") == tr["labels"]["team"]
            ),
        ),
    ]


def test_runs_api_every_filter_matches_the_history(demo, client):
    runs = list(demo[1].values())
    nonempty = 0
    for params, selects in _cases(runs):
        expected = newest_first([r for r in runs if selects(r)])
        assert _pages(client, params) == expected, params
        nonempty += bool(expected)
    assert nonempty == len(_cases(runs))  # every case selects something: no vacuous pass


def test_runs_api_a_time_window_pages_from_its_newest_day_back(demo, client):
    # Pages small enough that the window's newest day fills the first ones and not the
    # last: each ends where the window says, whichever partitions answered it.
    runs = list(demo[1].values())
    times = sorted(r["created_at"] for r in runs)
    since, until = times[len(times) // 4], times[-len(times) // 4]
    for params, selects in (
        ({"since": since.isoformat()}, lambda r: r["created_at"] >= since),
        (
            {"since": since.isoformat(), "until": until.isoformat(), "kind": "TaskRun"},
            lambda r: since <= r["created_at"] < until and r["kind"] == "TaskRun",
        ),
    ):
        expected = newest_first([r for r in runs if selects(r)])
        assert len({r["created_at"].date() for r in runs if selects(r)}) > 2
        assert _pages(client, params, page_size=7) == expected, params


def test_runs_api_pages_in_small_steps_collect_everything_once(demo, client):
    uids = _pages(client, {}, page_size=37)
    assert uids == newest_first(list(demo[1].values()))


def test_runs_api_answer_shape(demo, client):
    body = client.get("/v1/runs?page_size=2").get_json()
    assert set(body) == {"runs", "next_page_token"} and isinstance(body["next_page_token"], str)
    run = body["runs"][0]
    assert tuple(run) == SUMMARY_COLUMNS or set(run) == set(SUMMARY_COLUMNS)
    assert "object" not in run and run["created_at"].endswith("Z")
    assert isinstance(run["labels"], dict)


def test_runs_api_a_listed_run_is_its_summary_with_every_key_sorted(demo, client):
    # The page's runs go out as DuckDB rendered them: the same values as the run's own
    # answer, keys (a map's too) in the order the service sorts any answer's.
    response = client.get("/v1/runs?page_size=20")
    orders = []
    json.loads(response.data, object_pairs_hook=lambda pairs: orders.append(pairs) or dict(pairs))
    assert orders and all([k for k, _ in pairs] == sorted(k for k, _ in pairs) for pairs in orders)
    for run in response.get_json()["runs"]:
        own = client.get(f"/v1/runs/{run['uid']}").get_json()
        assert run == {column: own[column] for column in SUMMARY_COLUMNS}


def test_runs_api_bad_filters_are_400_listing_each(client):
    body = _error(client.get("/v1/runs?kind=Pod&since=later&page_size=5000&label==x"), 400)
    assert [e.split(":")[0] for e in body["errors"]] == ["kind", "label", "since", "page_size"]
    _error(client.get("/v1/runs?page_token=nonsense"), 400)
    # Empty fields, as an HTML form sends them, filter nothing.
    assert client.get("/v1/runs?namespace=&status=&q=&page_size=").status_code == 200
    token = client.get("/v1/runs?page_size=1&kind=TaskRun").get_json()["next_page_token"]
    body = _error(client.get(f"/v1/runs?page_size=1&page_token={token}"), 400)
    assert "other filters" in body["errors"][0]


def _created_since(runs, moment):
    return {r["uid"] for r in runs if r["created_at"] and r["created_at"] >= moment}


@pytest.mark.parametrize(("text", "duration"), DURATIONS)
def test_runs_api_since_takes_the_one_duration_grammar(demo, client, text, duration):
    runs = list(demo[1].values())
    before = datetime.now(UTC)
    listed = set(_pages(client, {"since": text}))
    after = datetime.now(UTC)
    # `since` counts back from the request's clock, somewhere between the two readings.
    assert (
        _created_since(runs, after - duration) <= listed <= _created_since(runs, before - duration)
    )


@pytest.mark.parametrize("text", BAD_DURATIONS)
def test_runs_api_since_and_until_refuse_what_the_grammar_refuses(client, text):
    for name in ("since", "until"):
        body = _error(client.get("/v1/runs", query_string={name: text}), 400)
        assert [e.split(":")[0] for e in body["errors"]] == [name]


def test_runs_api_get_taskrun_with_steps_and_logs(demo, client):
    store, runs = demo
    run = next(r for r in runs.values() if r["kind"] == "TaskRun" and r["status"] == "Failed")
    body = client.get(f"/v1/runs/{run['uid']}").get_json()
    obj = json.loads(run["object"])
    assert body["object"] == obj and body["status"] == "Failed"
    assert {k: body[k] for k in ("uid", "namespace", "name")} == {
        k: run[k] for k in ("uid", "namespace", "name")
    }
    assert [s["step"] for s in body["steps"]] == [s["name"] for s in obj["status"]["steps"]]
    exits = [s.get("terminated", {}).get("exitCode") for s in obj["status"]["steps"]]
    assert [s["exit_code"] for s in body["steps"]] == exits
    stored = {
        i.key.split("/")[-1].removesuffix(".log.gz"): i.size
        for i in store.list(f"logs/{run['namespace']}/{run['uid']}/")
    }
    assert stored and {log["step"]: log["stored_bytes"] for log in body["logs"]} == stored


def test_runs_api_get_pipelinerun_lists_its_taskruns(demo, client):
    runs = demo[1]
    parent = next(
        r for r in runs.values() if r["kind"] == "PipelineRun" and r["status"] == "Failed"
    )
    body = client.get(f"/v1/runs/{parent['uid']}").get_json()
    children = {
        r["uid"]: r
        for r in runs.values()
        if r["kind"] != "PipelineRun"
        and r["pipeline_run"] == parent["name"]
        and r["namespace"] == parent["namespace"]
    }
    assert children and {c["uid"] for c in body["steps"]} == set(children)
    for child in body["steps"]:
        known = children[child["uid"]]
        assert child["status"] == known["status"] and child["name"] == known["name"]
        assert child["pipeline_task"] == known["pipeline_task"]
        assert child["duration_seconds"] == known["duration_seconds"]
    assert any(c["status"] != "Succeeded" for c in body["steps"])
    assert body["logs"] == []  # a PipelineRun has no steps of its own


def test_runs_api_unknown_uid_is_404(client):
    body = _error(client.get("/v1/runs/no-such-run"), 404)
    assert "no-such-run" in body["errors"][0]


def test_runs_api_one_day_reads_only_that_days_files(demo, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(demo[0].root, root)
    store, runs = LocalStore(str(root)), demo[1]
    client = create_app({"RUNLAKE_STORE": str(root)}).test_client()
    assert client.get("/v1/runs?page_size=1").status_code == 200  # the engine is up
    days = sorted({r["created_at"].astimezone(UTC).date() for r in runs.values()})
    day = days[len(days) // 2]
    # Every table file of every other day is garbage now: only a pruned query can still answer.
    spoiled = 0
    for info in store.list("tables/"):
        if info.key.endswith(".parquet") and f"/date={day.isoformat()}/" not in info.key:
            store.write_bytes(info.key, b"not parquet")
            spoiled += 1
    assert spoiled
    since, until = f"{day}T00:00:00Z", f"{day + timedelta(days=1)}T00:00:00Z"
    expected = newest_first(
        [r for r in runs.values() if r["created_at"].astimezone(UTC).date() == day]
    )
    assert _pages(client, {"since": since, "until": until}) == expected
    summary = client.get(
        "/v1/summary", query_string={"group_by": "namespace", "since": since, "until": until}
    )
    assert sum(g["total"] for g in summary.get_json()["groups"]) == len(expected)
    # The unpruned query does meet the spoiled files.
    assert client.get("/v1/runs").status_code != 200


def test_runs_api_real_fixtures_round_trip(local_store):
    from ingest.archive import import_objects

    index = fixture_index()
    objects = [fixture_object(name) for name in index]
    import_objects(local_store, objects)
    client = create_app({"RUNLAKE_STORE": local_store.root}).test_client()
    listed = _pages(client, {})
    assert sorted(listed) == sorted({o["metadata"]["uid"] for o in objects})
    uids = Counter(o["metadata"]["uid"] for o in objects)
    for name, facts in index.items():
        obj = fixture_object(name)
        if uids[obj["metadata"]["uid"]] > 1:
            continue  # snapshots of one run: the latest wins (tested with the views)
        body = client.get(f"/v1/runs/{obj['metadata']['uid']}").get_json()
        assert body["status"] == facts["status"] and body["kind"] == facts["kind"], name
        assert body["object"]["metadata"]["name"] == obj["metadata"]["name"]
        if facts["kind"] == "TaskRun":
            assert [s["step"] for s in body["steps"]] == [
                s.get("name") for s in obj.get("status", {}).get("steps", [])
            ], name
    failed = client.get("/v1/runs?status=Failed&kind=TaskRun").get_json()["runs"]
    assert {r["name"] for r in failed} == {
        fixture_object(n)["metadata"]["name"]
        for n, f in index.items()
        if f["status"] == "Failed" and f["kind"] == "TaskRun"
    }


def test_runs_api_over_s3_and_local(store):
    write_demo(store, 60, seed=5)
    runs = latest_runs(store)
    client = create_app(
        {"RUNLAKE_STORE": store.url, "RUNLAKE_S3_ENDPOINT": getattr(store, "endpoint", None)}
    ).test_client()
    assert _pages(client, {}, page_size=25) == newest_first(list(runs.values()))
    day = max(r["created_at"] for r in runs.values()).date()
    expected = newest_first([r for r in runs.values() if r["created_at"].date() == day])
    assert _pages(client, {"since": f"{day}T00:00:00Z"}) == expected
    taskrun = next(r for r in runs.values() if r["kind"] == "TaskRun" and r["completed_at"])
    body = client.get(f"/v1/runs/{taskrun['uid']}").get_json()
    assert body["logs"] and body["steps"] and body["object"]["metadata"]["uid"] == taskrun["uid"]


def test_runs_api_store_down_is_503():
    client = create_app(
        {
            "RUNLAKE_STORE": "s3://nowhere/x",
            "RUNLAKE_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        }
    ).test_client()
    for path in ("/v1/runs", "/v1/runs/abc", "/v1/summary?group_by=status", "/v1/runs?since=1d"):
        response = client.get(path)
        _error(response, 503)
        assert response.headers["Retry-After"]


# -- tokens ------------------------------------------------------------------------------


def _two_teams(store):
    steps = {
        "steps": [
            {
                "name": "build",
                "container": "step-build",
                "terminated": {"exitCode": 0, "reason": "Completed"},
            }
        ]
    }
    rows = []
    for ns in ("team-a", "team-b"):
        rows.append(
            row(f"{ns}-pr", namespace=ns, kind="PipelineRun", status="Succeeded", name=f"{ns}-pr")
        )
        rows.append(
            row(
                f"{ns}-tr",
                namespace=ns,
                status="Failed",
                pipeline_run=f"{ns}-pr",
                obj={"kind": "TaskRun", "metadata": {"uid": f"{ns}-tr"}, "status": steps},
            )
        )
    write_inbox(store, rows)
    store.write_bytes("logs/team-b/team-b-tr/build.log.gz", b"x")


def test_runs_api_tokens_confine_every_endpoint(local_store):
    _two_teams(local_store)
    app = create_app({"RUNLAKE_STORE": local_store.root, "RUNLAKE_QUERY_TOKENS": "t1=team-a;t2=*"})
    client = app.test_client()
    a = {"Authorization": "Bearer t1"}
    every = {"Authorization": "Bearer t2"}

    def uids(path, headers):
        return sorted(r["uid"] for r in client.get(path, headers=headers).get_json()["runs"])

    assert uids("/v1/runs", a) == ["team-a-pr", "team-a-tr"]
    assert uids("/v1/runs?token=t1", {}) == ["team-a-pr", "team-a-tr"]
    assert uids("/v1/runs", every) == ["team-a-pr", "team-a-tr", "team-b-pr", "team-b-tr"]
    # Asking for another namespace is an empty answer, as for a namespace that does not exist.
    assert uids("/v1/runs?namespace=team-b", a) == uids("/v1/runs?namespace=nowhere", a) == []
    hidden = client.get("/v1/runs/team-b-tr", headers=a)
    unknown = client.get("/v1/runs/team-b-xx", headers=a)
    assert _error(hidden, 404)["error"] == _error(unknown, 404)["error"]
    assert client.get("/v1/runs/team-b-tr", headers=every).status_code == 200
    assert client.get("/v1/runs/team-a-pr", headers=a).get_json()["steps"][0]["uid"] == "team-a-tr"
    groups = client.get("/v1/summary?group_by=namespace", headers=a).get_json()["groups"]
    assert [g["key"] for g in groups] == ["team-a"]
    groups = client.get("/v1/summary?group_by=status&namespace=team-b", headers=a).get_json()[
        "groups"
    ]
    assert groups == []
    for path in ("/v1/runs", "/v1/runs/team-a-tr", "/v1/summary?group_by=status"):
        _error(client.get(path), 401)
        _error(client.get(path, headers={"Authorization": "Bearer nope"}), 401)
    _error(client.post("/v1/sql", json={"sql": "SELECT 1"}), 401)


def test_runs_api_tokens_confine_sql_through_every_view(local_store):
    _two_teams(local_store)
    client = create_app(
        {"RUNLAKE_STORE": local_store.root, "RUNLAKE_QUERY_TOKENS": "t1=team-a;t2=*"}
    ).test_client()

    def sql(text, token="t1"):
        response = client.post(
            "/v1/sql", json={"sql": text}, headers={"Authorization": f"Bearer {token}"}
        )
        return response

    for view in VIEWS:
        rows = sql(f"SELECT DISTINCT namespace FROM {view}").get_json()["rows"]
        assert rows in ([["team-a"]], []), view
        if view in ("snapshots", "runs", "taskruns", "steps"):
            assert rows == [["team-a"]], view
        all_rows = sql(f"SELECT DISTINCT namespace FROM {view} ORDER BY 1", "t2")
        assert (
            ["team-b"] in all_rows.get_json()["rows"]
            or view in ("pipelineruns", "customruns")
            or all_rows.get_json()["rows"] == []
        ), view
    # Subqueries, joins, CTEs and aggregates see the same confined rows.
    text = """WITH x AS (SELECT * FROM runs)
              SELECT (SELECT count(*) FROM snapshots), count(*), count(DISTINCT s.namespace)
              FROM x JOIN runs r USING (uid) LEFT JOIN steps s USING (uid)"""
    assert sql(text).get_json()["rows"] == [[2, 2, 1]]
    # The shared views cannot be named around the confinement.
    for text in (
        "SELECT * FROM main.runs",
        "SELECT * FROM memory.main.runs",
        "SELECT * FROM temp.main.runs",
        "SELECT * FROM _records",
    ):
        assert sql(text).status_code == 400, text
    # Another request on the same engine is not confined by the last one.
    assert sql("SELECT count(*) FROM runs", "t2").get_json()["rows"] == [[4]]
    assert sql("SELECT count(*) FROM runs").get_json()["rows"] == [[2]]


def test_runs_api_labels_sent_in_any_order_are_listed_sorted_from_inbox_and_tables(local_store):
    """The maps are stored with their keys sorted, so a page rendered by DuckDB as stored
    shows them in the order the service sorts every answer's keys, before and after the
    materializer moves the run into the tables."""
    labels = {"z-team": "infra", "tekton.dev/task": "build", "app": "shop", "m": "x"}
    annotations = {"zz": "1", "aa": "2"}
    write_inbox(local_store, [row("late", labels=labels, annotations=annotations)])
    client = create_app({"RUNLAKE_STORE": local_store.root}).test_client()
    for stage in ("inbox", "tables"):
        if stage == "tables":
            materialize(local_store)
        response = client.get("/v1/runs")
        (run,) = dict(json.loads(response.data, object_pairs_hook=list))["runs"]
        listed = dict(run)
        assert [k for k, _ in listed["labels"]] == sorted(labels), stage
        assert [k for k, _ in listed["annotations"]] == sorted(annotations), stage
        assert dict(listed["labels"]) == labels
