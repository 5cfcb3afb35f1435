"""`runlake` as a user runs it: import, demo and sql against a store, with honest exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from runlake.cli.main import main
from tests.helpers.makefile import demo_event
from tests.helpers.tekton import fixture_index, fixture_object
from tests.helpers.terminal import RUNLAKE, environment, in_terminal, runlake

REPO = Path(__file__).resolve().parents[2]


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


# ------------------------------------------------- as a person runs it: the entry point


def test_cli_sql_prints_brackets_verbatim_in_every_format(archive):
    env = environment(archive.store.root)
    query = "SELECT 'a [/] b' AS text, '[bold]x[/bold]' AS markup"
    shown = in_terminal("sql", query, env=env)
    assert shown.code == 0 and "Traceback" not in shown.text, shown.text
    assert shown.lines[1].split("   ") == ["a [/] b", "[bold]x[/bold]"]
    for fmt, expected in (("json", '"a [/] b"'), ("csv", "a [/] b,[bold]x[/bold]")):
        done = runlake("sql", query, "--format", fmt, env=env)
        assert done.returncode == 0 and expected in done.stdout


def test_cli_sql_table_of_whole_objects_has_no_line_of_thousands(archive):
    env = environment(archive.store.root)
    query = "SELECT uid, object FROM runs ORDER BY length(object) DESC LIMIT 3"
    shown = in_terminal("sql", query, env=env)
    assert shown.code == 0
    assert max(len(line) for line in shown.lines) < 200
    assert "cut at 80 characters" in shown.text and "--format json" in shown.text
    whole = runlake("sql", query, "--format", "json", env=env)
    assert min(len(row["object"]) for row in json.loads(whole.stdout)) > 3000


def test_cli_version():
    done = runlake("--version")
    assert done.returncode == 0 and re.fullmatch(r"runlake \d+\.\d+\.\d+\n", done.stdout)


def test_cli_help_and_version_load_no_query_engine():
    # `runlake --help` and `--version` answer at once: DuckDB and botocore load only for a
    # command that reads the store.
    probe = (
        "import sys; from runlake.cli.main import main; "
        "print(sorted(m for m in ('duckdb', 'botocore') if m in sys.modules))"
    )
    done = subprocess.run(
        [str(RUNLAKE.with_name("python")), "-c", probe], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def _options_without_help(help_text: str) -> list[str]:
    """Options in click's help listing (`  --name TEXT  what it does`) that say nothing."""
    body = help_text.split("Options:\n", 1)[1].splitlines()
    bare = []
    for n, line in enumerate(body):
        entry = re.match(r"  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if not entry or line.startswith("   "):
            continue
        explained = entry.group(2) or (
            n + 1 < len(body) and body[n + 1].startswith("     ") and body[n + 1].strip()
        )
        if not explained:
            bare.append(entry.group(1))
    return bare


def test_cli_every_flag_of_every_command_has_help():
    listing = runlake("--help").stdout
    commands = re.findall(r"^  ([a-z]+)\s", listing.split("Commands:\n", 1)[1], re.M)
    assert {"runs", "get", "logs", "summary", "sql", "serve", "watch"} <= set(commands)
    bare = {}
    for command in commands:
        text = runlake(command, "--help").stdout
        if missing := _options_without_help(text):
            bare[command] = missing
    assert bare == {}


READ_COMMANDS = [
    ["runs"],
    ["get", "some-run"],
    ["logs", "some-run"],
    ["summary", "--group-by", "status"],
    ["sql", "SELECT count(*) FROM runs"],
    ["compact"],
    ["serve", "--port", "0"],
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: a[0])
def test_cli_a_store_that_does_not_exist_is_one_line_not_an_empty_answer(tmp_path, args):
    done = runlake(*args, env=environment(tmp_path / "typo"), timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        f"runlake: no store at {tmp_path / 'typo'}: does not exist (see --store or RUNLAKE_STORE)\n"
    )
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: a[0])
def test_cli_a_store_that_is_a_file_is_one_line(tmp_path, args):
    (tmp_path / "file").write_text("not a store\n")
    done = runlake(*args, env=environment(tmp_path / "file"), timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "is not a directory" in done.stderr


def _readme_examples() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("These find runs in `make run`'s demo history:", 1)[1]
    block = block.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("example", _readme_examples())
def test_cli_readme_examples_find_runs_in_make_runs_demo(archive, example):
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", example],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment(archive.store.root),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and "no runs" not in done.stderr


def _tekton_event_type(body: dict) -> str:
    """The type Tekton's events controller sends for a run's state (pkg/reconciler/events/
    cloudevent: getEventType): the Succeeded condition's status, and for Unknown its reason."""
    ((key, run),) = body.items()
    kind = key.lower()
    condition = next(c for c in run["status"]["conditions"] if c["type"] == "Succeeded")
    state = {"True": "successful", "False": "failed"}.get(condition["status"])
    if state is None:
        state = {"Started": "started", "Running": "running"}.get(condition.get("reason"), "unknown")
    return f"dev.tekton.event.{kind}.{state}.v1"


def test_cli_make_runs_demo_event_has_the_type_its_body_says():
    headers, body = demo_event()
    assert headers["ce-type"] == _tekton_event_type(json.loads(body.read_text()))


def test_cli_make_run_on_a_taken_port_says_which_and_how_to_pick_another(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            ["make", "-s", "run", f"PORT={port}", f"STORE={tmp_path / 'store'}"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**environment(), "MAKEFLAGS": ""},
            timeout=120,
        )
    assert done.returncode != 0
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr
    assert f"make run PORT={port + 1}" in done.stderr
    assert "Traceback" not in done.stderr and "Connection in use" not in done.stderr
