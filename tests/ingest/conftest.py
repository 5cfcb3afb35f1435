from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from layout.store import Store
from tests.helpers.apps import app_for, close_writer


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
