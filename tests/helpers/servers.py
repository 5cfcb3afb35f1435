"""Servers the tests start themselves: a free loopback port, waiting for one to answer, and a
moto S3 server that can be stopped and started again."""

from __future__ import annotations

import socket
import time

import boto3
import requests
from moto.server import ThreadedMotoServer


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
