"""`runlake` as a user runs it: import, demo and sql against a store, with honest exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from runlake.cli.main import main
from tests.helpers.tekton import fixture_index, fixture_object

RUNLAKE = Path(sys.executable).with_name("runlake")


def _run(*args: str, store: Path, stdin: str | None = None):
    runner = CliRunner()
    return runner.invoke(
        main, [*args], input=stdin, env={"RUNLAKE_STORE": str(store)}, catch_exceptions=False
    )


def _kubectl_list(names: list[str]) -> str:
    return json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": [fixture_object(n) for n in names]}
    )


def test_cli_import_then_sql_shows_the_runs(tmp_path):
    names = [
        "001_PipelineRun_ec-simple-build-pipelineref.json",
        "009_TaskRun_lighthouse-failed-step-exit2-v1.json",
    ]
    result = _run("import", "-", store=tmp_path, stdin=_kubectl_list(names))
    assert result.exit_code == 0, result.output
    assert "imported 2 snapshots" in result.output

    result = _run(
        "sql",
        "SELECT name, status, source FROM runs ORDER BY name",
        "--format",
        "csv",
        store=tmp_path,
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows == [
        ["name", "status", "source"],
        ["jenkins-x-charts-jx-build-templ-wbbx6-7-from-build-pack-zjcjs", "Failed", "import"],
        ["simple-build-run-dvjin", "Succeeded", "import"],
    ]


def test_cli_import_every_fixture_as_yaml_json_formats(tmp_path):
    import yaml

    names = list(fixture_index())
    text = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "List", "items": [fixture_object(n) for n in names]}
    )
    assert _run("import", "-", store=tmp_path, stdin=text).exit_code == 0
    result = _run("sql", "SELECT count(*) AS n FROM snapshots", "--format", "json", store=tmp_path)
    assert json.loads(result.output) == [{"n": len(names)}]


def test_cli_import_one_bad_item_stores_nothing_and_exits_1(tmp_path):
    listing = json.loads(_kubectl_list(["001_PipelineRun_ec-simple-build-pipelineref.json"]))
    listing["items"].append({"kind": "TaskRun", "metadata": {"name": "no-uid"}})
    result = _run("import", "-", store=tmp_path, stdin=json.dumps(listing))
    assert result.exit_code == 1
    assert "uid" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "inbox").exists()


def test_cli_demo_writes_the_requested_number_of_runs_once(tmp_path):
    result = _run("demo", "--runs", "60", store=tmp_path)
    assert result.exit_code == 0, result.output
    result = _run(
        "sql",
        "SELECT count(*) AS n, count(DISTINCT namespace) > 1 AS spread,"
        " count(DISTINCT status) >= 3 AS varied FROM runs",
        "--format",
        "json",
        store=tmp_path,
    )
    assert json.loads(result.output) == [{"n": 60, "spread": True, "varied": True}]
    again = _run("demo", "--if-empty", store=tmp_path)
    assert "already holds runs" in again.output


def test_cli_sql_table_format_is_aligned_text(tmp_path):
    _run("demo", "--runs", "20", store=tmp_path)
    result = _run(
        "sql", "SELECT kind, count(*) AS n FROM runs GROUP BY kind ORDER BY kind", store=tmp_path
    )
    assert result.exit_code == 0
    assert "kind" in result.output and "PipelineRun" in result.output


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["sql", "DROP VIEW runs"], 1, "runlake:"),
        (["sql", "SELECT * FROM read_csv('/etc/passwd')"], 1, "runlake:"),
        (["sql"], 2, "Missing argument"),
        (["sql", "SELECT 1", "--format", "xml"], 2, "Invalid value"),
        (["import", "/does/not/exist.json"], 2, "No such file"),
    ],
)
def test_cli_failures_exit_with_one_line_and_no_traceback(tmp_path, args, code, message):
    process = subprocess.run(
        [str(RUNLAKE), *args],
        capture_output=True,
        text=True,
        env={"RUNLAKE_STORE": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert process.returncode == code, process.stderr
    assert message in process.stderr
    assert "Traceback" not in process.stderr


def test_cli_store_unreachable_exits_1(tmp_path):
    process = subprocess.run(
        [
            str(RUNLAKE),
            "sql",
            "SELECT count(*) FROM runs",
            "--store",
            "s3://nowhere/x",
            "--s3-endpoint",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "y",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert process.returncode == 1, process.stderr
    assert process.stderr.count("\n") == 1 and "Traceback" not in process.stderr


def test_cli_import_files_runs_under_the_given_cluster(tmp_path):
    from layout.store import LocalStore
    from tests.helpers.apps import runs

    store = tmp_path / "store"
    kubectl = _kubectl_list(["029_TaskRun_konflux-succeeded-results-v1.json"])
    imported = _run("import", "-", "--cluster", "prod-eu", store=store, stdin=kubectl)
    assert imported.exit_code == 0, imported.output
    assert [r["cluster"] for r in runs(LocalStore(str(store)), "cluster")] == ["prod-eu"]
    bad = CliRunner().invoke(
        main,
        ["import", "-", "--cluster", "Prod EU"],
        input=kubectl,
        env={"RUNLAKE_STORE": str(store)},
    )
    assert bad.exit_code == 1 and "RUNLAKE_CLUSTER" in bad.stderr
