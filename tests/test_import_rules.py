"""The rooms' import rules (pyproject.toml's [tool.importlinter]) as `make lint` checks them:
the tree as it is keeps every contract, and a copy of it with one arrow added against a rule
fails, naming the contracts that arrow breaks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}

# path in the tree -> a line appended to it (a new file if it does not exist), and the ids of
# the contracts that this arrow breaks.
ARROWS = {
    "ingest imports query": ("ingest/events.py", "import query.engine", {"ingest-query"}),
    "query imports ingest": ("query/runs.py", "from ingest import writer", {"ingest-query"}),
    "a room imports the shell": ("ingest/ops.py", "import runlake.cli.common", {"shell"}),
    "layout imports flask": ("layout/arrow.py", "import flask", {"layout"}),
    "layout reads Tekton shapes": (
        "layout/retention.py",
        "from webhooks import status",
        {"layout"},
    ),
    "pure webhooks talk to kubernetes": (
        "webhooks/normalize.py",
        "import kubernetes",
        {"webhooks-pure"},
    ),
    "pure webhooks use the watcher": (
        "webhooks/status.py",
        "from webhooks.watcher import sink",
        {"webhooks-pure", "webhooks-layers"},
    ),
    "the watcher imports flask": ("webhooks/watcher/sink.py", "import flask", {"watcher"}),
    "the watcher writes to the store": (
        "webhooks/watcher/prune.py",
        "from layout.store import open_store",
        {"watcher"},
    ),
    "service knows the Tekton shapes": ("service/body.py", "import webhooks.status", {"service"}),
    "the query core imports flask": ("query/engine.py", "import flask", {"query-core"}),
    "the query core imports its HTTP layer": (
        "query/views.py",
        "import query.http.app",
        {"query-core", "query-layers"},
    ),
    "an unplaced module in webhooks": ("webhooks/extra.py", "import json", {"webhooks-layers"}),
}


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "200"  # rich wraps long contract names at 80
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _broken(output: str) -> set[str]:
    return {cid for cid, name in CONTRACTS.items() if f"{name} BROKEN" in output}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The rooms and pyproject.toml, copied: lint-imports reads the packages in its cwd."""
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    for room in CONFIG["root_packages"]:
        shutil.copytree(
            REPO / room, tmp_path / room, ignore=shutil.ignore_patterns("__pycache__", "static")
        )
    return tmp_path


def test_import_rules_the_tree_keeps_every_contract(tree):
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _broken(result.stdout) == set()
    assert all(f"{name} KEPT" in result.stdout for name in CONTRACTS.values())


@pytest.mark.parametrize("arrow", ARROWS, ids=list(ARROWS))
def test_import_rules_an_arrow_against_a_contract_fails_lint(tree, arrow):
    path, line, broken = ARROWS[arrow]
    module = tree / path
    text = module.read_text() if module.exists() else ""
    module.write_text(f"{text}\n{line}\n")
    result = _lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert _broken(result.stdout) == broken, result.stdout
