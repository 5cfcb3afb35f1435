"""Servers the tests start themselves: a free loopback port, waiting for one to answer, and a
moto S3 server that can be stopped and started again and records the requests it answers."""

from __future__ import annotations

import contextlib
import io
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import boto3
import requests
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server


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


@dataclass(frozen=True)
class S3Request:
    """One request as the moto server received it: what IAM authorizes it by (method, bucket,
    key, query) plus the headers that change its meaning."""

    method: str
    bucket: str
    key: str  # '' for a request on the bucket itself
    query: dict[str, list[str]]
    status: int
    copy_source: str | None = None  # x-amz-copy-source: a CopyObject or UploadPartCopy
    if_none_match: str | None = None
    if_match: str | None = None
    deleted_keys: tuple[str, ...] = ()  # the keys of a multi-object delete (POST ?delete)
    access_key: str | None = None  # whose credentials signed it (SigV4 Credential=)


class _Recorder:
    """WSGI middleware in front of moto: appends every request to `log` while it is a list.
    It sees every client alike (boto3, pyarrow, delta-rs, DuckDB), since all of them speak
    HTTP to the same server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log: list[S3Request] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        log = self.log
        if log is None:
            return self.app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        deleted: tuple[str, ...] = ()
        if environ["REQUEST_METHOD"] == "POST" and "delete" in query:
            body = _read_body(environ)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            deleted = tuple(
                element.text or ""
                for element in ET.fromstring(body).iter()
                if element.tag.rpartition("}")[2] == "Key"
            )
        bucket, _, key = unquote(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
        status: list[int] = []

        def recording_start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(int(line.split()[0]))
            return start_response(line, headers, exc_info)

        result = self.app(environ, recording_start_response)
        log.append(
            S3Request(
                method=environ["REQUEST_METHOD"],
                bucket=bucket,
                key=key,
                query=query,
                status=status[0] if status else 0,
                copy_source=environ.get("HTTP_X_AMZ_COPY_SOURCE"),
                if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
                if_match=environ.get("HTTP_IF_MATCH"),
                deleted_keys=deleted,
                access_key=_access_key(environ, query),
            )
        )
        return result


_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def _access_key(environ: dict[str, Any], query: dict[str, list[str]]) -> str | None:
    """The access key id a SigV4 request is signed with (header, or a presigned URL)."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1)
    presigned = query.get("X-Amz-Credential", [""])[0]
    return presigned.partition("/")[0] or None


def _read_body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    return stream.read(int(length)) if length else stream.read()


class MotoS3:
    """A moto server on loopback that can be stopped and started again on the same port,
    keeping its buckets, to play an S3 outage; `record()` captures the requests it gets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._recorder = _Recorder(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = make_server(
            "127.0.0.1",
            self.port,
            self._recorder,
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = self._thread = None

    @contextlib.contextmanager
    def record(self) -> Iterator[list[S3Request]]:
        """The requests the server answers inside the block, in the order they finished."""
        log: list[S3Request] = []
        self._recorder.log = log
        try:
            yield log
        finally:
            self._recorder.log = None

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing-secret",
        )

    def delete_bucket(self, bucket: str) -> None:
        """Empty the bucket and delete it, as an operator might under a running runlake."""
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        client.delete_bucket(Bucket=bucket)
