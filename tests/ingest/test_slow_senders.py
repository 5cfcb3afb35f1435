"""Slow senders against the real gunicorn workers, gevent (ingest's default) and gthread: a
sender that stalls mid-body, or dribbles an event body byte by byte, is answered 408 and frees
its greenlet or thread, so other requests still get through. (gunicorn's own `timeout` never
fires for them: the worker stays alive.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.helpers.servers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
HEAD = (
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nce-id: a\r\n"
    b"ce-specversion: 1.0\r\nce-source: /s\r\nce-type: dev.tekton.event.taskrun.failed.v1"
    b"\r\nContent-Length: 1000\r\n\r\n"
)


def _status(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    return sock.recv(200).split(b"\r\n", 1)[0].split(b" ", 2)[1]


# Fewer places for requests in the one worker than the four slow senders take: 4 greenlets
# (gevent), or 2 threads (gthread) with the other senders queued behind them.
FEW_PLACES = {
    "gevent": ["-k", "gevent", "--worker-connections", "4"],
    "gthread": ["-k", "gthread", "--threads", "2"],
}


@pytest.mark.parametrize("worker", sorted(FEW_PLACES))
def test_slow_senders_get_408_and_never_starve_the_worker(tmp_path, worker):
    port = free_port()
    factory = 'ingest.app:create_app({"BODY_IDLE_TIMEOUT_S": 1, "EVENT_BODY_DEADLINE_S": 3})'
    env = {
        **os.environ,
        "RUNLAKE_STORE": str(tmp_path / "store"),
        "RUNLAKE_BIND": f"127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "gunicorn.conf.py",
            "-w",
            "1",
            *FEW_PLACES[worker],
            factory,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        for sock in stalled:
            sock.sendall(HEAD + b"{")  # then nothing more
        dribbler = socket.create_connection(("127.0.0.1", port))
        dribbler.sendall(HEAD)

        def dribble() -> None:
            for _ in range(20):  # a byte every 0.5 s: never idle for 1 s, never done
                time.sleep(0.5)
                try:
                    dribbler.sendall(b" ")
                except OSError:
                    return

        threading.Thread(target=dribble, daemon=True).start()

        # With the worker's places taken by slow senders, this answers only because they are
        # cut off.
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=20)
        assert health.status_code == 200
        assert [_status(sock) for sock in stalled] == [b"408"] * 3
        assert _status(dribbler) == b"408"
    finally:
        server.terminate()
        server.wait(30)
    assert not (tmp_path / "store" / "inbox").exists()
