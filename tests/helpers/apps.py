"""The services under test: ingest and query apps over a store, and what the views hold."""

from __future__ import annotations

import copy

from flask import Flask

from ingest.app import create_app
from layout.store import Store
from query.engine import Engine
from query.http.app import create_app as create_query_app
from runlake.demo import generate


def app_for(store: Store, **config) -> Flask:
    settings = {
        "RUNLAKE_STORE": store.url,
        "RUNLAKE_S3_ENDPOINT": getattr(store, "endpoint", None),
        **config,
    }
    app = create_app(settings)
    app.testing = True
    return app


def close_writer(app: Flask) -> None:
    writer = app.extensions.get("runlake.writer")
    if writer is not None:
        writer.close()


def runs(store: Store, columns: str = "*") -> list[dict]:
    result = Engine(store).sql(f"SELECT {columns} FROM runs ORDER BY uid", limit=10_000)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def count(store: Store, view: str) -> int:
    return Engine(store).sql(f"SELECT count(*) AS n FROM {view}").rows[0][0]


def finished_taskruns(steps: int = 2, count: int = 1, seed: int = 11) -> list[dict]:
    """Demo TaskRuns that finished, cut to `steps` steps."""
    found = [
        obj
        for obj in generate(60, seed=seed)
        if obj["kind"] == "TaskRun"
        and obj["status"].get("completionTime")
        and len(obj["status"].get("steps", [])) >= steps
    ]
    chosen = [copy.deepcopy(obj) for obj in found[:count]]
    for obj in chosen:
        obj["status"]["steps"] = obj["status"]["steps"][:steps]
    assert len(chosen) == count
    return chosen


def query_client(store, **config):
    app = create_query_app(
        {
            "RUNLAKE_STORE": store.url,
            "RUNLAKE_S3_ENDPOINT": getattr(store, "endpoint", None),
            **config,
        }
    )
    app.testing = True
    return app.test_client()
