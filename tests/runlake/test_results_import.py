"""`runlake import --from-results`: a real PostgreSQL (Debian's, started here on a free
loopback port) with Tekton Results' schema, today's and the older one, holding what Results'
watcher writes (bench/results_db.py): runs, Log records and their log files, an EventList.
Every run and log arrives; a record that cannot be read is named; a kill halfway and a
rerun leave every run archived once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import psycopg
import pytest
from click.testing import CliRunner

from bench import postgres, results_db
from layout.keys import log_key
from layout.logs import read_log
from layout.store import LocalStore
from query.engine import Engine
from query.http.app import create_app
from runlake.cli.main import main
from runlake.demo import demo_step_log, generate
from runlake.results_import import source_id
from tests.helpers import results_upstream as up

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    with postgres.running(shared_buffers="64MB") as pg:
        yield pg


_databases = iter(range(1000))


@pytest.fixture
def database(server):
    """A fresh database on the module's server: its URL and an open connection."""
    name = f"results_{next(_databases)}"
    with server.connect() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"postgres://postgres@127.0.0.1:{server.port}/{name}"
    with psycopg.connect(url, autocommit=True) as con:
        yield url, con


def step_logs(obj: dict) -> dict[str, str] | None:
    if obj["metadata"]["uid"] == up.TR:
        return {up.STEP: up.STEP_TEXT}
    texts = {s["name"]: demo_step_log(obj, s["name"]) for s in obj["status"].get("steps") or []}
    return {name: text for name, text in texts.items() if text} or None


def history(runs: int = 60) -> list[dict]:
    return [up.pipeline_run(), up.task_run(), up.solo_task_run(), *generate(runs, seed=3)]


def run_import(url: str, store: LocalStore, *args: str):
    return CliRunner().invoke(
        main,
        ["import", "--from-results", url, "--store", store.root, *args],
        catch_exceptions=False,
    )


def archived(store: LocalStore) -> dict[str, dict]:
    engine = Engine(store)
    try:
        rows = engine.query('SELECT uid, "object" FROM runs')
        snapshots = engine.query("SELECT count(*) AS n FROM snapshots")[0]["n"]
    finally:
        engine.close()
    assert snapshots == len(rows)  # every run once, however often it was written
    return {row["uid"]: json.loads(row["object"]) for row in rows}


@pytest.mark.parametrize("old_schema", [False, True], ids=["timestamptz", "timestamp"])
def test_results_import_moves_every_run_and_log(database, tmp_path, old_schema):
    url, con = database
    objects = history()
    logs_dir = tmp_path / "results-logs"
    written = results_db.load(con, objects, old_schema, logs_dir=logs_dir, step_logs=step_logs)
    writer = results_db.Writer(con, results=written.results)
    writer.add_row(
        up.NAMESPACE, up.PR, "eventlist-1", "results.tekton.dev/v1.EventList", {"items": []}
    )
    writer.flush()
    store = LocalStore(str(tmp_path / "store"))

    result = run_import(url, store, "--logs", str(logs_dir), "--batch", "7")

    assert result.exit_code == 0, result.output
    logged = [o for o in objects if o["kind"] == "TaskRun" and o["status"].get("completionTime")]
    logged = [o for o in logged if step_logs(o)]
    assert f"imported {len(objects)} runs and {len(logged)} logs" in result.output
    assert "1 results.tekton.dev/v1.EventList" in result.output
    assert archived(store) == {o["metadata"]["uid"]: o for o in objects}
    for obj in logged:
        for step, text in step_logs(obj).items():
            key = log_key(obj["metadata"]["namespace"], obj["metadata"]["uid"], step)
            stored = b"".join(read_log(store, key)).decode()
            assert stored == (text if text.endswith("\n") else text + "\n"), key
    # What runlake's Results API serves is what Results served, byte for byte.
    client = create_app({"RUNLAKE_STORE": store.root}).test_client()
    base = "/apis/results.tekton.dev/v1alpha2/parents/default/results"
    for uid, log_file in ((up.TR, "/hello-hello-log"), (up.PR, "/hello-log")):
        served = client.get(f"{base}/{up.PR}/logs/{uid}").get_data(as_text=True)
        assert served == next(t for p, t in written.logs.items() if p.endswith(log_file))


