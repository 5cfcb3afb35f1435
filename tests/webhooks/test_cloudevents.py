import base64
import json
from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from tests.helpers.tekton import load_fixture
from webhooks.cloudevents import RUN_EVENT_TYPES, TektonEvent, decode, events_to_rows
from webhooks.errors import InvalidInput, UnsupportedMediaType

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
# Tekton's events controller really sends sources like this (not a valid URI-reference).
TEKTON_SOURCE = "/apis///namespaces/default//curl-run-6gplk"
TASKRUN_TYPE = "dev.tekton.event.taskrun.successful.v1"
PIPELINERUN_TYPE = "dev.tekton.event.pipelinerun.failed.v1"
STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}

TASKRUN = load_fixture("004_TaskRun_ec-nodejs-build-container.json")
PIPELINERUN = load_fixture("008_PipelineRun_lighthouse-failed-single-v1beta1.json")


def sdk_event(event_id="ev-1", type_=TASKRUN_TYPE, data=None, **attributes) -> CloudEvent:
    attrs = {
        "id": event_id,
        "type": type_,
        "source": TEKTON_SOURCE,
        "specversion": "1.0",
        "time": datetime(2025, 1, 2, 3, 4, 0, tzinfo=UTC),
        "datacontenttype": "application/json",
        **attributes,
    }
    return CloudEvent(attributes=attrs, data={"taskRun": TASKRUN} if data is None else data)


def binary(event: CloudEvent) -> tuple[dict, bytes]:
    message = to_binary(event, JSONFormat())
    return dict(message.headers), message.body


def structured(event: CloudEvent) -> tuple[dict, bytes]:
    message = to_structured(event, JSONFormat())
    return dict(message.headers), message.body


def batch_body(*elements) -> bytes:
    return json.dumps(list(elements)).encode()


def by_hand(event_id="ev-1", type_=TASKRUN_TYPE, data=None, **extra) -> dict:
    element = {
        "specversion": "1.0",
        "id": event_id,
        "type": type_,
        "source": TEKTON_SOURCE,
        "time": "2025-01-02T03:04:00Z",
        "datacontenttype": "application/json",
        "data": {"taskRun": TASKRUN} if data is None else data,
        **extra,
    }
    return {key: value for key, value in element.items() if value is not ...}


def hand_headers(**overrides) -> dict:
    headers = {
        "Ce-Specversion": "1.0",
        "Ce-Id": "ev-1",
        "Ce-Source": TEKTON_SOURCE,
        "Ce-Type": TASKRUN_TYPE,
        "Content-Type": "application/json",
    }
    headers.update(overrides)
    return {name: value for name, value in headers.items() if value is not None}


def problems(headers, body) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        events_to_rows(headers, body, NOW)
    assert caught.value.status == 400
    return caught.value.errors


def test_cloudevents_run_event_types():
    assert len(RUN_EVENT_TYPES) == 18
    assert "dev.tekton.event.customrun.queued.v1" in RUN_EVENT_TYPES
    assert "dev.tekton.event.pipelinerun.unknown.v1" in RUN_EVENT_TYPES
    assert "dev.tekton.event.run.started.v1" not in RUN_EVENT_TYPES


def test_cloudevents_all_modes_give_the_same_rows():
    event = sdk_event()
    requests = [
        binary(event),
        structured(event),
        (BATCH, b"[" + structured(event)[1] + b"]"),
        (hand_headers(), json.dumps({"taskRun": TASKRUN}).encode()),
        (STRUCTURED, json.dumps(by_hand()).encode()),
        (BATCH, batch_body(by_hand())),
    ]
    results = [events_to_rows(headers, body, NOW) for headers, body in requests]
    rows, ignored = results[0]
    assert ignored == 0 and len(rows) == 1
    assert all(result == results[0] for result in results)
    row = rows[0]
    assert (row["event_id"], row["event_type"], row["source"]) == (
        "ev-1",
        TASKRUN_TYPE,
        "cloudevent",
    )
    assert (row["kind"], row["uid"], row["status"]) == (
        "TaskRun",
        TASKRUN["metadata"]["uid"],
        "Succeeded",
    )
    assert json.loads(row["object"]) == TASKRUN


def test_cloudevents_decode_gives_attributes_and_data():
    (event,) = decode(*binary(sdk_event()))
    assert event == TektonEvent(
        id="ev-1",
        type=TASKRUN_TYPE,
        source=TEKTON_SOURCE,
        time=datetime(2025, 1, 2, 3, 4, 0, tzinfo=UTC),
        data={"taskRun": TASKRUN},
    )


