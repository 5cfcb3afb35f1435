"""`runlake serve` as a process: one port for ingest and query, and no token in its logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.helpers import events
from tests.helpers.servers import free_port, wait_until_up
from tests.helpers.tekton import fixture_object

RUNLAKE = Path(sys.executable).with_name("runlake")


def test_serve_ingests_and_answers_and_never_logs_a_token(tmp_path):
    port = free_port()
    (tmp_path / "store").mkdir()
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


def _serve_then_stop(store, signum) -> tuple[int | None, str]:
    """Start `runlake serve`, query it, signal its process group as a terminal's Ctrl-C (or
    a service manager's stop) does, and return its exit code and output; None as the code
    when it had not stopped within 10 s."""
    port = free_port()
    server = subprocess.Popen(
        [str(RUNLAKE), "serve", "--port", str(port), "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        answer = requests.post(
            f"http://127.0.0.1:{port}/v1/sql",
            json={"sql": "SELECT count(*) AS n FROM runs"},
            timeout=30,
        )
        assert answer.status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/v1/runs", timeout=30).status_code == 200
        os.killpg(server.pid, signum)
        try:
            output, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            return None, "did not stop within 10 s:\n" + server.communicate()[0]
        return server.returncode, output
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_stops_cleanly_after_answering_queries(tmp_path, signum):
    """gunicorn forks its worker from a process that imported duckdb; nothing of DuckDB may be
    inherited across the fork, or the worker dies by SIGABRT when it exits. A Ctrl-C reaches
    the worker twice (from the terminal, and as SIGQUIT from the arbiter), which deadlocked
    gunicorn's worker about one stop in five: several stops, each within 10 s."""
    store = tmp_path / "store"
    store.mkdir()
    for _ in range(4 if signum == signal.SIGINT else 1):
        code, output = _serve_then_stop(store, signum)
        assert code == 0, output
        for sign in ("SIGABRT", "SIGKILL", "terminate called", "Traceback", "KeyboardInterrupt"):
            assert sign not in output


def test_serve_refuses_a_store_that_does_not_exist(tmp_path):
    done = subprocess.run(
        [str(RUNLAKE), "serve", "--port", str(free_port()), "--store", str(tmp_path / "typo")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        f"runlake: no store at {tmp_path / 'typo'}: does not exist (see --store or RUNLAKE_STORE)\n"
    )


def test_serve_on_a_taken_port_is_one_line_naming_it(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(RUNLAKE), "serve", "--port", str(port), "--store", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr and "--port" in done.stderr
