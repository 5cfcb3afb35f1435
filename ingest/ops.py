"""What operators and probes ask ingest: /healthz, /readyz (the store answers), /metrics,
/openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from ingest.context import get_counters, get_store
from ingest.openapi import SPEC
from layout.store import StoreError
from service.errors import StoreUnavailable

blueprint = Blueprint("ingest_ops", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"ok": True})


@blueprint.get("/readyz")
def readyz() -> Response:
    try:
        get_store().check()
    except StoreError as exc:
        raise StoreUnavailable(str(exc)) from exc
    return jsonify({"ok": True, "store": get_store().url})


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)


@blueprint.get("/metrics")
def metrics() -> Response:
    writer = current_app.extensions.get("runlake.writer")
    body = get_counters().render(writer.stats if writer else None)
    return Response(body, mimetype="text/plain; version=0.0.4")
