"""The query service's Flask app: `gunicorn 'query.app:create_app()'`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify

from ingest.errors import register_error_handlers
from layout import settings
from query import logs_api, results_api, runs_api, web
from query.api import api

# Every blueprint of the query service, in one place for query.app and `runlake serve`.
QUERY_BLUEPRINTS = (api, runs_api.blueprint, logs_api.blueprint, results_api.blueprint,
                    web.blueprint)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Settings come from the environment, overridden by `config` (keys are the variable
    names, e.g. RUNLAKE_STORE); other keys in `config` (TESTING, ...) go to Flask as given."""
    app = Flask(__name__)
    app.config.update(settings.load(overrides=config))
    app.config.update({k: v for k, v in (config or {}).items() if k not in settings.BY_ENV})
    register_error_handlers(app)
    for blueprint in QUERY_BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"ok": True})

    return app
