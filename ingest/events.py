"""POST / and /v1/events (CloudEvents), POST /v1/snapshots (Kubernetes objects): decoded and
normalized by webhooks/, group-committed, answered 202 once every accepted row is durable."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, g, jsonify, request

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


@blueprint.after_request
def _count(response: Response) -> Response:
    if request.endpoint in RECORD_ENDPOINTS:
        get_metrics().requests.labels(status=str(response.status_code)).inc()
    return response


def _body() -> bytes:
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
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


def _accept(rows: list[dict], ignored: int) -> tuple[Response, int]:
    counted = get_metrics().rows
    try:
        get_writer().submit(rows)
    except StoreError as exc:
        counted.labels(outcome="failed").inc(len(rows))
        raise StoreUnavailable(str(exc)) from exc
    counted.labels(outcome="accepted").inc(len(rows))
    counted.labels(outcome="ignored").inc(ignored)
    return jsonify({"accepted": len(rows), "ignored": ignored}), 202


def _rejected(exc: InvalidInput) -> ApiError:
    get_metrics().rows.labels(outcome="rejected").inc()
    return ApiError(exc.status, exc.error, exc.errors)


@blueprint.post("/", endpoint="events")
@blueprint.post("/v1/events", endpoint="events")
def events() -> tuple[Response, int]:
    try:
        rows, ignored = events_to_rows(
            request.headers, _body(), datetime.now(UTC), cluster=g.ingest_cluster
        )
    except InvalidInput as exc:
        raise _rejected(exc) from exc
    return _accept(rows, ignored)


@blueprint.post("/v1/snapshots", endpoint="snapshots")
def snapshots() -> tuple[Response, int]:
    try:
        rows = snapshots_to_rows(
            request.headers, _body(), datetime.now(UTC), cluster=g.ingest_cluster
        )
    except InvalidInput as exc:
        raise _rejected(exc) from exc
    return _accept(rows, 0)
