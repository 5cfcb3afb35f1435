"""The real Tekton runs in ../shared/fixtures/tekton/ (DESIGN: use them as they are), and the
curator's INDEX.md that says what each one is."""

from __future__ import annotations

import json
import os
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "tekton"
if not FIXTURES.is_dir():  # CI clones beside a copy of shared/
    FIXTURES = Path(os.environ.get("RUNLAKE_FIXTURES", "../shared/fixtures/tekton")).resolve()


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def fixture_index() -> dict[str, dict[str, str]]:
    """INDEX.md's table: file -> {kind, apiVersion, status, reason, ...} as the fixtures'
    curator wrote them, so expectations come from the fixtures, not from our code."""
    rows = {}
    lines = (FIXTURES / "INDEX.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| file |"))
    names = [c.strip() for c in header.strip("|").split("|")]
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(names) and cells[0].endswith(".json"):
            row = dict(zip(names, cells, strict=True))
            row["kind"] = row["kind"].split(" ")[0]  # "TaskRun (CloudEvent body)"
            rows[row["file"]] = row
    return rows


def fixture_object(name: str) -> dict:
    """The Kubernetes object of a fixture (CloudEvent bodies unwrapped)."""
    data = load_fixture(name)
    for key in ("taskRun", "pipelineRun", "customRun"):
        if set(data) == {key}:
            return data[key]
    return data
