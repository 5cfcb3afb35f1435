"""POST / and /v1/events (CloudEvents), POST /v1/snapshots (Kubernetes objects): decoded and
normalized by webhooks/, group-committed, answered 202 once every accepted row is durable.

This is ingest's hot path: it does per request only what that request needs (settings, the
metrics' label children and the writer are looked up once per app, headers are read straight
from the WSGI environ), and errors still leave through the one error shape (ApiError)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import orjson
from flask import Blueprint, Response, current_app, g, request

from ingest.context import get_metrics, get_writer
from layout.store import StoreError
from service.body import read_limited_body
from service.errors import ApiError, StoreUnavailable
from webhooks.cloudevents import events_to_rows
from webhooks.errors import InvalidInput
from webhooks.snapshots import snapshots_to_rows

blueprint = Blueprint("ingest", __name__)

# The endpoints that take records: authenticated, and counted by status.
RECORD_ENDPOINTS = ("ingest.events", "ingest.snapshots")

# (headers, body, received_at, cluster) -> (rows, ignored)
Decoder = Callable[[Mapping[str, str], bytes, datetime, str], tuple[list[dict], int]]


@blueprint.after_request
def _count(response: Response) -> Response:
    if request.endpoint in RECORD_ENDPOINTS:
        get_metrics().count_request(response.status_code)
    return response


def wsgi_headers(environ: Mapping[str, object]) -> dict[str, str]:
    """The request's headers, names lowercased, from the environ (cheaper than werkzeug's
    EnvironHeaders, which webhooks/ would only lowercase again)."""
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = environ[name]
    return headers


def _body(headers: Mapping[str, str]) -> bytes:
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ApiError(
            415,
            f"Content-Encoding {encoding!r} is not accepted here",
            ["send events and snapshots uncompressed"],
        )
    config = current_app.config
    return read_limited_body(
        config["RUNLAKE_MAX_BODY_BYTES"],
        config["BODY_IDLE_TIMEOUT_S"],
        config["EVENT_BODY_DEADLINE_S"],
    )


def _ingest(decode: Decoder) -> Response:
    headers = wsgi_headers(request.environ)
    body = _body(headers)
    metrics = get_metrics()
    with get_writer().arriving() as submit:
        try:
            rows, ignored = decode(headers, body, datetime.now(UTC), g.ingest_cluster)
        except InvalidInput as exc:
            metrics.count_rows("rejected")
            raise ApiError(exc.status, exc.error, exc.errors) from exc
        try:
            submit(rows)
        except StoreError as exc:
            metrics.count_rows("failed", len(rows))
            raise StoreUnavailable(str(exc)) from exc
    metrics.count_rows("accepted", len(rows))
    metrics.count_rows("ignored", ignored)
    answer = orjson.dumps(
        {"accepted": len(rows), "ignored": ignored}, option=orjson.OPT_APPEND_NEWLINE
    )
    return current_app.response_class(answer, status=202, mimetype="application/json")


def _snapshots(
    headers: Mapping[str, str], body: bytes, received_at: datetime, cluster: str
) -> tuple[list[dict], int]:
    return snapshots_to_rows(headers, body, received_at, cluster=cluster), 0


@blueprint.post("/", endpoint="events")
@blueprint.post("/v1/events", endpoint="events")
def events() -> Response:
    return _ingest(events_to_rows)


@blueprint.post("/v1/snapshots", endpoint="snapshots")
def snapshots() -> Response:
    return _ingest(_snapshots)
