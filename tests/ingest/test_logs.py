"""PUT /v1/logs/<namespace>/<uid>/<step> as the watcher uses it, read back through the query
service's GET /v1/runs/<uid>/logs."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import random
import subprocess
import sys
import time
import tracemalloc

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from ingest.archive import import_objects
from layout.store import open_store
from runlake.demo import demo_step_log
from tests.helpers.apps import app_for, close_writer, finished_taskruns, query_client
from tests.helpers.servers import free_port

TEXT = "héllo \x1b[1;32mgreen\x1b[0m ✓ 日本語\r\nno newline at the end".encode()


@pytest.fixture
def ingest(store):
    app = app_for(store)
    yield app.test_client()
    close_writer(app)


@pytest.fixture
def run(store):
    obj = finished_taskruns()[0]
    import_objects(store, [obj])
    return obj


def _url(obj: dict, step: str) -> str:
    return f"/v1/logs/{obj['metadata']['namespace']}/{obj['metadata']['uid']}/{step}"


def _get(store, uid: str, step: str | None = None) -> bytes:
    response = query_client(store).get(
        f"/v1/runs/{uid}/logs", query_string={"step": step} if step else None
    )
    assert response.status_code == 200, response.get_data()
    assert response.mimetype == "text/plain"
    return response.get_data()


def _files(root: str) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files
    )


@pytest.mark.parametrize("body", [TEXT, b"", b"line\n" * 50_000], ids=["unicode", "empty", "250k"])
def test_logs_put_then_get_byte_for_byte(store, ingest, run, body):
    response = ingest.put(_url(run, "build"), data=body, content_type="text/plain")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["size_bytes"] == len(body)
    assert _get(store, run["metadata"]["uid"], "build") == body


def test_logs_gzip_upload_reads_back_as_text(store, ingest, run):
    step = run["status"]["steps"][0]["name"]
    text = demo_step_log(run, step).encode()
    response = ingest.put(
        _url(run, step), data=gzip.compress(text), headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 201 and response.get_json()["size_bytes"] == len(text)
    assert _get(store, run["metadata"]["uid"], step) == text


def test_logs_invalid_gzip_is_400_and_stores_nothing(local_store):
    app = app_for(local_store)
    response = app.test_client().put(
        "/v1/logs/ci/u1/build", data=b"plain text", headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid log body"
    assert local_store.list("logs/") == []


def test_logs_unknown_encoding_is_415(local_client):
    response = local_client.put(
        "/v1/logs/ci/u1/build", data=b"x", headers={"Content-Encoding": "br"}
    )
    assert response.status_code == 415 and response.get_json()["status"] == 415


def test_logs_put_repeat_replaces(store, ingest, run):
    assert ingest.put(_url(run, "build"), data=b"first attempt\n").status_code == 201
    assert ingest.put(_url(run, "build"), data=b"second\n").status_code == 201
    assert _get(store, run["metadata"]["uid"], "build") == b"second\n"
    assert len(store.list("logs/")) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/v1/logs/../u1/build",
        "/v1/logs/ci/../build",
        "/v1/logs/ci/u1/..",
        "/v1/logs/ci/a%2fb/build",
        "/v1/logs/ci%2f..%2f..%2fx/u1/build",
        "/v1/logs/ci/u1/a%2F..",
        "/v1/logs/Ci/u1/build",
        "/v1/logs/ci/u1/bu%C3%AFld",
        "/v1/logs/%EF%BD%83i/u1/build",
        "/v1/logs/ci/u1/-build",
        "/v1/logs/ci/u1/" + "s" * 64,
        "/v1/logs/ci/" + "u" * 64 + "/s",
        "/v1/logs/ci//build",
        "/v1/logs/ci/u1/build/extra",
        "/v1/logs/ci/u_1/build",
        "/v1/logs/ci/u1/build.log.gz",
    ],
)
def test_logs_path_tricks_are_400_and_write_nothing(local_store, path):
    app = app_for(local_store)
    response = app.test_client().put(path, data=b"evil\n")
    assert response.status_code == 400, (path, response.status_code)
    body = response.get_json()
    assert set(body) == {"error", "errors", "status"} and body["status"] == 400
    assert _files(os.path.dirname(local_store.root)) == []


def test_logs_ignore_the_body_limit(local_store):
    app = app_for(local_store, RUNLAKE_MAX_BODY_BYTES=1024)
    response = app.test_client().put("/v1/logs/ci/u1/build", data=b"x" * 200_000)
    assert response.status_code == 201 and response.get_json()["size_bytes"] == 200_000


def test_logs_truncated_body_keeps_the_old_log(store, ingest, run):
    assert ingest.put(_url(run, "build"), data=b"complete\n").status_code == 201
    # Content-Length promises more than arrives: the client went away mid-upload.
    response = ingest.put(_url(run, "build"), input_stream=_Body(100_000, declared=200_000))
    assert response.status_code == 400
    assert _get(store, run["metadata"]["uid"], "build") == b"complete\n"
    assert len(store.list("logs/")) == 1


def test_logs_put_needs_an_ingest_token_when_tokens_are_set(local_store):
    client = app_for(local_store, RUNLAKE_INGEST_TOKENS="s3cret").test_client()
    assert client.put("/v1/logs/ci/u1/build", data=b"x").status_code == 401
    assert local_store.list("logs/") == []
    assert client.put("/v1/logs/ci/u1/build?token=s3cret", data=b"x").status_code == 201
    assert (
        client.put(
            "/v1/logs/ci/u1/build", data=b"x", headers={"Authorization": "Bearer s3cret"}
        ).status_code
        == 201
    )


class _Body:
    """A request body made as it is read (base64 of seeded random bytes, in lines), so the
    test itself never holds it; remembers the largest read asked for and its digest."""

    def __init__(self, size: int, declared: int | None = None) -> None:
        self.left = size
        self.declared = size if declared is None else declared
        self._at_end = False
        self.random = random.Random(5)
        self.digest = hashlib.sha256()
        self.largest_read = 0

    # Werkzeug's test client measures an input stream by seeking to its end and back; the
    # end it finds is the declared length (more than `size` plays a client that went away).
    def tell(self) -> int:
        return self.declared if self._at_end else 0

    def seek(self, offset: int, whence: int = 0) -> None:
        self._at_end = whence == 2

    def read(self, n: int = -1) -> bytes:
        assert n is not None and n >= 0, "the whole body was asked for at once"
        self.largest_read = max(self.largest_read, n)
        n = min(n, self.left)
        line = base64.b64encode(self.random.randbytes(n)).replace(b"=", b"")[: n - 1] + b"\n"
        chunk = line[:n] if n else b""
        self.left -= len(chunk)
        self.digest.update(chunk)
        return chunk


@pytest.fixture
def s3_elsewhere():
    """A moto server in its own process, so this process's heap holds only ingest's memory
    (the shared in-process server keeps every uploaded part in Python objects)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        for _ in range(100):
            try:
                client.create_bucket(Bucket="runlake-logs")
                break
            except EndpointConnectionError:
                time.sleep(0.1)
        yield open_store("s3://runlake-logs/archive", endpoint), client
    finally:
        server.terminate()
        server.wait(10)