def test_results_import_names_each_record_it_cannot_read(database, tmp_path):
    url, con = database
    logs_dir = tmp_path / "results-logs"
    written = results_db.load(con, history(20), logs_dir=logs_dir, step_logs=step_logs)
    writer = results_db.Writer(con, results=written.results)
    writer.add_row(
        "default",
        "r1",
        "no-uid",
        "tekton.dev/v1.TaskRun",
        {
            "kind": "TaskRun",
            "apiVersion": "tekton.dev/v1",
            "metadata": {"name": "x", "namespace": "default"},
        },
    )
    writer.add_row(
        "default", "r2", "a-string", "tekton.dev/v1.PipelineRun", json.dumps("just text")
    )
    writer.flush()
    missing = next(p for p in written.logs if p.endswith("/hello-hello-log"))
    (logs_dir / missing).unlink()
    store = LocalStore(str(tmp_path / "store"))

    result = CliRunner().invoke(
        main, ["import", "--from-results", url, "--store", store.root, "--logs", str(logs_dir)]
    )

    assert result.exit_code == 1
    errors = result.stderr
    assert "cannot import default/results/r1/records/no-uid: metadata.uid is missing" in errors
    assert "cannot import default/results/r2/records/a-string:" in errors
    log_name = f"default/results/{up.PR}/records/"
    assert any(log_name in line and "log not found" in line for line in errors.splitlines())
    assert "3 records could not be imported" in errors
    assert len(archived(store)) == 23  # every readable run


def test_results_import_rerun_is_idempotent(database, tmp_path):
    url, con = database
    objects = history(30)
    results_db.load(con, objects, logs_dir=tmp_path / "l", step_logs=step_logs)
    store = LocalStore(str(tmp_path / "store"))
    assert run_import(url, store, "--logs", str(tmp_path / "l")).exit_code == 0
    first = archived(store)

    again = run_import(url, store, "--logs", str(tmp_path / "l"))
    assert again.exit_code == 0
    assert (
        f"resumed after {len(objects) + 28} records; imported {len(objects)} runs" in again.output
    )
    from_start = run_import(url, store, "--logs", str(tmp_path / "l"), "--from-start")
    assert from_start.exit_code == 0 and f"imported {len(objects)} runs" in from_start.output
    assert archived(store) == first  # the same snapshots: nothing twice


def test_results_import_killed_halfway_resumes(database, tmp_path):
    url, con = database
    objects = list(generate(2500, seed=5))
    results_db.load(con, objects)
    store = LocalStore(str(tmp_path / "store"))
    checkpoint = Path(store.root) / f"_runlake/imports/{source_id(url)}.json"
    command = [
        sys.executable,
        "-m",
        "runlake.cli.main",
        "import",
        "--from-results",
        url,
        "--store",
        store.root,
        "--batch",
        "20",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if checkpoint.exists() and json.loads(checkpoint.read_text())["read"] >= 400:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the import finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    partial = archived(store)
    assert 400 <= len(partial) < len(objects)

    result = run_import(url, store, "--batch", "500")

    assert result.exit_code == 0, result.output
    assert archived(store) == {o["metadata"]["uid"]: o for o in objects}
    done = json.loads(checkpoint.read_text())
    assert done["read"] == len(objects) and done["runs"] == len(objects) and not done["failures"]


def test_results_import_logs_from_s3(database, tmp_path, moto_s3):
    url, con = database
    objects = history(20)
    written = results_db.load(con, objects, log_type="S3", step_logs=step_logs)
    s3 = boto3.client("s3", endpoint_url=moto_s3.endpoint)
    s3.create_bucket(Bucket="results-logs")
    for path, text in written.logs.items():  # Results' key: LOGS_PATH joined with the path
        s3.put_object(Bucket="results-logs", Key=f"/logs/{path}", Body=text.encode())
    store = LocalStore(str(tmp_path / "store"))

    result = run_import(
        url, store, "--logs", "s3://results-logs/logs", "--logs-s3-endpoint", moto_s3.endpoint
    )

    assert result.exit_code == 0, result.output
    stored = b"".join(read_log(store, log_key(up.NAMESPACE, up.TR, up.STEP))).decode()
    assert stored == up.STEP_TEXT + "\n"


def test_results_import_refuses_a_database_that_is_not_results(database, tmp_path):
    url, con = database
    con.execute("CREATE TABLE records (id text)")
    result = CliRunner().invoke(
        main, ["import", "--from-results", url, "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 1
    assert "not a Tekton Results database: records has no parent" in result.stderr
    unreachable = CliRunner().invoke(
        main,
        [
            "import",
            "--from-results",
            "postgres://postgres@127.0.0.1:1/x",
            "--store",
            str(tmp_path / "s"),
        ],
    )
    assert unreachable.exit_code == 1 and unreachable.stderr.startswith(
        "runlake: the Results database"
    )