def test_cloudevents_tekton_go_sdk_headers():
    # As Tekton's Go SDK sends them: canonical header case, nanosecond RFC3339Nano time.
    headers = {
        "Ce-Id": "c1d5d4c8-6b6a-4a0b-9a3c-1f0b2c3d4e5f",
        "Ce-Source": TEKTON_SOURCE,
        "Ce-Specversion": "1.0",
        "Ce-Subject": "curl-run-6gplk",
        "Ce-Time": "2021-01-29T14:47:58.157819138Z",
        "Ce-Type": "dev.tekton.event.taskrun.unknown.v1",
        "Content-Type": "application/json",
        "User-Agent": "Go-http-client/1.1",
    }
    body = json.dumps(load_fixture("017_CloudEventBody_events-md-taskrun-pending.json"))
    (event,) = decode(headers, body.encode())
    assert event.time == datetime(2021, 1, 29, 14, 47, 58, 157819, tzinfo=UTC)
    assert event.time.tzinfo == UTC
    assert event.source == TEKTON_SOURCE


def test_cloudevents_time_is_optional():
    (event,) = decode(STRUCTURED, json.dumps(by_hand(time=...)).encode())
    assert event.time is None


def test_cloudevents_header_names_are_case_insensitive():
    headers = {name.upper(): value for name, value in hand_headers().items()}
    headers["CONTENT-TYPE"] = "application/json; charset=utf-8"
    rows, _ = events_to_rows(headers, json.dumps({"taskRun": TASKRUN}).encode(), NOW)
    assert rows[0]["event_id"] == "ev-1"


def test_cloudevents_binary_without_content_type():
    headers = hand_headers(**{"Content-Type": None})
    rows, _ = events_to_rows(headers, json.dumps({"taskRun": TASKRUN}).encode(), NOW)
    assert len(rows) == 1


def test_cloudevents_fixture_017_body_is_v1beta1_pending():
    body = json.dumps(load_fixture("017_CloudEventBody_events-md-taskrun-pending.json")).encode()
    headers = hand_headers(**{"Ce-Type": "dev.tekton.event.taskrun.unknown.v1"})
    (row,), _ = events_to_rows(headers, body, NOW)
    assert (row["kind"], row["api_version"], row["status"], row["reason"]) == (
        "TaskRun",
        "tekton.dev/v1beta1",
        "Pending",
        "Pending",
    )


def test_cloudevents_batch_mixes_kinds_and_counts_ignored():
    body = batch_body(
        by_hand("a"),
        by_hand("b", type_=PIPELINERUN_TYPE, data={"pipelineRun": PIPELINERUN}),
        by_hand("c", type_="dev.tekton.event.triggers.started.v1", data={"anything": 1}),
        by_hand("d", type_="com.example.build.finished", data="not even an object"),
    )
    rows, ignored = events_to_rows(BATCH, body, NOW)
    assert [(row["event_id"], row["kind"]) for row in rows] == [
        ("a", "TaskRun"),
        ("b", "PipelineRun"),
    ]
    assert rows[1]["status"] == "Failed"
    assert ignored == 2


def test_cloudevents_ignored_binary_event_with_no_body():
    headers = hand_headers(**{"Ce-Type": "dev.tekton.event.run.started.v1"})
    assert events_to_rows(headers, b"", NOW) == ([], 1)


def test_cloudevents_empty_batch():
    assert events_to_rows(BATCH, b"[]", NOW) == ([], 0)
    assert decode(BATCH, b" [ ] ") == []


def test_cloudevents_structured_data_base64():
    element = by_hand(data=...)
    element["data_base64"] = base64.b64encode(json.dumps({"taskRun": TASKRUN}).encode()).decode()
    rows, _ = events_to_rows(STRUCTURED, json.dumps(element).encode(), NOW)
    assert rows[0]["uid"] == TASKRUN["metadata"]["uid"]


def test_cloudevents_structured_data_base64_problems():
    both = by_hand(data_base64="e30=")
    bad = by_hand(data=..., data_base64="%%%")
    not_json = by_hand(data=..., data_base64=base64.b64encode(b"{nope").decode())
    errors = problems(BATCH, batch_body(both, bad, not_json))
    assert errors[0] == "events[0]: data and data_base64 are both present"
    assert errors[1].startswith("events[1]: data_base64 is not valid base64")
    assert errors[2].startswith("events[2]: data_base64 is not valid JSON")
    assert len(errors) == 3


def test_cloudevents_structured_ignores_stray_ce_headers():
    headers = {**STRUCTURED, "ce-id": "from-header"}
    (event,) = decode(headers, json.dumps(by_hand("from-body")).encode())
    assert event.id == "from-body"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/cloudevents+xml",
    ],
)
def test_cloudevents_wrong_content_type_is_415(content_type):
    for headers in ({"Content-Type": content_type}, hand_headers(**{"Content-Type": content_type})):
        with pytest.raises(UnsupportedMediaType) as caught:
            events_to_rows(headers, b"{}", NOW)
        assert caught.value.status == 415
        assert content_type in caught.value.errors[0]


