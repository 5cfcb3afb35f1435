"""The ingest endpoints as a sender sees them: status codes, the error shape, tokens, limits."""

from __future__ import annotations

import gzip
import json
import threading

import pytest
import requests
from werkzeug.serving import make_server

from tests.helpers import events
from tests.helpers.apps import app_for, close_writer
from tests.helpers.tekton import fixture_object

TASKRUN = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
GOOD_BODY = json.dumps({"taskRun": TASKRUN}).encode()


def _assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "errors", "status"}
    assert body["status"] == status
    assert isinstance(body["error"], str) and "\n" not in body["error"]
    assert body["errors"] and all(isinstance(e, str) for e in body["errors"])
    return body


def test_events_binary_mode_answers_202_with_counts(local_client, local_store):
    response = local_client.post("/", headers=events.hand_binary(), data=GOOD_BODY)
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 1, "ignored": 0}
    assert len(local_store.list("inbox")) == 1


def test_events_other_types_are_ignored_not_stored(local_client, local_store):
    headers = events.hand_binary(**{"ce-type": "dev.tekton.event.pipeline.created.v1"})
    response = local_client.post("/v1/events", headers=headers, data=b'{"pipeline": {}}')
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 0, "ignored": 1}
    assert local_store.list("inbox") == []


def _without_uid() -> bytes:
    obj = json.loads(GOOD_BODY)
    del obj["taskRun"]["metadata"]["uid"]
    return json.dumps(obj).encode()


BAD_REQUESTS = {
    "not json": (events.hand_binary(), b"{not json", 400),
    "array where an object belongs": (events.hand_binary(), b"[]", 400),
    "missing ce-id": (events.hand_binary(**{"ce-id": None}), GOOD_BODY, 400),
    "missing ce-specversion": (events.hand_binary(**{"ce-specversion": None}), GOOD_BODY, 400),
    "body without metadata.uid": (events.hand_binary(), _without_uid(), 400),
    "wrong content type": ({"content-type": "text/plain"}, GOOD_BODY, 415),
    "structured body not an object": (
        {"content-type": "application/cloudevents+json"},
        b'"text"',
        400,
    ),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_events_bad_input_is_refused_in_the_error_shape_and_nothing_stored(
    case, local_client, local_store
):
    headers, body, status = BAD_REQUESTS[case]
    _assert_error(local_client.post("/", headers=headers, data=body), status)
    assert local_store.list("inbox") == []


def test_events_batch_with_bad_elements_lists_every_problem_and_stores_nothing(
    local_client, local_store
):
    good = events.cloud_event("TaskRun", "Succeeded", TASKRUN, "good-1")
    no_uid = json.loads(_without_uid())["taskRun"]
    bad = events.cloud_event("TaskRun", "Succeeded", no_uid, "bad-1")
    headers, body = events.batch([good, bad, bad])
    batch = json.loads(body)
    del batch[2]["id"]
    body = _assert_error(local_client.post("/", headers=headers, data=json.dumps(batch)), 400)
    assert len(body["errors"]) >= 2
    assert any("[1]" in e for e in body["errors"]) and any("[2]" in e for e in body["errors"])
    assert local_store.list("inbox") == []


@pytest.mark.parametrize("body", [b'"a string"', b"{not json", b'{"items": [{"kind": "TaskRun"}]}'])
def test_snapshots_bad_input_is_refused(body, local_client, local_store):
    _assert_error(
        local_client.post("/v1/snapshots", data=body, headers={"content-type": "application/json"}),
        400,
    )
    assert local_store.list("inbox") == []


def test_snapshots_accept_kubectl_list_output(local_client, local_store):
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [fixture_object("001_PipelineRun_ec-simple-build-pipelineref.json"), TASKRUN],
    }
    response = local_client.post("/v1/snapshots", json=listing)
    assert response.get_json() == {"accepted": 2, "ignored": 0}
    # A PipelineRun and a TaskRun, one request: one inbox object.
    assert len(local_store.list("inbox")) == 1


