"""Fixtures of the watcher's tests: a fake Kubernetes API server and a recording sink,
each on a loopback port for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.kubeapi import FakeKube
from tests.helpers.sinkapp import RecordingSink


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    server = FakeKube().start()
    yield server
    server.stop()


@pytest.fixture
def sink() -> Iterator[RecordingSink]:
    server = RecordingSink().start()
    yield server
    server.stop()
