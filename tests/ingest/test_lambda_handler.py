"""The ingest Lambda handler with API Gateway v2 HTTP API payloads (format 2.0, as AWS sends
them) against S3 and SSM on a moto server."""

from __future__ import annotations

import base64
import gzip
import io
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pyarrow.parquet as pq
import pytest

from ingest import lambda_handler
from layout.store import Store
from tests.conftest import MotoS3, fixture_object
from tests.ingest.events import hand_binary

TASKRUN = "017_CloudEventBody_events-md-taskrun-pending.json"


class LambdaContext:
    """What the Lambda runtime passes as `context` (the fields apps commonly read)."""

    function_name = "runlake-ingest"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:runlake-ingest"

    def get_remaining_time_in_millis(self) -> int:
        return 29000


def http_api_event(method: str, path: str, *, query: str = "",
                   headers: dict[str, str] | None = None, body: bytes | None = None,
                   base64_body: bool = False) -> dict[str, Any]:
    """An API Gateway v2 HTTP API event, payload format 2.0, for the `$default` route: header
    names lowercased, repeated query parameters comma-joined, binary bodies base64."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com",
                    "user-agent": "Go-http-client/1.1", "x-forwarded-for": "192.0.2.10",
                    "x-forwarded-port": "443", "x-forwarded-proto": "https",
                    "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
                    **{k.lower(): v for k, v in (headers or {}).items()}},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "Go-http-client/1.1"},
            "requestId": "JKJaXmPLvHcESHA=", "routeKey": "$default", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": base64_body,
    }
    if params:
        event["queryStringParameters"] = params
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
        event["headers"]["content-length"] = str(len(body))
    return event


def answer_json(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return json.loads(body)


@pytest.fixture
def ssm_parameter(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch):
    """Writes an SSM SecureString on the moto server, which boto3 in the handler reads."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", moto_s3.endpoint)
    client = boto3.client("ssm", region_name="us-east-1")

    def put(name: str, value: str) -> str:
        client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        return name

    return put


@pytest.fixture
def lambda_env(s3_store: Store, monkeypatch: pytest.MonkeyPatch, ssm_parameter) -> Iterator[Store]:
    """The environment terraform/ gives the ingest function, pointing at the moto server."""
    monkeypatch.setenv("RUNLAKE_STORE", s3_store.url)
    monkeypatch.setenv("RUNLAKE_INGEST_TOKENS_PARAMETER",
                       ssm_parameter("/runlake/test/ingest-tokens", "s3cret,other"))
    lambda_handler.reset()
    yield s3_store
    lambda_handler.reset()


def stored_uids(store: Store) -> list[str]:
    uids = []
    for info in store.list("records/"):
        uids += pq.read_table(io.BytesIO(store.read_bytes(info.key))).column("uid").to_pylist()
    return uids


def test_lambda_handler_event_with_query_token_lands_in_s3(lambda_env: Store) -> None:
    obj = fixture_object(TASKRUN)
    event = http_api_event("POST", "/", query="token=s3cret", headers=hand_binary("lambda-1"),
                           body=json.dumps({"taskRun": obj}).encode())
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 202, response
    assert answer_json(response) == {"accepted": 1, "ignored": 0}
    # Durable before the answer: Lambda may freeze the environment right after it.
    assert stored_uids(lambda_env) == [obj["metadata"]["uid"]]


def test_lambda_handler_base64_body_and_bearer_token(lambda_env: Store) -> None:
    obj = fixture_object(TASKRUN)
    event = http_api_event("POST", "/v1/snapshots",
                           headers={"content-type": "application/json",
                                    "authorization": "Bearer other"},
                           body=json.dumps(obj).encode(), base64_body=True)
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 202, response
    assert stored_uids(lambda_env) == [obj["metadata"]["uid"]]


def test_lambda_handler_wrong_token_is_401_in_the_error_shape(lambda_env: Store) -> None:
    event = http_api_event("POST", "/", query="token=guess", headers=hand_binary("lambda-2"),
                           body=json.dumps({"taskRun": fixture_object(TASKRUN)}).encode())
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 401
    assert set(answer_json(response)) == {"error", "errors", "status"}
    assert stored_uids(lambda_env) == []


def test_lambda_handler_gzipped_log_upload(lambda_env: Store) -> None:
    text = b"step one\nstep two\n"
    event = http_api_event("PUT", "/v1/logs/default/0a1b2c3d-uid/build", query="token=s3cret",
                           headers={"content-type": "text/plain", "content-encoding": "gzip"},
                           body=gzip.compress(text), base64_body=True)
    response = lambda_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 201, response
    assert answer_json(response)["size_bytes"] == len(text)
    assert [i.key for i in lambda_env.list("logs/")] == ["logs/default/0a1b2c3d-uid/build.log.gz"]


def test_lambda_handler_store_down_is_503_with_retry_after(lambda_env: Store,
                                                           moto_s3: MotoS3) -> None:
    lambda_handler.handler(http_api_event("GET", "/healthz"), LambdaContext())  # warm start
    event = http_api_event("POST", "/", query="token=s3cret", headers=hand_binary("lambda-3"),
                           body=json.dumps({"taskRun": fixture_object(TASKRUN)}).encode())
    moto_s3.stop()
    try:
        response = lambda_handler.handler(event, LambdaContext())
    finally:
        moto_s3.start()
    assert response["statusCode"] == 503
    assert response["headers"].get("retry-after")
    assert answer_json(response)["status"] == 503


def test_lambda_handler_unreadable_token_parameter_is_503(
        lambda_env: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNLAKE_INGEST_TOKENS_PARAMETER", "/runlake/test/missing")
    response = lambda_handler.handler(http_api_event("GET", "/healthz"), LambdaContext())
    assert response["statusCode"] == 503
    assert "/runlake/test/missing" in answer_json(response)["errors"][0]
    assert response["headers"]["retry-after"]
