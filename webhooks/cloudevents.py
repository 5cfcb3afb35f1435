"""CloudEvents over HTTP, independent of any web framework: (headers, body) -> events -> rows.

Modes (CloudEvents HTTP binding 1.0, section 3): the Content-Type decides first, as the spec
says, so a structured event that also carries stray `ce-*` headers is still read whole:

- `application/cloudevents+json`: structured, the body is one event;
- `application/cloudevents-batch+json`: batch, the body is an array of structured events
  (the SDK has no batch support, so each element is decoded here like a structured body);
- a JSON Content-Type or none: binary, attributes in `ce-*` headers, the body is the data;
- anything else: 415.

The SDK's `CloudEvent` validates attributes and decodes header values. Presence checks for
`id` and `specversion` are done here because the SDK's constructor fills both in when they
are absent, and the SDK's readers stop at the first problem while a request here must list
every problem of every event before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings.common import decode_header_value
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.v1.event import OPTIONAL_ATTRIBUTES, REQUIRED_ATTRIBUTES, CloudEvent
from dateutil.parser import isoparse

from layout.schema import CUSTOM_RUN, DEFAULT_CLUSTER, PIPELINE_RUN, TASK_RUN
from webhooks.body import is_json, lower_keys, media_type, parse_json, type_name
from webhooks.errors import InvalidInput, UnsupportedMediaType, raise_if
from webhooks.normalize import V1BETA1, normalize

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
SPECVERSION = "1.0"
CE_PREFIX = "ce-"

# event type kind segment -> (run kind, key of the run in the event data)
_RUN_KINDS = {
    "taskrun": (TASK_RUN, "taskRun"),
    "pipelinerun": (PIPELINE_RUN, "pipelineRun"),
    "customrun": (CUSTOM_RUN, "customRun"),
}
_OUTCOMES = ("queued", "started", "running", "unknown", "successful", "failed")
_KIND_OF_TYPE = {
    f"dev.tekton.event.{segment}.{outcome}.v1": kind_key
    for segment, kind_key in _RUN_KINDS.items()
    for outcome in _OUTCOMES
}
RUN_EVENT_TYPES: frozenset[str] = frozenset(_KIND_OF_TYPE)

# Extensions are not stored, so their spelling is not checked: relays add their own.
_CHECKED_ATTRIBUTES = frozenset(REQUIRED_ATTRIBUTES) | frozenset(OPTIONAL_ATTRIBUTES)


@dataclass(frozen=True)
class TektonEvent:
    """The parts of a CloudEvent runlake uses. `source` is only known to be a non-empty
    string: Tekton sends it malformed (e.g. `/apis///namespaces/default//x`)."""

    id: str
    type: str
    source: str
    time: datetime | None
    data: Any


def decode(headers: Mapping[str, str], body: bytes) -> list[TektonEvent]:
    """Every event of a request in any mode. Raises UnsupportedMediaType (415) for a
    Content-Type no mode reads, InvalidInput (400) listing every problem otherwise."""
    events, problems = _decode(headers, body)
    raise_if(problems)
    return [event for event in events if event is not None]


def events_to_rows(
    headers: Mapping[str, str], body: bytes, received_at: datetime, cluster: str = DEFAULT_CLUSTER
) -> tuple[list[dict], int]:
    """(rows of the run events, how many events had another type and were ignored), each
    row of `cluster`.
    Raises InvalidInput listing every problem of every event, so nothing of a bad request
    is stored."""
    events, problems = _decode(headers, body)
    rows: list[dict] = []
    ignored = 0
    for index, event in enumerate(events):
        if event is None:
            continue
        if event.type not in RUN_EVENT_TYPES:
            ignored += 1
            continue
        prefix = f"events[{index}]: "
        kind, key = _KIND_OF_TYPE[event.type]
        obj, problem = _run_of(event.data, key)
        if problem:
            problems.append(prefix + problem)
            continue
        try:
            # The events controller converts runs to v1beta1 and often drops TypeMeta.
            row = normalize(
                obj,
                received_at=received_at,
                event_id=event.id,
                source="cloudevent",
                event_type=event.type,
                kind=kind,
                api_version=V1BETA1,
                cluster=cluster,
            )
        except InvalidInput as exc:
            problems.extend(exc.prefixed(prefix))
            continue
        if row["kind"] != kind:
            problems.append(
                f"{prefix}{key}.kind is {row['kind']!r} but {event.type} is an event of a {kind}"
            )
            continue
        rows.append(row)
    raise_if(problems)
    return rows, ignored


def _decode(headers: Mapping[str, str], body: bytes) -> tuple[list[TektonEvent | None], list[str]]:
    """Events (None where an event was invalid) and every problem found."""
    fields = lower_keys(headers)
    content_type = fields.get("content-type")
    media = media_type(content_type)
    if media == STRUCTURED:
        document, problem = parse_json(body)
        if problem:
            return [], [problem]
        if not isinstance(document, Mapping):
            return [], [
                f"a structured CloudEvent body must be a JSON object, not {type_name(document)}"
            ]
        event, problems = _from_structured(document, "events[0]: ")
        return [event], problems
    if media == BATCH:
        return _from_batch(body)
    if media is None or is_json(media):
        event, problems = _from_binary(fields, body)
        return [event], problems
    raise UnsupportedMediaType(
        [
            f"Content-Type {content_type!r} is not a CloudEvent: send binary mode (ce-* headers "
            f"and a JSON body), {STRUCTURED} or {BATCH}"
        ]
    )


def _from_batch(body: bytes) -> tuple[list[TektonEvent | None], list[str]]:
    document, problem = parse_json(body)
    if problem:
        return [], [problem]
    if not isinstance(document, list):
        return [], [f"a CloudEvents batch body must be a JSON array, not {type_name(document)}"]
    events: list[TektonEvent | None] = []
    problems: list[str] = []
    for index, element in enumerate(document):
        prefix = f"events[{index}]: "
        if not isinstance(element, Mapping):
            events.append(None)
            problems.append(f"{prefix}is {type_name(element)}, not a CloudEvent object")
            continue
        event, found = _from_structured(element, prefix)
        events.append(event)
        problems.extend(found)
    return events, problems


def _from_structured(element: Mapping, prefix: str) -> tuple[TektonEvent | None, list[str]]:
    problems: list[str] = []
    # JSON format 1.0 section 2.2: an attribute whose value is null is absent.
    attributes = {
        name: value
        for name, value in element.items()
        if name not in ("data", "data_base64") and value is not None
    }
    time = attributes.get("time")
    if isinstance(time, str):
        try:
            attributes["time"] = isoparse(time)  # what the SDK's JSONFormat.read does
        except (ValueError, OverflowError):
            problems.append(f"{prefix}time {time!r} is not an RFC 3339 time")
            del attributes["time"]
    data, problem = _structured_data(element, attributes.get("datacontenttype"))
    if problem:
        problems.append(prefix + problem)
    problems.extend(prefix + found for found in _check(attributes, _attribute_label))
    return _event(attributes, data, problems)


def _structured_data(element: Mapping, datacontenttype: Any) -> tuple[Any, str | None]:
    if "data_base64" not in element:
        return element.get("data"), None
    if "data" in element:
        return None, "data and data_base64 are both present"
    encoded = element["data_base64"]
    if not isinstance(encoded, str):
        return None, f"data_base64 is {type_name(encoded)}, not a string"
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        return None, f"data_base64 is not valid base64: {exc}"
    if datacontenttype is None or (
        isinstance(datacontenttype, str) and is_json(media_type(datacontenttype))
    ):
        return parse_json(raw, what="data_base64")
    return raw, None


def _from_binary(fields: Mapping[str, str], body: bytes) -> tuple[TektonEvent | None, list[str]]:
    prefix = "events[0]: "
    problems: list[str] = []
    attributes: dict[str, Any] = {}
    for name, value in fields.items():
        if not name.startswith(CE_PREFIX):
            continue
        attribute = name[len(CE_PREFIX) :]
        try:
            attributes[attribute] = decode_header_value(attribute, value)
        except (ValueError, OverflowError):  # only `time` is parsed beyond percent-decoding
            problems.append(f"{prefix}{name} header {value!r} is not an RFC 3339 time")
    if fields.get("content-type"):
        attributes["datacontenttype"] = fields["content-type"]
    problems.extend(prefix + found for found in _check(attributes, _header_label))
    data = None
    if body.strip():
        data, problem = parse_json(body)
        if problem:
            problems.append(problem)
    return _event(attributes, data, problems)


def _check(attributes: Mapping[str, Any], label: Callable[[str], str]) -> list[str]:
    problems: list[str] = []
    reported = set()
    for name in REQUIRED_ATTRIBUTES:
        value = attributes.get(name)
        if value is None or value == "":
            problems.append(f"{label(name)} is missing")
        elif not isinstance(value, str):
            problems.append(f"{label(name)} is {type_name(value)}, not a string")
        elif name == "specversion" and value != SPECVERSION:
            problems.append(f"{label(name)} is {value!r}; only {SPECVERSION!r} is supported")
        else:
            continue
        reported.add(name)
    checked = {name: value for name, value in attributes.items() if name in _CHECKED_ATTRIBUTES}
    try:
        CloudEvent(checked)  # the SDK's checks of time, subject, datacontenttype, dataschema
    except CloudEventValidationError as exc:
        for name, errors in exc.errors.items():
            if name not in reported:
                messages = dict.fromkeys(str(error) for error in errors)
                problems.append(f"{label(name)}: {'; '.join(messages)}")
    return problems


def _event(
    attributes: Mapping[str, Any], data: Any, problems: list[str]
) -> tuple[TektonEvent | None, list[str]]:
    if problems:
        return None, problems
    time = attributes.get("time")
    return TektonEvent(
        id=attributes["id"],
        type=attributes["type"],
        source=attributes["source"],
        time=time.astimezone(UTC) if time is not None else None,
        data=data,
    ), []


def _run_of(data: Any, key: str) -> tuple[Mapping | None, str | None]:
    """The run inside an event's data, `{"taskRun": {...}}`, or a problem."""
    if data is None:
        return None, f'data is missing; a run event carries {{"{key}": {{...}}}}'
    if not isinstance(data, Mapping):
        return None, f'data is {type_name(data)}, not an object with a "{key}" key'
    run = data.get(key)
    if run is None:
        keys = ", ".join(map(repr, list(data)[:5])) or "none"
        return None, f'data has no "{key}" key (its keys: {keys})'
    if not isinstance(run, Mapping):
        return None, f"data.{key} is {type_name(run)}, not an object"
    return run, None


def _header_label(attribute: str) -> str:
    return "Content-Type header" if attribute == "datacontenttype" else f"ce-{attribute} header"


def _attribute_label(attribute: str) -> str:
    return attribute
