"""The S3 store goes away (the moto server stops) and comes back: senders get 503 with
Retry-After meanwhile, and what they resend afterwards is stored exactly once."""

from __future__ import annotations

import json

from tests.helpers import events
from tests.helpers.apps import app_for, close_writer, count
from tests.helpers.tekton import fixture_object

NAMES = [
    "001_PipelineRun_ec-simple-build-pipelineref.json",
    "029_TaskRun_konflux-succeeded-results-v1.json",
    "021_TaskRun_tep0137-cdevent-customdata-print-date-v1.json",
]


def _send(client, name: str, n: int):
    obj = fixture_object(name)
    body = {obj["kind"][0].lower() + obj["kind"][1:]: obj}
    headers = events.hand_binary(
        f"outage-{n}", **{"ce-type": f"dev.tekton.event.{obj['kind'].lower()}.successful.v1"}
    )
    return client.post("/", headers=headers, data=json.dumps(body))


def test_store_down_answers_503_then_resent_events_are_stored_once(moto_s3, s3_store):
    app = app_for(s3_store)
    client = app.test_client()
    assert _send(client, NAMES[0], 0).status_code == 202

    moto_s3.stop()
    try:
        for n, name in enumerate(NAMES):
            response = _send(client, name, n)
            assert response.status_code == 503
            assert int(response.headers["Retry-After"]) > 0
            assert response.get_json()["status"] == 503
        assert client.get("/readyz").status_code == 503
    finally:
        moto_s3.start()

    for n, name in enumerate(NAMES):  # the sender retries everything it was refused
        assert _send(client, name, n).status_code == 202
    assert client.get("/readyz").status_code == 200
    close_writer(app)
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'runlake_ingest_rows_total{outcome="failed"} 3' in metrics

    assert count(s3_store, "snapshots") == len(NAMES)
    assert count(s3_store, "runs") == len(NAMES)
