"""The ingest Flask app: CloudEvents and snapshots in, durable Parquet out.

Serve `ingest.app:create_app()` with gunicorn (see gunicorn.conf.py) or the Lambda handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from ingest import logs
from ingest.auth import parse_tokens, require_token
from ingest.body import (
    BODY_IDLE_TIMEOUT_S,
    EVENT_BODY_DEADLINE_S,
    SlowSender,
    body_reader,
    too_slow,
)
from ingest.errors import ApiError, StoreUnavailable, register_error_handlers
from ingest.metrics import IngestCounters
from ingest.openapi import SPEC
from ingest.writer import GroupCommitWriter
from layout import settings
from layout.store import Store, StoreError, open_store
from webhooks.cloudevents import events_to_rows
from webhooks.errors import InvalidInput
from webhooks.snapshots import snapshots_to_rows

ingest_api = Blueprint("ingest", __name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    configure(app, config)
    for blueprint in INGEST_BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    return app


def configure(app: Flask, config: Mapping[str, Any] | None) -> None:
    """Settings from the environment, overridden by `config`; checked now, used lazily."""
    app.config.update(settings.load(overrides=config))
    app.config.update({k: v for k, v in (config or {}).items() if k not in settings.BY_ENV})
    app.config["MAX_CONTENT_LENGTH"] = app.config["RUNLAKE_MAX_BODY_BYTES"]
    app.config.setdefault("BODY_IDLE_TIMEOUT_S", BODY_IDLE_TIMEOUT_S)
    app.config.setdefault("EVENT_BODY_DEADLINE_S", EVENT_BODY_DEADLINE_S)


def get_store() -> Store:
    """The app's store, opened on first use (never at import or in create_app)."""
    ext = current_app.extensions
    if "runlake.store" not in ext:
        ext["runlake.store"] = open_store(current_app.config["RUNLAKE_STORE"],
                                          current_app.config["RUNLAKE_S3_ENDPOINT"])
    return ext["runlake.store"]


def get_writer() -> GroupCommitWriter:
    ext = current_app.extensions
    if "runlake.writer" not in ext:
        ext["runlake.writer"] = GroupCommitWriter(
            get_store(), current_app.config["RUNLAKE_FLUSH_MS"],
            current_app.config["RUNLAKE_FLUSH_ROWS"])
    return ext["runlake.writer"]


def get_counters() -> IngestCounters:
    return current_app.extensions.setdefault("runlake.ingest_counters", IngestCounters())


INGEST_BLUEPRINTS = (ingest_api, logs.blueprint)


# App-wide, so that it also guards the logs blueprint's PUT (and nothing of the query side).
@ingest_api.before_app_request
def _authenticate() -> None:
    if request.endpoint in ("ingest.events", "ingest.snapshots", "ingest_logs.put_log"):
        require_token(request.headers, request.args,
                      parse_tokens(current_app.config["RUNLAKE_INGEST_TOKENS"]))


@ingest_api.after_request
def _count(response: Response) -> Response:
    if request.endpoint in ("ingest.events", "ingest.snapshots"):
        get_counters().add("requests", str(response.status_code))
    return response


def _body() -> bytes:
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ApiError(415, f"Content-Encoding {encoding!r} is not accepted here",
                       ["send events and snapshots uncompressed"])
    return read_limited_body(current_app.config["RUNLAKE_MAX_BODY_BYTES"])


def read_limited_body(limit: int) -> bytes:
    """The request body, or 413 once it passes `limit` bytes. Werkzeug's own limit silently
    truncates a chunked body (no Content-Length), so the reading is done here."""
    too_large = ApiError(413, f"the body is larger than {limit} bytes",
                         [f"RUNLAKE_MAX_BODY_BYTES is {limit}"])
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    read = body_reader(request.environ, current_app.config["BODY_IDLE_TIMEOUT_S"],
                       current_app.config["EVENT_BODY_DEADLINE_S"])
    chunks, size = [], 0
    try:
        while chunk := read(min(64 * 1024, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise too_large
    except SlowSender as exc:
        raise too_slow() from exc
    return b"".join(chunks)


def _accept(rows: list[dict], ignored: int) -> tuple[Response, int]:
    counters = get_counters()
    try:
        get_writer().submit(rows)
    except StoreError as exc:
        counters.add("rows", "failed", len(rows))
        raise StoreUnavailable(str(exc)) from exc
    counters.add("rows", "accepted", len(rows))
    counters.add("rows", "ignored", ignored)
    return jsonify({"accepted": len(rows), "ignored": ignored}), 202


def _rejected(exc: InvalidInput) -> ApiError:
    get_counters().add("rows", "rejected")
    return ApiError(exc.status, exc.error, exc.errors)


@ingest_api.post("/", endpoint="events")
@ingest_api.post("/v1/events", endpoint="events")
def events() -> tuple[Response, int]:
    try:
        rows, ignored = events_to_rows(request.headers, _body(), datetime.now(UTC))
    except InvalidInput as exc:
        raise _rejected(exc) from exc
    return _accept(rows, ignored)


@ingest_api.post("/v1/snapshots", endpoint="snapshots")
def snapshots() -> tuple[Response, int]:
    try:
        rows = snapshots_to_rows(request.headers, _body(), datetime.now(UTC))
    except InvalidInput as exc:
        raise _rejected(exc) from exc
    return _accept(rows, 0)


@ingest_api.get("/healthz")
def healthz() -> Response:
    return jsonify({"ok": True})


@ingest_api.get("/readyz")
def readyz() -> Response:
    try:
        get_store().check()
    except StoreError as exc:
        raise StoreUnavailable(str(exc)) from exc
    return jsonify({"ok": True, "store": get_store().url})


@ingest_api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)


@ingest_api.get("/metrics")
def metrics() -> Response:
    writer = current_app.extensions.get("runlake.writer")
    body = get_counters().render(writer.stats if writer else None)
    return Response(body, mimetype="text/plain; version=0.0.4")
