"""Which cluster a run comes from, as ingest decides it: the token's cluster
(RUNLAKE_INGEST_TOKENS="tok1=prod-eu,tok2=staging"), else what the sender names (`?cluster=`),
else RUNLAKE_CLUSTER; read back through the views. A sender naming another cluster than its
token's, or no cluster name at all, stores nothing."""

from __future__ import annotations

import copy

import pytest

from ingest.app import create_app
from ingest.auth import parse_tokens, request_cluster
from layout.settings import SettingError
from service.errors import ApiError
from tests.helpers import events
from tests.helpers.apps import app_for, close_writer, runs
from tests.helpers.tekton import fixture_object

TASKRUN = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
WITH_STEPS = fixture_object("009_TaskRun_lighthouse-failed-step-exit2-v1.json")
PIPELINERUN = fixture_object("001_PipelineRun_ec-simple-build-pipelineref.json")
TOKENS = "eu-token=prod-eu, staging-token=staging, plain-token"


def _run(uid: str, obj: dict = TASKRUN) -> dict:
    copied = copy.deepcopy(obj)
    copied["metadata"]["uid"] = uid
    return copied


def _clusters(store) -> dict[str, str]:
    return {r["uid"]: r["cluster"] for r in runs(store, "uid, cluster")}


def test_clusters_each_token_files_runs_under_its_cluster(local_store):
    app = app_for(local_store, RUNLAKE_INGEST_TOKENS=TOKENS, RUNLAKE_CLUSTER="home")
    client = app.test_client()
    sends = {
        # Tekton's sink: a CloudEvent with ?token= in a bare URL.
        "eu-1": ("/?token=eu-token", {}, events.binary),
        "st-1": ("/v1/events", {"Authorization": "Bearer staging-token"}, events.structured),
        "plain-1": ("/v1/events?token=plain-token", {}, events.binary),
        "plain-named": ("/?token=plain-token&cluster=edge", {}, events.binary),
        "eu-named-same": ("/?token=eu-token&cluster=prod-eu", {}, events.binary),
        "eu-empty-name": ("/?token=eu-token&cluster=", {}, events.binary),
    }
    for uid, (path, auth, encode) in sends.items():
        headers, body = encode(events.cloud_event("TaskRun", "Succeeded", _run(uid), f"ev-{uid}"))
        response = client.post(path, headers={**headers, **auth}, data=body)
        assert response.status_code == 202, (uid, response.get_json())
    # The watcher's snapshots, a PipelineRun among them.
    snapshot = client.post(
        "/v1/snapshots?cluster=staging",
        json={"items": [_run("st-2"), _run("st-pr", PIPELINERUN)]},
        headers={"Authorization": "Bearer staging-token"},
    )
    assert snapshot.status_code == 202
    close_writer(app)
    assert _clusters(local_store) == {
        "eu-1": "prod-eu",
        "st-1": "staging",
        "plain-1": "home",
        "plain-named": "edge",
        "eu-named-same": "prod-eu",
        "eu-empty-name": "prod-eu",
        "st-2": "staging",
        "st-pr": "staging",
    }


def test_clusters_open_ingest_takes_the_named_cluster_else_the_default(local_store):
    app = app_for(local_store)
    client = app.test_client()
    for uid, path in (("a", "/v1/snapshots"), ("b", "/v1/snapshots?cluster=lab")):
        assert client.post(path, json=_run(uid)).status_code == 202
    close_writer(app)
    assert _clusters(local_store) == {"a": "default", "b": "lab"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/snapshots?token=eu-token&cluster=staging", 403),
        ("/v1/snapshots?token=staging-token&cluster=prod-eu", 403),
        ("/v1/snapshots?token=plain-token&cluster=Not_A_Label", 400),
        ("/v1/snapshots?token=eu-token&cluster=" + "x" * 64, 400),
        ("/v1/snapshots?token=nope&cluster=prod-eu", 401),
    ],
)
def test_clusters_a_sender_naming_another_cluster_stores_nothing(local_store, path, status):
    app = app_for(local_store, RUNLAKE_INGEST_TOKENS=TOKENS)
    response = app.test_client().post(path, json=_run("refused"))
    close_writer(app)
    assert response.status_code == status
    body = response.get_json()
    assert body["status"] == status and body["errors"]
    assert "eu-token" not in response.get_data(as_text=True)
    assert local_store.list("records") == []


def test_clusters_the_cluster_is_a_column_of_every_view(local_store):
    app = app_for(local_store, RUNLAKE_INGEST_TOKENS=TOKENS)
    client = app.test_client()
    obj = _run("tr-eu", WITH_STEPS)
    assert client.post("/v1/snapshots?token=eu-token", json=obj).status_code == 202
    step = obj["status"]["steps"][0]["name"]
    put = client.put(
        f"/v1/logs/{obj['metadata']['namespace']}/tr-eu/{step}?token=eu-token", data="x"
    )
    assert put.status_code == 201
    close_writer(app)
    from query.engine import Engine
    from query.views import VIEWS

    engine = Engine(local_store)
    for view in VIEWS:
        rows = engine.sql(f"SELECT DISTINCT cluster FROM {view}").rows
        assert rows in ([["prod-eu"]], []), view
        if view in ("snapshots", "runs", "taskruns", "steps", "logs"):
            assert rows == [["prod-eu"]], view


def test_clusters_ingest_tokens_are_checked_when_the_app_starts(local_store):
    with pytest.raises(SettingError) as caught:
        create_app({"RUNLAKE_STORE": local_store.url, "RUNLAKE_INGEST_TOKENS": "a=Prod EU,b="})
    message = str(caught.value)
    assert "RUNLAKE_INGEST_TOKENS" in message and "Prod EU" in message and "'b='" in message
    with pytest.raises(SettingError, match="RUNLAKE_CLUSTER"):
        create_app({"RUNLAKE_STORE": local_store.url, "RUNLAKE_CLUSTER": "prod/eu"})


def test_clusters_parse_tokens_and_decide_the_cluster():
    tokens = parse_tokens(" tok1=prod-eu ,tok2=staging,,tok3 ")
    assert tokens == {"tok1": "prod-eu", "tok2": "staging", "tok3": None}
    assert parse_tokens(None) == parse_tokens("") == {}
    assert request_cluster("tok1", tokens, None, "home") == "prod-eu"
    assert request_cluster("tok3", tokens, None, "home") == "home"
    assert request_cluster("tok3", tokens, "edge", "home") == "edge"
    assert request_cluster(None, {}, None, "home") == "home"
    with pytest.raises(ApiError) as caught:
        request_cluster("tok1", tokens, "staging", "home")
    assert caught.value.status == 403
