"""The query service's Flask app: `gunicorn 'query.app:create_app()'`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify

from ingest.errors import register_error_handlers
from layout import settings
from query.api import api


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Settings come from the environment, overridden by `config` (keys are the variable
    names, e.g. RUNLAKE_STORE); other keys in `config` (TESTING, ...) go to Flask as given."""
    app = Flask(__name__)
    app.config.update(settings.load(overrides=config))
    app.config.update({k: v for k, v in (config or {}).items() if k not in settings.BY_ENV})
    register_error_handlers(app)
    app.register_blueprint(api)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"ok": True})

    return app
