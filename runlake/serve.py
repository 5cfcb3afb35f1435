"""`runlake serve`: ingest, query and the materializer in one process, served by gunicorn's
threaded worker so that concurrent events share inbox objects exactly as in production.

The materializer runs as a thread of the worker (started once the worker has its app, stopped
when it exits), so what ingest accepts reaches the tables within RUNLAKE_MATERIALIZE_S; it
holds the store's writer lease and hands it over when `runlake compact` or `retention` asks.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import sys
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from ingest.app import INGEST_BLUEPRINTS, configure
from query.http.app import QUERY_BLUEPRINTS
from service.errors import register_error_handlers
from service.jsonprovider import OrjsonProvider


def create_combined_app(config: Mapping[str, Any] | None = None) -> Flask:
    """One app with both blueprints: `POST /` stays ingest, `GET /` is the query side."""
    app = Flask("runlake")
    app.json = OrjsonProvider(app)
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


# How long a signalled stop waits for the materializer's cycle to end.
STOP_WAIT_S = 3.0


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
            # A worker stopped by a signal leaves by os._exit (_ThreadWorker), which cuts a
            # cycle still running short (the materializer is crash-safe): a stop waits for
            # it only briefly.
            self.thread.join(timeout=STOP_WAIT_S if getattr(worker, "quitting", False) else 30)


class _ThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, made safe to stop with SIGQUIT (and Ctrl-C).

    The stop signal's handler runs on the main thread wherever that was interrupted. When
    that was inside the pool's submit() (a request being queued), the future's lock stays
    held by the unwound frame, and a pool thread waits for it for ever; gunicorn 27.0.1's
    handler then waits for that thread in the pool's shutdown(), and leaving by sys.exit
    waits for it in the interpreter's exit (py-spy: `_python_exit` joining a thread in
    `Future.set_running_or_notify_cancel`), until the arbiter kills the worker 30 s later.
    So the handler runs the worker's exit hook (which stops the materializer), flushes the
    logs and leaves with os._exit: nothing else of the process needs to run, and DuckDB's
    databases need no destructor (the materializer is crash-safe at any point). A second
    signal while the first is handled does nothing."""

    quitting = False

    def handle_quit(self, sig: int, frame: Any) -> None:
        # Ctrl-C reaches the worker twice (from the terminal, then as the arbiter's SIGQUIT).
        # The second call, run inside the first wherever that was (py-spy: inside the
        # materializer's Event.set(), whose lock is not reentrant), must leave the first to
        # finish.
        if self.quitting:
            return
        self.quitting = True
        self.alive = False
        self.cfg.worker_int(self)
        try:
            self.cfg.worker_exit(None, self)
        finally:
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(0)


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
