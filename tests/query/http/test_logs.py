"""GET /v1/runs/<uid>/logs, `runlake logs`, and the `logs` view, over logs PUT by ingest."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from ingest.archive import import_objects
from layout.logs import write_log
from query.engine import Engine, SqlRefused
from runlake.cli.main import main
from runlake.demo import demo_step_log, generate
from tests.helpers.apps import finished_taskruns, query_client


def _store_log(store, obj: dict, step: str, text: bytes) -> None:
    write_log(
        store, obj["metadata"]["namespace"], obj["metadata"]["uid"], step, io.BytesIO(text).read
    )


@pytest.fixture
def archived(local_store):
    """A finished TaskRun with steps [a, b], both logs stored (b's without a final newline)."""
    obj = finished_taskruns()[0]
    import_objects(local_store, [obj])
    first, second = (step["name"] for step in obj["status"]["steps"])
    # Stored in reverse order and with an extra (sidecar) log: order comes from the run.
    _store_log(local_store, obj, "zz-sidecar", b"sidecar\n")
    _store_log(local_store, obj, second, "ünïcode \x1b[31mred\x1b[0m".encode())
    _store_log(local_store, obj, first, b"one\ntwo\n")
    return local_store, obj, first, second


def test_logs_api_all_steps_in_step_order_under_headers(archived):
    store, obj, first, second = archived
    response = query_client(store).get(f"/v1/runs/{obj['metadata']['uid']}/logs")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data() == (
        f"==> {first} <==\none\ntwo\n\n==> {second} <==\n".encode()
        + "ünïcode \x1b[31mred\x1b[0m\n".encode()
        + b"\n==> zz-sidecar <==\nsidecar\n"
    )


def test_logs_api_one_step_byte_for_byte(archived):
    store, obj, _, second = archived
    response = query_client(store).get(f"/v1/runs/{obj['metadata']['uid']}/logs?step={second}")
    assert response.get_data() == "ünïcode \x1b[31mred\x1b[0m".encode()


@pytest.mark.parametrize(
    "path",
    ["/v1/runs/no-such-run/logs", "/v1/runs/NOT_A_UID/logs", "/v1/runs/{uid}/logs?step=nope"],
)
def test_logs_api_unknown_run_or_step_is_404(archived, path):
    store, obj, _, _ = archived
    response = query_client(store).get(path.format(uid=obj["metadata"]["uid"]))
    assert response.status_code == 404
    assert set(response.get_json()) == {"error", "errors", "status"}


def test_logs_api_run_without_logs_is_404(local_store):
    obj = finished_taskruns()[0]
    import_objects(local_store, [obj])
    assert (
        query_client(local_store).get(f"/v1/runs/{obj['metadata']['uid']}/logs").status_code == 404
    )


def test_logs_api_confined_to_the_tokens_namespaces(archived):
    store, obj, first, _ = archived
    namespace = obj["metadata"]["namespace"]
    client = query_client(store, RUNLAKE_QUERY_TOKENS=f"mine={namespace};theirs=elsewhere")
    url = f"/v1/runs/{obj['metadata']['uid']}/logs"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer mine"}).status_code == 200
    other = client.get(url + f"?step={first}", headers={"Authorization": "Bearer theirs"})
    unknown = client.get("/v1/runs/no-such-run/logs", headers={"Authorization": "Bearer theirs"})
    assert other.status_code == 404 and other.get_json()["errors"] == [
        f"no run with uid {obj['metadata']['uid']!r}"
    ]
    assert unknown.get_json()["error"] == other.get_json()["error"]


def test_logs_api_store_down_is_503(moto_s3, s3_store):
    obj = finished_taskruns()[0]
    import_objects(s3_store, [obj])
    _store_log(s3_store, obj, "build", b"text\n")
    client = query_client(s3_store)
    url = f"/v1/runs/{obj['metadata']['uid']}/logs"
    assert client.get(url).status_code == 200
    moto_s3.stop()
    try:
        response = client.get(url)
    finally:
        moto_s3.start()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["status"] == 503


def test_logs_api_pipelinerun_concatenates_its_taskruns(local_store):
    objects = list(generate(40, seed=3))
    pipeline_run = next(
        o for o in objects if o["kind"] == "PipelineRun" and o["status"].get("completionTime")
    )
    children = [
        o
        for o in objects
        if o["kind"] == "TaskRun"
        and o["metadata"].get("labels", {}).get("tekton.dev/pipelineRun")
        == pipeline_run["metadata"]["name"]
    ]
    import_objects(local_store, [pipeline_run, *children])
    expected = b""
    ordered = sorted(children, key=lambda c: (c["status"]["startTime"], c["metadata"]["name"]))
    for child in ordered:
        for step in child["status"]["steps"]:
            text = demo_step_log(child, step["name"]).encode()
            _store_log(local_store, child, step["name"], text)
            label = f"{child['metadata']['name']}/{step['name']}"
            expected += (b"\n" if expected else b"") + f"==> {label} <==\n".encode() + text
            expected += b"" if text.endswith(b"\n") else b"\n"
    client = query_client(local_store)
    url = f"/v1/runs/{pipeline_run['metadata']['uid']}/logs"
    assert client.get(url).get_data() == expected
    child, step = ordered[0], ordered[0]["status"]["steps"][0]["name"]
    one = client.get(url, query_string={"step": f"{child['metadata']['name']}/{step}"})
    assert one.get_data() == demo_step_log(child, step).encode()


def test_logs_view_marks_missing_logs_of_finished_taskruns_unavailable(local_store):
    done = finished_taskruns()[0]
    running = next(
        o
        for o in generate(60, seed=11)
        if o["kind"] == "TaskRun"
        and not o["status"].get("completionTime")
        and o["status"].get("steps")
    )
    import_objects(local_store, [done, running])
    first, second = (step["name"] for step in done["status"]["steps"])
    _store_log(local_store, done, first, b"12345")
    _store_log(local_store, {"metadata": {"namespace": "ci", "uid": "forgotten"}}, "x", b"gone")
    engine = Engine(local_store)
    result = engine.sql(
        "SELECT uid, namespace, step, size_bytes, key, available FROM logs ORDER BY available DESC"
    )
    uid, namespace = done["metadata"]["uid"], done["metadata"]["namespace"]
    assert result.rows == [
        [uid, namespace, first, 5, f"logs/{namespace}/{uid}/{first}.log.gz", True],
        [uid, namespace, second, None, None, False],
    ]  # the running TaskRun has none yet; a log of no known run is not listed
    _store_log(local_store, done, second, b"")  # arrives later: the next query sees it
    assert engine.sql("SELECT count(*) FROM logs WHERE available").rows == [[2]]
    with pytest.raises(SqlRefused):
        engine.sql("SELECT * FROM _log_objects")


def test_logs_view_through_post_sql(archived):
    store, obj, _, _ = archived
    response = query_client(store).post(
        "/v1/sql", json={"sql": "SELECT step, size_bytes FROM logs WHERE available ORDER BY step"}
    )
    assert response.status_code == 200, response.get_json()
    assert [row[0] for row in response.get_json()["rows"]] == sorted(
        [s["name"] for s in obj["status"]["steps"]] + ["zz-sidecar"]
    )


def _cli(store, *args):
    return CliRunner().invoke(main, ["logs", *args], env={"RUNLAKE_STORE": store.root})


def test_logs_cli_prints_what_the_api_serves(archived):
    store, obj, first, second = archived
    uid = obj["metadata"]["uid"]
    everything = _cli(store, uid)
    assert everything.exit_code == 0, everything.output
    assert everything.stdout_bytes == query_client(store).get(f"/v1/runs/{uid}/logs").get_data()
    one = _cli(store, uid, "--step", second)
    assert one.exit_code == 0 and one.stdout_bytes == "ünïcode \x1b[31mred\x1b[0m".encode()


@pytest.mark.parametrize("args", [["no-such-run"], ["{uid}", "--step", "nope"]])
def test_logs_cli_unknown_exits_1_with_one_line(archived, args):
    store, obj, _, _ = archived
    result = _cli(store, *[a.format(uid=obj["metadata"]["uid"]) for a in args])
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
