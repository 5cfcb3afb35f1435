import copy
import json
from datetime import UTC, datetime

import pytest

from tests.helpers.tekton import fixture_files, load_fixture
from webhooks.errors import InvalidInput, UnsupportedMediaType
from webhooks.snapshots import objects_to_rows, snapshot_event_id, snapshots_to_rows

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
TASKRUN = load_fixture("006_TaskRun_ec-nodejs-git-clone.json")
PIPELINERUN = load_fixture("003_PipelineRun_ec-nodejs-builder-v1beta1-taskruns-map.json")
JSON = {"Content-Type": "application/json"}


def without_uid(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    del obj["metadata"]["uid"]
    return obj


def problems(document) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        objects_to_rows(document, NOW, source="import")
    return caught.value.errors


def test_snapshots_event_id_is_a_stable_content_hash():
    reordered = dict(reversed(list(TASKRUN.items())))
    changed = copy.deepcopy(TASKRUN)
    changed["metadata"]["resourceVersion"] = "999"
    event_id = snapshot_event_id(TASKRUN)
    assert len(event_id) == 32 and int(event_id, 16) >= 0
    assert snapshot_event_id(copy.deepcopy(TASKRUN)) == event_id
    assert snapshot_event_id(reordered) == event_id
    assert snapshot_event_id(changed) != event_id


def test_snapshots_single_object():
    (row,) = objects_to_rows(TASKRUN, NOW, source="watcher")
    assert (row["kind"], row["source"], row["event_type"]) == ("TaskRun", "watcher", None)
    assert row["event_id"] == snapshot_event_id(TASKRUN)


def test_snapshots_kubectl_list_mixes_kinds():
    document = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [PIPELINERUN, TASKRUN],
    }
    rows = objects_to_rows(document, NOW, source="import")
    assert [row["kind"] for row in rows] == ["PipelineRun", "TaskRun"]
    assert {row["source"] for row in rows} == {"import"}


def test_snapshots_every_fixture_in_one_list():
    items = [load_fixture(path.name) for path in fixture_files()]
    rows = objects_to_rows({"kind": "List", "items": items}, NOW, source="import")
    assert len(rows) == len(items)
    assert len({row["event_id"] for row in rows}) == len(items)


def test_snapshots_bare_array():
    rows = objects_to_rows([TASKRUN, PIPELINERUN], NOW, source="import")
    assert [row["kind"] for row in rows] == ["TaskRun", "PipelineRun"]


def test_snapshots_cloudevent_body_wrapper():
    document = load_fixture("017_CloudEventBody_events-md-taskrun-pending.json")
    (row,) = objects_to_rows(document, NOW, source="import")
    assert (row["kind"], row["api_version"], row["status"]) == (
        "TaskRun",
        "tekton.dev/v1beta1",
        "Pending",
    )
    assert json.loads(row["object"]) == document["taskRun"]
    assert row["event_id"] == snapshot_event_id(document["taskRun"])


def test_snapshots_empty_items():
    assert objects_to_rows({"kind": "List", "items": []}, NOW, source="import") == []
    assert objects_to_rows([], NOW, source="import") == []


def test_snapshots_one_bad_item_stores_nothing():
    assert problems({"items": [TASKRUN, without_uid(PIPELINERUN)]}) == [
        "items[1]: metadata.uid is missing"
    ]


def test_snapshots_every_bad_item_is_listed():
    assert problems([without_uid(TASKRUN), TASKRUN, "x", without_uid(PIPELINERUN)]) == [
        "items[0]: metadata.uid is missing",
        "items[2]: is a string, not an object",
        "items[3]: metadata.uid is missing",
    ]


def test_snapshots_bad_documents():
    assert problems({"items": {"a": 1}}) == ["items is an object, not an array"]
    assert problems("TaskRun") == ["the body must be a JSON object or array, not a string"]
    assert problems(without_uid(TASKRUN)) == ["metadata.uid is missing"]


def test_snapshots_request_rows():
    body = json.dumps({"items": [TASKRUN]}).encode()
    for headers in (JSON, {}, {"content-type": "application/json; charset=utf-8"}):
        (row,) = snapshots_to_rows(headers, body, NOW)
        assert row["source"] == "watcher"
    (row,) = snapshots_to_rows(JSON, body, NOW, source="import")
    assert row["source"] == "import"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_snapshots_request_wrong_content_type_is_415(content_type):
    with pytest.raises(UnsupportedMediaType) as caught:
        snapshots_to_rows({"Content-Type": content_type}, json.dumps(TASKRUN).encode(), NOW)
    assert caught.value.status == 415


def test_snapshots_request_bad_json():
    with pytest.raises(InvalidInput) as caught:
        snapshots_to_rows(JSON, b"{nope", NOW)
    assert caught.value.errors[0].startswith("body is not valid JSON")
    with pytest.raises(InvalidInput) as caught:
        snapshots_to_rows(JSON, b"42", NOW)
    assert caught.value.errors == ["the body must be a JSON object or array, not a number"]
