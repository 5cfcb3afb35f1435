"""gunicorn.conf.py's worker class: gthread threads by default (requests must overlap for
group commit), RUNLAKE_WORKER_CLASS to choose another."""

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


@pytest.mark.parametrize("app", ["ingest.app:create_app()", "query.http.app:create_app()"])
def test_gunicorn_conf_worker_class_is_gthread(app):
    assert _worker_class(app) == "gthread"


def test_gunicorn_conf_worker_class_from_the_setting():
    assert _worker_class("ingest.app:create_app()", RUNLAKE_WORKER_CLASS="gevent") == "gevent"