def test_logs_20mb_streams_to_s3_in_parts_with_bounded_memory(s3_elsewhere):
    s3_store, s3 = s3_elsewhere
    obj = finished_taskruns()[0]
    import_objects(s3_store, [obj])
    app = app_for(s3_store)
    body = _Body(20 * 1024 * 1024)
    tracemalloc.start()
    try:
        response = app.test_client().put(_url(obj, "build"), input_stream=body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        close_writer(app)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["size_bytes"] == 20 * 1024 * 1024
    assert body.largest_read <= 64 * 1024
    print(f"python heap peak during the PUT: {peak} bytes")
    assert peak < 6 * 1024 * 1024, f"python heap peaked at {peak} bytes for a 20 MiB body"
    key = f"archive/{response.get_json()['key']}"
    head = s3.head_object(Bucket=s3_store.bucket, Key=key)
    assert "-" in head["ETag"], "a large log is uploaded in parts (multipart)"

    got = query_client(s3_store).get(
        f"/v1/runs/{obj['metadata']['uid']}/logs?step=build", buffered=False
    )
    digest, size = hashlib.sha256(), 0
    for chunk in got.response:
        digest.update(chunk)
        size += len(chunk)
    got.close()
    assert size == 20 * 1024 * 1024 and digest.hexdigest() == body.digest.hexdigest()


def test_logs_store_down_is_503_and_leaves_nothing(moto_s3, s3_store):
    app = app_for(s3_store)
    client = app.test_client()
    moto_s3.stop()
    try:
        response = client.put("/v1/logs/ci/u1/build", data=b"x" * 100_000)
    finally:
        moto_s3.start()
        close_writer(app)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["status"] == 503
    assert s3_store.list("logs/") == []
