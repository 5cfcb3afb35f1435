"""gunicorn.conf.py's worker class: gevent for ingest and gthread threads for the query app
(requests must overlap for group commit; a DuckDB query holds its thread),
RUNLAKE_WORKER_CLASS to choose another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _worker_class(*args: str, **env: str) -> str:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    printed = subprocess.run(
        [str(gunicorn), "-c", "gunicorn.conf.py", "--print-config", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in printed.splitlines() if line.startswith("worker_class "))
    return line.split("=", 1)[1].strip()


@pytest.mark.parametrize(
    "args",
    [
        ["ingest.app:create_app()"],
        ["-w", "2", "-b", "127.0.0.1:8080", 'ingest.app:create_app({"RUNLAKE_FLUSH_MS": 50})'],
    ],
)
def test_gunicorn_conf_worker_class_for_ingest_is_gevent(args):
    assert _worker_class(*args) == "gevent"


def test_gunicorn_conf_worker_class_for_query_is_gthread():
    assert _worker_class("-b", "127.0.0.1:8081", "query.http.app:create_app()") == "gthread"


def test_gunicorn_conf_worker_class_from_the_setting():
    assert _worker_class("ingest.app:create_app()", RUNLAKE_WORKER_CLASS="gthread") == "gthread"
    assert _worker_class("query.http.app:create_app()", RUNLAKE_WORKER_CLASS="sync") == "sync"


def test_gunicorn_conf_worker_class_on_the_command_line_wins():
    assert _worker_class("-k", "gthread", "ingest.app:create_app()") == "gthread"
