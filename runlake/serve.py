"""`runlake serve`: ingest, query and the materializer in one process, served by gunicorn's
threaded worker so that concurrent events share inbox objects exactly as in production.

The materializer runs as a thread of the worker (started once the worker has its app, stopped
when it exits), so what ingest accepts reaches the tables within RUNLAKE_MATERIALIZE_S; it
holds the store's writer lease and hands it over when `runlake compact` or `retention` asks.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker

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


class _Materializing:
    """gunicorn hooks that run the materializer beside the worker's request threads."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker: Any) -> None:
        from layout.store import open_store
        from runlake.lifecycle import materialize_forever

        store = open_store(self.config["RUNLAKE_STORE"], self.config["RUNLAKE_S3_ENDPOINT"])
        self.thread = threading.Thread(
            target=materialize_forever,
            args=(store, float(self.config["RUNLAKE_MATERIALIZE_S"]), self.stop),
            name="materializer",
            daemon=True,
        )
        self.thread.start()

    def end(self, worker: Any) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)


class _ThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, made safe to stop with SIGQUIT (and Ctrl-C).

    gunicorn 27.0.1's gthread worker shuts its thread pool down inside its SIGQUIT handler.
    The handler runs on the main thread wherever that was interrupted, and when that was
    inside the pool's submit() (a request being queued) or inside a first such handler (Ctrl-C
    reaches the worker from the terminal, then again as the arbiter's SIGQUIT), shutdown()
    waits for ever on the lock the interrupted code holds, until the arbiter kills the worker
    30 s later. Leaving from the handler without it is safe: the pool's threads are joined
    when the interpreter exits."""

    def handle_quit(self, sig: int, frame: Any) -> None:
        Worker.handle_quit(self, sig, frame)


def ensure_free(host: str, port: int) -> None:
    """Raise ValueError, in one line, when nothing could listen on host:port; gunicorn would
    otherwise retry for seconds and end with a message naming neither a cause nor a way out."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ValueError(
                f"port {port} on {host} is taken (another server runs there); "
                f"choose another with --port, e.g. --port {port + 1}"
            ) from None
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _before_fork(server: Any, worker: Any) -> None:
    """`import duckdb` opens DuckDB's default in-memory database (duckdb/_dbapi_type_object.py
    parses type names through it), and its scheduler threads do not survive fork: the forked
    worker then ends in std::terminate ("terminate called without an active exception",
    SIGABRT) at exit. Close it in the arbiter, before each fork; the worker opens its own
    databases, after the fork."""
    import duckdb

    duckdb.default_connection().close()


def run_server(config: Mapping[str, Any], host: str, port: int, threads: int = 16) -> None:
    app = create_combined_app(config)
    materializing = _Materializing(app.config)
    _Server(
        app,
        {
            "post_worker_init": materializing.start,
            "worker_exit": lambda server, worker: materializing.end(worker),
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": _ThreadWorker,
            "threads": threads,
            "timeout": 60,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "pre_fork": _before_fork,
        },
    ).run()
