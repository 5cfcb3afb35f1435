"""Shared fixtures: a clean environment, a local store, and a real S3 endpoint (a moto
server on a loopback port) that boto3, pyarrow and DuckDB all reach over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from layout.store import LocalStore, Store, open_store

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tekton"
if not FIXTURES.is_dir():  # CI clones beside a copy of shared/
    FIXTURES = Path(os.environ.get("RUNLAKE_FIXTURES", "../shared/fixtures/tekton")).resolve()

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer's AWS_* or RUNLAKE_* variable leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "RUNLAKE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)


def wait_until_up(url: str, seconds: float = 30) -> None:
    """Wait until a server we started answers `url` at all; fail the test if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {seconds} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoS3:
    """A moto server on loopback that can be stopped and started again on the same port,
    keeping its buckets, to play an S3 outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing-secret",
        )


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto_s3: MotoS3, request: pytest.FixtureRequest) -> str:
    name = "runlake-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    name = "".join(c if c.isalnum() or c == "-" else "-" for c in name)
    client = moto_s3.client()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_store(moto_s3: MotoS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("RUNLAKE_S3_ENDPOINT", moto_s3.endpoint)
    return open_store(f"s3://{s3_bucket}/archive", s3_endpoint=moto_s3.endpoint)


@pytest.fixture
def ssm_parameter(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch):
    """Writes an SSM SecureString on the moto server, which boto3 in the handler reads."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", moto_s3.endpoint)
    client = boto3.client("ssm", region_name="us-east-1")

    def put(name: str, value: str) -> str:
        client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        return name

    return put


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(str(tmp_path / "store"))


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> Store:
    """Each test using it runs once against a local directory and once against S3."""
    return request.getfixturevalue(f"{request.param}_store")


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def fixture_index() -> dict[str, dict[str, str]]:
    """INDEX.md's table: file -> {kind, apiVersion, status, reason, ...} as the fixtures'
    curator wrote them, so expectations come from the fixtures, not from our code."""
    rows = {}
    lines = (FIXTURES / "INDEX.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| file |"))
    names = [c.strip() for c in header.strip("|").split("|")]
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(names) and cells[0].endswith(".json"):
            row = dict(zip(names, cells, strict=True))
            row["kind"] = row["kind"].split(" ")[0]  # "TaskRun (CloudEvent body)"
            rows[row["file"]] = row
    return rows


def fixture_object(name: str) -> dict:
    """The Kubernetes object of a fixture (CloudEvent bodies unwrapped)."""
    data = load_fixture(name)
    for key in ("taskRun", "pipelineRun", "customRun"):
        if set(data) == {key}:
            return data[key]
    return data
