"""The query and lifecycle Lambda handlers with real API Gateway v2 / EventBridge Scheduler
payloads against S3 and SSM on a moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from layout.inbox import list_inbox, write_inbox
from layout.lease import Lease
from layout.store import Store
from layout.tables import RUNS, Tables
from query.http import lambda_handler
from runlake import lambda_lifecycle
from tests.helpers.lambda_events import (
    TASKRUN,
    LambdaContext,
    answer_json,
    http_api_event,
)
from tests.helpers.tekton import fixture_object
from webhooks.normalize import normalize


def rows_for(namespace: str, uid: str, received_at: datetime) -> list[dict]:
    obj = json.loads(json.dumps(fixture_object(TASKRUN)))
    stamp = received_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    obj["metadata"].update(namespace=namespace, uid=uid, name=f"run-{uid}", creationTimestamp=stamp)
    obj["status"].update(startTime=stamp, completionTime=stamp)
    return [normalize(obj, received_at=received_at, event_id=f"ev-{uid}", source="watcher")]


@pytest.fixture
def archive(s3_store: Store, monkeypatch: pytest.MonkeyPatch, ssm_parameter) -> Iterator[Store]:
    """Two runs in two namespaces, in two files, and the query function's environment."""
    now = datetime.now(UTC)
    write_inbox(s3_store, rows_for("team-a", "uid-a", now))
    write_inbox(s3_store, rows_for("team-b", "uid-b", now))
    monkeypatch.setenv("RUNLAKE_STORE", s3_store.url)
    monkeypatch.setenv(
        "RUNLAKE_QUERY_TOKENS_PARAMETER",
        ssm_parameter("/runlake/test/query-tokens", "reader-a=team-a;admin=*"),
    )
    lambda_handler.reset()
    yield s3_store
    lambda_handler.reset()


def sql_event(sql: str, headers: dict | None = None, **kwargs) -> dict:
    return http_api_event(
        "POST",
        "/v1/sql",
        headers={"content-type": "application/json", **(headers or {})},
        body=json.dumps({"sql": sql}).encode(),
        **kwargs,
    )


def test_lambda_handler_sql_answers_rows(archive: Store) -> None:
    event = sql_event("SELECT namespace, uid FROM runs ORDER BY namespace", query="token=admin")
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 200, response
    assert answer_json(response)["rows"] == [["team-a", "uid-a"], ["team-b", "uid-b"]]


def test_lambda_handler_token_limits_namespaces(archive: Store) -> None:
    event = sql_event(
        "SELECT namespace FROM runs", base64_body=True, headers={"authorization": "Bearer reader-a"}
    )
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 200, response
    assert answer_json(response)["rows"] == [["team-a"]]


def test_lambda_handler_sql_without_token_is_401(archive: Store) -> None:
    response = lambda_handler.handler(sql_event("SELECT 1"), LambdaContext())
    assert response["statusCode"] == 401
    assert set(answer_json(response)) == {"error", "errors", "status"}


def test_lambda_handler_runs_list_with_query_string(archive: Store) -> None:
    event = http_api_event("GET", "/v1/runs", query="namespace=team-b&token=admin")
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 200, response
    assert [run["uid"] for run in answer_json(response)["runs"]] == ["uid-b"]


def scheduler_input(**payload) -> dict:
    """EventBridge Scheduler invokes a Lambda target with the schedule's input, as given."""
    return payload


def _run_materializer() -> dict:
    """One invocation of the materializer function with a little more than its safety margin
    left, so it runs a cycle or two and returns."""
    return lambda_lifecycle.materialize(
        scheduler_input(), LambdaContext(timeout_s=lambda_lifecycle.MATERIALIZE_MARGIN_S + 1)
    )


def _table_files(store: Store, path: str) -> list:
    return Tables(store).state(path).files


def test_lambda_materializer_moves_the_inbox_into_the_tables(archive: Store, monkeypatch) -> None:
    monkeypatch.setenv("RUNLAKE_MATERIALIZE_S", "0.2")
    result = _run_materializer()
    assert result["cycles"] >= 1 and result["rows"] == 2
    assert list_inbox(archive) == []
    assert sum(f.rows for f in _table_files(archive, RUNS)) == 2
    event = sql_event("SELECT uid FROM runs ORDER BY uid", query="token=admin")
    assert answer_json(lambda_handler.handler(event, LambdaContext()))["rows"] == [
        ["uid-a"],
        ["uid-b"],
    ]


def test_lambda_materializer_leaves_a_held_lease_alone(archive: Store, monkeypatch) -> None:
    monkeypatch.setenv("RUNLAKE_MATERIALIZE_S", "0.2")
    holder = Lease(archive, "compact")
    assert holder.acquire()
    try:
        assert _run_materializer()["cycles"] == 0
        assert len(list_inbox(archive)) == 2
    finally:
        holder.release()


def test_lambda_lifecycle_compacts_the_partition(archive: Store, monkeypatch) -> None:
    monkeypatch.setenv("RUNLAKE_MATERIALIZE_S", "0.2")
    _run_materializer()
    write_inbox(archive, rows_for("team-c", "uid-c", datetime.now(UTC)))
    _run_materializer()  # a second cycle, a second file in the partition
    assert len(_table_files(archive, RUNS)) == 2
    result = lambda_lifecycle.handler(scheduler_input(older_than="0s"), LambdaContext())
    assert len(_table_files(archive, RUNS)) == 1
    assert "2 partition(s)" in result["compaction"]  # the day of `runs` and of `snapshots`
    event = sql_event("SELECT count(*) FROM runs", query="token=admin")
    assert answer_json(lambda_handler.handler(event, LambdaContext()))["rows"] == [[3]]


def test_lambda_lifecycle_applies_retention_policy(archive: Store, monkeypatch) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    write_inbox(archive, rows_for("previews", "uid-old", old))
    monkeypatch.setenv("RUNLAKE_MATERIALIZE_S", "0.2")
    _run_materializer()
    policy = "defaultRetention: 365d\npolicies: []\n"
    result = lambda_lifecycle.handler(
        scheduler_input(older_than="1h", retention_policy=policy), LambdaContext()
    )
    assert result["retention"][0].startswith("results: 1")
    event = sql_event("SELECT uid FROM runs ORDER BY uid", query="token=admin")
    rows = answer_json(lambda_handler.handler(event, LambdaContext()))["rows"]
    assert rows == [["uid-a"], ["uid-b"]]


def test_lambda_lifecycle_bad_input_fails_before_touching_the_store(archive: Store) -> None:
    before = sorted(info.key for info in archive.list(""))
    with pytest.raises(ValueError):
        lambda_lifecycle.handler(scheduler_input(older_than="soon"), LambdaContext())
    assert sorted(info.key for info in archive.list("")) == before


def test_lambda_handler_duckdb_writes_only_under_tmpdir(
    archive: Store, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The image sets TMPDIR=/tmp, Lambda's only writable directory; here a fresh one stands in.
    import tempfile

    from query.http.context import ENGINE_KEY

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    event = sql_event("SELECT count(*) FROM runs", query="token=admin")
    assert lambda_handler.handler(event, LambdaContext())["statusCode"] == 200
    engine = lambda_handler._app.app.extensions[ENGINE_KEY]
    names = ("home_directory", "extension_directory", "temp_directory")
    found = engine.query(
        "SELECT name, value FROM duckdb_settings() WHERE list_contains($1, name)", [list(names)]
    )
    assert {row["name"] for row in found} == set(names)
    for row in found:
        assert row["value"].startswith(str(tmp_path)), row
