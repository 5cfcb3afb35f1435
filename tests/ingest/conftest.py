from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest.app import create_app
from layout.store import Store
from query.engine import Engine


def app_for(store: Store, **config) -> Flask:
    settings = {"RUNLAKE_STORE": store.url,
                "RUNLAKE_S3_ENDPOINT": getattr(store, "endpoint", None), **config}
    app = create_app(settings)
    app.testing = True
    return app


def close_writer(app: Flask) -> None:
    writer = app.extensions.get("runlake.writer")
    if writer is not None:
        writer.close()


@pytest.fixture
def ingest_app(store: Store) -> Iterator[Flask]:
    app = app_for(store)
    yield app
    close_writer(app)


@pytest.fixture
def client(ingest_app: Flask) -> FlaskClient:
    return ingest_app.test_client()


@pytest.fixture
def local_client(local_store: Store) -> Iterator[FlaskClient]:
    app = app_for(local_store)
    yield app.test_client()
    close_writer(app)


def runs(store: Store, columns: str = "*") -> list[dict]:
    result = Engine(store).sql(f"SELECT {columns} FROM runs ORDER BY uid", limit=10_000)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def count(store: Store, view: str) -> int:
    return Engine(store).sql(f"SELECT count(*) AS n FROM {view}").rows[0][0]
