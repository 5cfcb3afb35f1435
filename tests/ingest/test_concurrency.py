"""Many senders at once through a real threaded HTTP server: nothing lost, files shared."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from werkzeug.serving import make_server

from tests.helpers import events
from tests.helpers.apps import app_for, close_writer, count
from tests.helpers.tekton import fixture_object

TEMPLATE = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
EVENTS, THREADS = 2000, 16


def _event_body(n: int) -> bytes:
    obj = copy.deepcopy(TEMPLATE)
    obj["metadata"]["uid"] = str(uuid.UUID(int=n))
    obj["metadata"]["name"] = f"concurrent-{n}"
    return json.dumps({"taskRun": obj}).encode()


def test_concurrency_16_threads_2000_events_none_lost_few_files(local_store):
    app = app_for(local_store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"

    def send(worker: int) -> list[int]:
        with requests.Session() as session:
            return [
                session.post(
                    url, headers=events.hand_binary(f"ev-{n}"), data=_event_body(n), timeout=30
                ).status_code
                for n in range(worker, EVENTS, THREADS)
            ]

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            statuses = [s for batch in pool.map(send, range(THREADS)) for s in batch]
    finally:
        server.shutdown()
        close_writer(app)

    assert statuses == [202] * EVENTS
    assert count(local_store, "snapshots") == EVENTS
    assert count(local_store, "runs") == EVENTS
    files = len(local_store.list("inbox"))
    assert files * 4 <= EVENTS, f"{files} files for {EVENTS} events"
