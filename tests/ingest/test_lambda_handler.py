"""The ingest Lambda handler with API Gateway v2 HTTP API payloads (format 2.0, as AWS sends
them) against S3 and SSM on a moto server."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest

from ingest import lambda_handler
from layout.store import Store
from tests.helpers.events import hand_binary
from tests.helpers.expected import stored_snapshots
from tests.helpers.lambda_events import (
    TASKRUN,
    LambdaContext,
    answer_json,
    http_api_event,
)
from tests.helpers.servers import MotoS3
from tests.helpers.tekton import fixture_object


@pytest.fixture
def lambda_env(s3_store: Store, monkeypatch: pytest.MonkeyPatch, ssm_parameter) -> Iterator[Store]:
    """The environment terraform/ gives the ingest function, pointing at the moto server."""
    monkeypatch.setenv("RUNLAKE_STORE", s3_store.url)
    monkeypatch.setenv(
        "RUNLAKE_INGEST_TOKENS_PARAMETER",
        ssm_parameter("/runlake/test/ingest-tokens", "s3cret,other"),
    )
    lambda_handler.reset()
    yield s3_store
    lambda_handler.reset()


def stored_uids(store: Store) -> list[str]:
    return [row["uid"] for row in stored_snapshots(store)]


def test_lambda_handler_event_with_query_token_lands_in_s3(lambda_env: Store) -> None:
    obj = fixture_object(TASKRUN)
    event = http_api_event(
        "POST",
        "/",
        query="token=s3cret",
        headers=hand_binary("lambda-1"),
        body=json.dumps({"taskRun": obj}).encode(),
    )
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 202, response
    assert answer_json(response) == {"accepted": 1, "ignored": 0}
    # Durable before the answer: Lambda may freeze the environment right after it.
    assert stored_uids(lambda_env) == [obj["metadata"]["uid"]]


def test_lambda_handler_base64_body_and_bearer_token(lambda_env: Store) -> None:
    obj = fixture_object(TASKRUN)
    event = http_api_event(
        "POST",
        "/v1/snapshots",
        headers={"content-type": "application/json", "authorization": "Bearer other"},
        body=json.dumps(obj).encode(),
        base64_body=True,
    )
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 202, response
    assert stored_uids(lambda_env) == [obj["metadata"]["uid"]]


def test_lambda_handler_wrong_token_is_401_in_the_error_shape(lambda_env: Store) -> None:
    event = http_api_event(
        "POST",
        "/",
        query="token=guess",
        headers=hand_binary("lambda-2"),
        body=json.dumps({"taskRun": fixture_object(TASKRUN)}).encode(),
    )
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 401
    assert set(answer_json(response)) == {"error", "errors", "status"}
    assert stored_uids(lambda_env) == []


def test_lambda_handler_gzipped_log_upload(lambda_env: Store) -> None:
    text = b"step one\nstep two\n"
    event = http_api_event(
        "PUT",
        "/v1/logs/default/0a1b2c3d-uid/build",
        query="token=s3cret",
        headers={"content-type": "text/plain", "content-encoding": "gzip"},
        body=gzip.compress(text),
        base64_body=True,
    )
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 201, response
    assert answer_json(response)["size_bytes"] == len(text)
    assert [i.key for i in lambda_env.list("logs/")] == ["logs/default/0a1b2c3d-uid/build.log.gz"]


def test_lambda_handler_store_down_is_503_with_retry_after(
    lambda_env: Store, moto_s3: MotoS3
) -> None:
    lambda_handler.handler(http_api_event("GET", "/healthz"), LambdaContext())  # warm start
    event = http_api_event(
        "POST",
        "/",
        query="token=s3cret",
        headers=hand_binary("lambda-3"),
        body=json.dumps({"taskRun": fixture_object(TASKRUN)}).encode(),
    )
    moto_s3.stop()
    try:
        response = lambda_handler.handler(event, LambdaContext())
    finally:
        moto_s3.start()
    assert response["statusCode"] == 503
    assert response["headers"].get("retry-after")
    assert answer_json(response)["status"] == 503


def test_lambda_handler_unreadable_token_parameter_is_503(
    lambda_env: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNLAKE_INGEST_TOKENS_PARAMETER", "/runlake/test/missing")
    response = lambda_handler.handler(http_api_event("GET", "/healthz"), LambdaContext())
    assert response["statusCode"] == 503
    assert "/runlake/test/missing" in answer_json(response)["errors"][0]
    assert response["headers"]["retry-after"]