def test_events_body_over_the_limit_is_413_and_nothing_stored(local_store):
    app = app_for(local_store, RUNLAKE_MAX_BODY_BYTES="1024")
    client = app.test_client()
    padded = json.loads(GOOD_BODY)
    padded["taskRun"]["metadata"]["annotations"] = {"pad": "x" * 2048}
    _assert_error(
        client.post("/", headers=events.hand_binary(), data=json.dumps(padded).encode()), 413
    )
    # Without Content-Length (a chunked upload over real HTTP), the limit still holds.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    data = json.dumps(padded).encode()
    chunks = (data[i : i + 256] for i in range(0, len(data), 256))
    try:
        response = requests.post(
            f"http://127.0.0.1:{server.server_port}/",
            headers=events.hand_binary(),
            data=chunks,
            timeout=10,
        )
    finally:
        server.shutdown()
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert local_store.list("inbox") == []
    close_writer(app)


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic c2VjcmV0"])
def test_events_without_the_right_token_are_401(auth, local_store):
    app = app_for(local_store, RUNLAKE_INGEST_TOKENS="s3cret, other")
    client = app.test_client()
    headers = events.hand_binary()
    if auth:
        headers["Authorization"] = auth
    body = _assert_error(client.post("/", headers=headers, data=GOOD_BODY), 401)
    assert "s3cret" not in json.dumps(body)
    assert local_store.list("inbox") == []
    close_writer(app)


def test_events_token_as_bearer_or_query_parameter(local_store):
    app = app_for(local_store, RUNLAKE_INGEST_TOKENS="s3cret,other")
    client = app.test_client()
    bearer = {**events.hand_binary("a"), "Authorization": "Bearer other"}
    assert client.post("/", headers=bearer, data=GOOD_BODY).status_code == 202
    assert (
        client.post("/?token=s3cret", headers=events.hand_binary("b"), data=GOOD_BODY).status_code
        == 202
    )
    close_writer(app)


def test_health_ready_and_metrics(local_client):
    assert local_client.get("/healthz").get_json() == {"ok": True}
    ready = local_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["inbox"] == {
        "objects": 0,
        "bytes": 0,
        "oldest_age_seconds": 0.0,
        "materializer": "ok",
    }
    local_client.post("/", headers=events.hand_binary(), data=GOOD_BODY)
    metrics = local_client.get("/metrics").get_data(as_text=True)
    assert 'runlake_ingest_rows_total{outcome="accepted"} 1' in metrics
    assert "runlake_ingest_files_written_total 1" in metrics


def test_metrics_are_prometheus_text_counted_per_app(local_store):
    counted, other = app_for(local_store), app_for(local_store)
    client = counted.test_client()
    client.post("/", headers=events.hand_binary(), data=GOOD_BODY)
    client.post("/", headers=events.hand_binary(), data=b"{not json")
    response = client.get("/metrics")
    close_writer(counted)
    assert response.mimetype == "text/plain"
    samples = _samples(response.get_data(as_text=True))
    assert {name for name, _ in samples} == {
        "runlake_ingest_rows_total",
        "runlake_ingest_requests_total",
        "runlake_ingest_files_written_total",
        "runlake_ingest_flushes_total",
        "runlake_ingest_flush_seconds_total",
        "runlake_inbox_objects",
        "runlake_inbox_bytes",
        "runlake_inbox_oldest_age_seconds",
    }
    assert samples[("runlake_inbox_objects", ())] == 1  # the accepted event, not yet moved
    assert samples[("runlake_ingest_rows_total", (("outcome", "accepted"),))] == 1
    assert samples[("runlake_ingest_rows_total", (("outcome", "rejected"),))] == 1
    assert samples[("runlake_ingest_requests_total", (("status", "202"),))] == 1
    assert samples[("runlake_ingest_requests_total", (("status", "400"),))] == 1
    assert samples[("runlake_ingest_flushes_total", (("result", "ok"),))] == 1
    untouched = _samples(other.test_client().get("/metrics").get_data(as_text=True))
    assert untouched[("runlake_ingest_rows_total", (("outcome", "accepted"),))] == 0
    assert untouched[("runlake_ingest_files_written_total", ())] == 0
    assert not any(name == "runlake_ingest_requests_total" for name, _ in untouched)


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    """(name, labels) -> value, as a Prometheus scraper reads the exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_unknown_path_and_method_use_the_error_shape(local_client):
    _assert_error(local_client.get("/v1/nothing-here"), 404)
    _assert_error(local_client.get("/v1/events"), 405)


def test_events_gzip_bomb_is_not_inflated(local_client, local_store):
    bomb = gzip.compress(b"{" + b" " * (32 * 1024 * 1024) + b"}")
    headers = {**events.hand_binary(), "Content-Encoding": "gzip"}
    response = local_client.post("/", headers=headers, data=bomb)
    assert response.status_code == 415
    assert local_store.list("inbox") == []
