"""Faults under load: a store that fails one write in ten, and a gunicorn worker killed with
SIGKILL mid-load. Every event answered 202 must be in `snapshots` afterwards, every failure
must be a 503 with Retry-After (or a dropped connection), and a sender that retries, as
Tekton does, ends with everything stored exactly once."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from layout.store import LocalStore, StoreError
from tests.helpers import events
from tests.helpers.apps import app_for, close_writer, count
from tests.helpers.servers import free_port, wait_until_up
from tests.helpers.tekton import fixture_object

TEMPLATE = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
ROOT = Path(__file__).resolve().parents[2]


class FlakyStore(LocalStore):
    """A real local store whose every tenth write fails, as a struggling disk or S3 would."""

    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self.writes = 0
        self._lock = threading.Lock()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._lock:
            self.writes += 1
            fail = self.writes % 10 == 0
        if fail:
            raise StoreError(f"injected failure writing {key}")
        super().write_bytes(key, data)


class SlowStore(LocalStore):
    """A real local store whose writes take 300 ms, as a congested S3 would."""

    def write_bytes(self, key: str, data: bytes) -> None:
        time.sleep(0.3)
        super().write_bytes(key, data)


def _body(n: int) -> bytes:
    obj = copy.deepcopy(TEMPLATE)
    obj["metadata"]["uid"] = str(uuid.UUID(int=n + 1))
    obj["metadata"]["name"] = f"fault-{n}"
    return json.dumps({"taskRun": obj}).encode()


class Sender:
    """Sends each event until it is acknowledged, retrying on 503 and dropped connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acknowledged: set[int] = set()
        self.refusals: list[requests.Response] = []
        self.dropped = 0
        self.other: list[int] = []
        self._lock = threading.Lock()

    def send(self, numbers: range) -> None:
        with requests.Session() as session:
            for n in numbers:
                deadline = time.monotonic() + 60  # a worker restart takes seconds
                while time.monotonic() < deadline:
                    try:
                        response = session.post(
                            self.url,
                            headers=events.hand_binary(f"f-{n}"),
                            data=_body(n),
                            timeout=30,
                        )
                    except requests.RequestException:  # reset, refused, cut mid-answer
                        with self._lock:
                            self.dropped += 1
                        session.close()
                        time.sleep(0.1)
                        continue
                    with self._lock:
                        if response.status_code == 202:
                            self.acknowledged.add(n)
                        elif response.status_code == 503:
                            self.refusals.append(response)
                        else:
                            self.other.append(response.status_code)
                    if response.status_code == 202:
                        break
                    time.sleep(0.01)


def _load(sender: Sender, total: int, threads: int = 8) -> None:
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(sender.send, [range(i, total, threads) for i in range(threads)]))


def test_faults_one_write_in_ten_fails_yet_every_event_is_stored_once(tmp_path):
    store = FlakyStore(str(tmp_path / "store"))
    app = app_for(store)
    app.extensions["runlake.store"] = store
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = Sender(f"http://127.0.0.1:{server.server_port}/")
    try:
        _load(sender, total=400)
    finally:
        server.shutdown()
        close_writer(app)

    assert sender.other == []
    assert sender.acknowledged == set(range(400))
    assert sender.refusals, "the injected failures were never seen"
    assert all(
        r.json()["status"] == 503 and int(r.headers["Retry-After"]) > 0 for r in sender.refusals
    )
    assert count(store, "snapshots") == 400
    assert count(store, "runs") == 400


def test_faults_slow_store_under_load_acknowledges_only_what_is_stored(tmp_path):
    store = SlowStore(str(tmp_path / "store"))
    app = app_for(store, RUNLAKE_FLUSH_MS="100")
    app.extensions["runlake.store"] = store
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = Sender(f"http://127.0.0.1:{server.server_port}/")
    try:
        _load(sender, total=300, threads=12)
    finally:
        server.shutdown()
        close_writer(app)
    writer = app.extensions["runlake.writer"]
    assert sender.other == [] and sender.refusals == []
    assert sender.acknowledged == set(range(300))
    assert count(store, "snapshots") == 300
    # 300 ms per file: without shared files this would take 90 s; with them, far fewer.
    assert writer.stats.files_written * 3 <= 300


@pytest.mark.parametrize("worker_class", ["gevent", "gthread"])
def test_faults_gunicorn_worker_killed_mid_load_loses_nothing_acknowledged(tmp_path, worker_class):
    store_dir = tmp_path / "store"
    port = free_port()
    env = {**os.environ, "RUNLAKE_STORE": str(store_dir), "RUNLAKE_BIND": f"127.0.0.1:{port}"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    conf = ["-c", "gunicorn.conf.py", "-w", "2", "-k", worker_class]
    master = subprocess.Popen(
        [str(gunicorn), *conf, "ingest.app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_up(url + "healthz")
        sender = Sender(url)
        loader = threading.Thread(target=_load, args=(sender, 1500))
        loader.start()
        while len(sender.acknowledged) < 200:
            time.sleep(0.02)
        # The workers may share the connections unevenly: kill each worker in turn, so
        # the one serving the load surely dies mid-request.
        workers = subprocess.run(
            ["pgrep", "-P", str(master.pid)], capture_output=True, text=True
        ).stdout.split()
        for worker in workers:
            acknowledged = len(sender.acknowledged)
            os.kill(int(worker), signal.SIGKILL)
            while len(sender.acknowledged) < acknowledged + 100 and loader.is_alive():
                time.sleep(0.02)
        loader.join(timeout=240)
    finally:
        master.terminate()
        master.wait(30)

    assert sender.dropped > 0, "the killed worker dropped no connection"
    assert sender.other == []
    assert sender.acknowledged == set(range(1500))
    store = LocalStore(str(store_dir))
    assert count(store, "snapshots") == 1500
