"""`runlake serve` as a process: one port for ingest and query, and no token in its logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.helpers import events
from tests.helpers.servers import free_port, wait_until_up
from tests.helpers.tekton import fixture_object

RUNLAKE = Path(sys.executable).with_name("runlake")


def test_serve_ingests_and_answers_and_never_logs_a_token(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "RUNLAKE_STORE": str(tmp_path / "store"),
        "RUNLAKE_INGEST_TOKENS": "ingest-secret-1",
        "RUNLAKE_QUERY_TOKENS": "query-secret-2=*",
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(RUNLAKE), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz")
        run = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
        body = json.dumps({"taskRun": run})
        sent = requests.post(
            f"{base}/?token=ingest-secret-1", headers=events.hand_binary(), data=body, timeout=10
        )
        assert sent.status_code == 202
        refused = requests.post(
            f"{base}/?token=wrong-secret-3", headers=events.hand_binary(), data=body, timeout=10
        )
        assert refused.status_code == 401
        answer = requests.post(
            f"{base}/v1/sql?token=query-secret-2",
            json={"sql": "SELECT count(*) AS n FROM runs"},
            timeout=30,
        )
        assert answer.json()["rows"] == [[1]]
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "POST /v1/sql" in text  # the access log is on, and names the path
    for secret in ("ingest-secret-1", "query-secret-2", "wrong-secret-3"):
        assert secret not in text
