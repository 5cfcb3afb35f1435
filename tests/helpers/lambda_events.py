"""What AWS hands a Lambda function: API Gateway v2 HTTP API events (payload 2.0), a context,
and SSM parameters on the moto server."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qsl

# A TaskRun CloudEvent body among the fixtures (a pending run, as Tekton's docs show it).
TASKRUN = "017_CloudEventBody_events-md-taskrun-pending.json"


class LambdaContext:
    """What the Lambda runtime passes as `context` (the fields apps commonly read)."""

    function_name = "runlake-ingest"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:runlake-ingest"

    def __init__(self, timeout_s: float = 30.0) -> None:
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Counts down from the function's timeout, as the runtime's does."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def http_api_event(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
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
        "headers": {
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "Go-http-client/1.1",
            "x-forwarded-for": "192.0.2.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
            **{k.lower(): v for k, v in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "Go-http-client/1.1",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
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
