"""`runlake serve`: ingest and query in one process, served by gunicorn's threaded worker so
that concurrent events share files exactly as in production."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from ingest.app import INGEST_BLUEPRINTS, configure
from query.http.app import QUERY_BLUEPRINTS
from service.errors import register_error_handlers


def create_combined_app(config: Mapping[str, Any] | None = None) -> Flask:
    """One app with both blueprints: `POST /` stays ingest, `GET /` is the query side."""
    app = Flask("runlake")
    configure(app, config)
    for blueprint in (*INGEST_BLUEPRINTS, *QUERY_BLUEPRINTS):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    return app


# gunicorn's default access line holds the whole request line, query string included, and
# Tekton's sink sends its token as ?token=: log the path alone.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss "%(a)s"'


class _Server(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def run_server(config: Mapping[str, Any], host: str, port: int, threads: int = 16) -> None:
    app = create_combined_app(config)
    _Server(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 60,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
        },
    ).run()
