"""What operators and probes ask ingest: /healthz, /readyz (the store answers; what waits for
the materializer), /metrics, /openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ingest.context import get_inbox_stats, get_metrics, get_store
from ingest.metrics import CONTENT_TYPE
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
        inbox = get_inbox_stats()
    except StoreError as exc:
        raise StoreUnavailable(str(exc)) from exc
    # Ingest stays ready while the materializer is behind: what it accepts is durable in the
    # inbox, so the answer says what is wrong without turning senders away.
    return jsonify({"ok": True, "store": get_store().url, "inbox": inbox.describe()})


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)


@blueprint.get("/metrics")
def metrics() -> Response:
    return Response(get_metrics().render(), content_type=CONTENT_TYPE)
