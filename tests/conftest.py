"""Shared fixtures: a clean environment, a local store, and a real S3 endpoint (a moto
server on a loopback port) that boto3, pyarrow and DuckDB all reach over HTTP."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from layout.store import LocalStore, Store, open_store
from tests.helpers.servers import MotoS3

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
