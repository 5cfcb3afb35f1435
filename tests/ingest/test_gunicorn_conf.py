"""gunicorn.conf.py serves ingest with gevent (group commit without a thread per waiting
request) and the query app with gthread threads (a DuckDB query holds its thread)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _worker_class(app: str, **env: str) -> str:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    printed = subprocess.run(
        [str(gunicorn), "-c", "gunicorn.conf.py", "--print-config", app],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in printed.splitlines() if line.startswith("worker_class "))
    return line.split("=", 1)[1].strip()


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ("ingest.app:create_app()", "gevent"),
        ('ingest.app:create_app({"RUNLAKE_FLUSH_MS": 50})', "gevent"),
        ("query.http.app:create_app()", "gthread"),
    ],
)
def test_gunicorn_conf_worker_class_per_app(app, expected):
    assert _worker_class(app) == expected


def test_gunicorn_conf_worker_class_overridden_by_setting():
    assert _worker_class("ingest.app:create_app()", RUNLAKE_WORKER_CLASS="gthread") == "gthread"
