"""The ingest Flask app: CloudEvents and snapshots in, durable files out.

Serve `ingest.app:create_app()` with gunicorn (see gunicorn.conf.py) or the Lambda handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from flask import Blueprint, Flask, current_app, g, request

from ingest import events, logs, ops
from ingest.auth import parse_tokens, request_cluster
from layout import settings
from service.auth import require_token
from service.body import BODY_IDLE_TIMEOUT_S, EVENT_BODY_DEADLINE_S
from service.errors import register_error_handlers

guard = Blueprint("ingest_auth", __name__)

# Every blueprint of ingest, in one place for create_app and `runlake serve`.
INGEST_BLUEPRINTS = (guard, events.blueprint, logs.blueprint, ops.blueprint)
AUTHENTICATED = (*events.RECORD_ENDPOINTS, logs.PUT_ENDPOINT)
TOKENS_KEY = "runlake.ingest_tokens"
NO_ARGS: Mapping[str, str] = MappingProxyType({})


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
    try:
        app.extensions[TOKENS_KEY] = parse_tokens(app.config["RUNLAKE_INGEST_TOKENS"])
    except ValueError as exc:
        raise settings.SettingError(str(exc)) from exc
    app.config["MAX_CONTENT_LENGTH"] = app.config["RUNLAKE_MAX_BODY_BYTES"]
    app.config.setdefault("BODY_IDLE_TIMEOUT_S", BODY_IDLE_TIMEOUT_S)
    app.config.setdefault("EVENT_BODY_DEADLINE_S", EVENT_BODY_DEADLINE_S)


# App-wide, so that it guards ingest's endpoints in every blueprint (and nothing of the query
# side when both run in one app).
@guard.before_app_request
def _authenticate() -> None:
    if request.endpoint not in AUTHENTICATED:
        return
    tokens = current_app.extensions[TOKENS_KEY]
    # Parsed only when there is a query string (Tekton's sink may send ?token= or ?cluster=).
    args = request.args if request.environ.get("QUERY_STRING") else NO_ARGS
    token = require_token(request.headers, args, tuple(tokens)) if tokens else None
    if request.endpoint in events.RECORD_ENDPOINTS:
        # What events.py stamps on every row of this request.
        g.ingest_cluster = request_cluster(
            token,
            tokens,
            args.get("cluster") or None,
            current_app.config["RUNLAKE_CLUSTER"],
        )