def test_cloudevents_missing_ce_id_and_specversion_both_listed():
    headers = hand_headers(**{"Ce-Id": None, "Ce-Specversion": None})
    assert problems(headers, json.dumps({"taskRun": TASKRUN}).encode()) == [
        "events[0]: ce-id header is missing",
        "events[0]: ce-specversion header is missing",
    ]


def test_cloudevents_json_without_any_ce_header_lists_every_missing_header():
    errors = problems({"Content-Type": "application/json"}, b"{}")
    assert errors == [
        f"events[0]: ce-{name} header is missing"
        for name in ("id", "source", "type", "specversion")
    ]


def test_cloudevents_bad_headers_and_bad_body_together():
    headers = hand_headers(**{"Ce-Id": "", "Ce-Specversion": "0.3", "Ce-Time": "noon"})
    assert problems(headers, b"{nope") == [
        "events[0]: ce-time header 'noon' is not an RFC 3339 time",
        "events[0]: ce-id header is missing",
        "events[0]: ce-specversion header is '0.3'; only '1.0' is supported",
        "body is not valid JSON: Expecting property name enclosed in double quotes "
        "(line 1 column 2)",
    ]


def test_cloudevents_time_without_zone_is_rejected_by_the_sdk_check():
    errors = problems(STRUCTURED, json.dumps(by_hand(time="2025-01-02T03:04:00")).encode())
    assert errors == ["events[0]: time: Attribute 'time' must be timezone aware"]


def test_cloudevents_body_not_utf8():
    assert problems(hand_headers(), b'{"taskRun": "\xff"}')[0].startswith("body is not valid UTF-8")


def test_cloudevents_binary_array_where_an_object_belongs():
    assert problems(hand_headers(), b"[]") == [
        'events[0]: data is an array, not an object with a "taskRun" key'
    ]


def test_cloudevents_run_event_without_its_run_key():
    body = json.dumps({"pipelineRun": PIPELINERUN}).encode()
    assert problems(hand_headers(), body) == [
        "events[0]: data has no \"taskRun\" key (its keys: 'pipelineRun')"
    ]
    assert problems(hand_headers(), b"") == [
        'events[0]: data is missing; a run event carries {"taskRun": {...}}'
    ]
    assert problems(hand_headers(), b'{"taskRun": 5}') == [
        "events[0]: data.taskRun is a number, not an object"
    ]


def test_cloudevents_run_without_uid():
    run = json.loads(json.dumps(TASKRUN))
    del run["metadata"]["uid"]
    body = json.dumps({"taskRun": run}).encode()
    assert problems(hand_headers(), body) == ["events[0]: metadata.uid is missing"]


def test_cloudevents_kind_must_match_the_event_type():
    body = json.dumps({"taskRun": PIPELINERUN}).encode()
    assert problems(hand_headers(), body) == [
        "events[0]: taskRun.kind is 'PipelineRun' but dev.tekton.event.taskrun.successful.v1 "
        "is an event of a TaskRun"
    ]


def test_cloudevents_structured_body_must_be_an_object():
    assert problems(STRUCTURED, b"[]") == [
        "a structured CloudEvent body must be a JSON object, not an array"
    ]
    assert problems(STRUCTURED, b"{")[0].startswith("body is not valid JSON")


def test_cloudevents_batch_body_must_be_an_array():
    assert problems(BATCH, json.dumps(by_hand()).encode()) == [
        "a CloudEvents batch body must be a JSON array, not an object"
    ]


def test_cloudevents_batch_lists_every_bad_element():
    no_uid = json.loads(json.dumps(TASKRUN))
    del no_uid["metadata"]["uid"]
    body = batch_body(
        by_hand("ok"),
        by_hand(None, specversion=...),
        "not an event",
        by_hand("x", type_=..., source=""),
        by_hand("y", data={"taskRun": no_uid}),
    )
    assert problems(BATCH, body) == [
        "events[1]: id is missing",
        "events[1]: specversion is missing",
        "events[2]: is a string, not a CloudEvent object",
        "events[3]: source is missing",
        "events[3]: type is missing",
        "events[4]: metadata.uid is missing",
    ]


def test_cloudevents_attribute_types_are_checked():
    element = by_hand(7, subject=5)
    assert problems(STRUCTURED, json.dumps(element).encode()) == [
        "events[0]: id is a number, not a string",
        "events[0]: subject: Attribute 'subject' must be a <class 'str'>",
    ]


def test_cloudevents_decode_raises_with_every_problem():
    with pytest.raises(InvalidInput) as caught:
        decode(BATCH, batch_body(by_hand(...), by_hand("b", type_=...)))
    assert caught.value.errors == ["events[0]: id is missing", "events[1]: type is missing"]
    assert caught.value.error.startswith("invalid input: 2 problems")
