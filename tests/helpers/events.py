"""Building test requests the way Tekton and the watcher send them, with the CloudEvents SDK."""

from __future__ import annotations

import json

from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

BODY_KEYS = {"TaskRun": "taskRun", "PipelineRun": "pipelineRun", "CustomRun": "customRun"}
OUTCOMES = {
    "Succeeded": "successful",
    "Failed": "failed",
    "Cancelled": "failed",
    "TimedOut": "failed",
    "Running": "running",
    "Pending": "unknown",
}
# Tekton's events controller sends a source like this, which is not a valid URI-reference.
TEKTON_SOURCE = "/apis///namespaces/default//curl-run-6gplk"


def event_type(kind: str, status: str) -> str:
    return f"dev.tekton.event.{kind.lower()}.{OUTCOMES[status]}.v1"


def cloud_event(kind: str, status: str, obj: dict, event_id: str) -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": event_type(kind, status),
            "source": TEKTON_SOURCE,
            "id": event_id,
            "specversion": "1.0",
            "datacontenttype": "application/json",
        },
        data={BODY_KEYS[kind]: obj},
    )


def binary(event: CloudEvent) -> tuple[dict, bytes]:
    message = to_binary(event, JSONFormat())
    return dict(message.headers), message.body


def structured(event: CloudEvent) -> tuple[dict, bytes]:
    message = to_structured(event, JSONFormat())
    return dict(message.headers), message.body


def batch(events: list[CloudEvent]) -> tuple[dict, bytes]:
    body = "[" + ",".join(to_structured(e, JSONFormat()).body.decode() for e in events) + "]"
    return {"content-type": "application/cloudevents-batch+json"}, body.encode()


def snapshot(obj: dict) -> tuple[dict, bytes]:
    return {"content-type": "application/json"}, json.dumps(obj).encode()


def hand_binary(event_id: str = "ev-1", **overrides: str) -> dict:
    """Binary-mode headers written by hand, as curl users and Tekton send them."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": TEKTON_SOURCE,
        "ce-type": "dev.tekton.event.taskrun.successful.v1",
        "content-type": "application/json",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}
