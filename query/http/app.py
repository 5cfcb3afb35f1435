"""The query service's Flask app: `gunicorn 'query.http.app:create_app()'`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, jsonify

from layout import settings
from layout.store import StoreError
from query.http import external_logs, insights, logs, openapi, results, runs, sql, summary, web
from query.http.context import get_engine, store_unreadable
from service.errors import register_error_handlers
from service.jsonprovider import OrjsonProvider

health = Blueprint("query_health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    return jsonify({"ok": True})


@health.get("/readyz")
def readyz() -> Response:
    """The store can be read in this runlake's layout; the inbox says whether the
    materializer keeps up (queries answer either way)."""
    engine = get_engine()
    try:
        inbox = engine.inbox_stats()
    except StoreError as exc:
        raise store_unreadable(exc) from exc
    return jsonify({"ok": True, "store": engine.store.url, "inbox": inbox.describe()})


# Every blueprint of the query service, in one place for create_app and `runlake serve`.
QUERY_BLUEPRINTS = (
    openapi.blueprint,
    sql.blueprint,
    runs.blueprint,
    summary.blueprint,
    insights.blueprint,
    logs.blueprint,
    results.blueprint,
    external_logs.blueprint,
    web.blueprint,
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Settings come from the environment, overridden by `config` (keys are the variable
    names, e.g. RUNLAKE_STORE); other keys in `config` (TESTING, ...) go to Flask as given."""
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config.update(settings.load(overrides=config))
    app.config.update({k: v for k, v in (config or {}).items() if k not in settings.BY_ENV})
    register_error_handlers(app)
    for blueprint in (health, *QUERY_BLUEPRINTS):
        app.register_blueprint(blueprint)
    return app
