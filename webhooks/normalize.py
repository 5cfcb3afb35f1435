"""One Tekton object (TaskRun, PipelineRun, CustomRun; v1, v1beta1 or older) -> one `records` row.

Every problem is collected before raising, so a client sees all of them at once. Problems are
phrased without a prefix; callers that validate many objects add "events[2]: " or "items[3]: ".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson

from layout.keys import is_uid
from layout.schema import CUSTOM_RUN, DEFAULT_CLUSTER, KINDS, PIPELINE_RUN, TASK_RUN
from webhooks.body import type_name
from webhooks.errors import InvalidInput
from webhooks.status import CONDITION_STATUSES, SUCCEEDED_CONDITION, run_status

TEKTON_GROUP = "tekton.dev/"
V1 = "tekton.dev/v1"
V1BETA1 = "tekton.dev/v1beta1"

# Fields only one kind has, looked up at the top of `spec` and `status` only: a malformed
# object may nest a whole copy of another object inside its spec (fixture 026).
_KIND_MARKERS: dict[str, tuple[tuple[str, str], ...]] = {
    PIPELINE_RUN: (
        ("spec", "pipelineRef"),
        ("spec", "pipelineSpec"),
        ("status", "childReferences"),
        ("status", "taskRuns"),
        ("status", "runs"),
        ("status", "pipelineSpec"),
    ),
    TASK_RUN: (
        ("spec", "taskRef"),
        ("spec", "taskSpec"),
        ("status", "steps"),
        ("status", "podName"),
        ("status", "taskSpec"),
    ),
    CUSTOM_RUN: (("spec", "customRef"), ("spec", "customSpec")),
}

# The api_version of an object sent without one and without a hint. Only fields that exist
# in exactly one version count, and per kind, since v1 moved different fields for each:
# PipelineRun v1 moved serviceAccountName/podTemplate under taskRunTemplate and renamed
# pipelineResults to results; TaskRun v1 renamed taskResults to results. Fields both versions
# share (childReferences, timeouts, steps[].container, computeResources) prove nothing. Real
# objects are often hybrids (fixtures 026-031), so evidence for both versions gives null
# rather than a guess. CustomRun exists only in v1beta1.
_VERSION_MARKERS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    PIPELINE_RUN: {
        V1BETA1: (
            ("spec", "serviceAccountName"),
            ("spec", "serviceAccountNames"),
            ("spec", "timeout"),
            ("spec", "resources"),
            ("spec", "podTemplate"),
            ("status", "taskRuns"),
            ("status", "runs"),
            ("status", "pipelineResults"),
        ),
        V1: (("spec", "taskRunTemplate"), ("status", "results")),
    },
    TASK_RUN: {
        V1BETA1: (("spec", "resources"), ("status", "taskResults"), ("status", "resourcesResult")),
        V1: (("status", "results"),),
    },
}

_LABEL_COLUMNS = {
    "pipeline": ("tekton.dev/pipeline",),
    "pipeline_run": ("tekton.dev/pipelineRun",),
    "task": ("tekton.dev/task", "tekton.dev/clusterTask"),
    "pipeline_task": ("tekton.dev/pipelineTask",),
}

# RFC 3339 date-time; fromisoformat alone would also take a date without a time, or a
# time without an offset, neither of which says when a run happened.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def normalize(
    obj: Mapping,
    *,
    received_at: datetime,
    event_id: str,
    source: str,
    event_type: str | None = None,
    kind: str | None = None,
    api_version: str | None = None,
    cluster: str = DEFAULT_CLUSTER,
) -> dict:
    """The `records` row of one Tekton object. `kind` and `api_version` are used only when
    the object lacks `kind`/`apiVersion`; `cluster` is the one the sender's token names (the
    object itself never says). Raises InvalidInput listing every problem."""
    if not isinstance(obj, Mapping):
        raise InvalidInput([f"the run is {type_name(obj)}, not an object"])
    problems: list[str] = []
    spec = _section(obj, "spec", problems)
    status = _section(obj, "status", problems)
    run_kind = _kind(obj, kind, spec, status, problems)
    version = _api_version(obj, api_version, run_kind, spec, status, problems)

    metadata = _section(obj, "metadata", problems)
    uid = metadata.get("uid")
    if uid is None or uid == "":
        problems.append("metadata.uid is missing")
    elif not isinstance(uid, str):
        problems.append(f"metadata.uid is {type_name(uid)}, not a string")
    elif not is_uid(uid):
        # Kubernetes UIDs are lowercase UUIDs; the uid also names the run's log objects.
        problems.append(f"metadata.uid {uid[:80]!r} is not [a-z0-9-]{{1,63}}")
    name = _optional_string(metadata, "name", "metadata.name", problems)
    namespace = _optional_string(metadata, "namespace", "metadata.namespace", problems)
    labels = _string_map(metadata.get("labels"), "metadata.labels", problems)
    annotations = _string_map(metadata.get("annotations"), "metadata.annotations", problems)
    resource_version = _resource_version(metadata.get("resourceVersion"), problems)

    created_at = _time(metadata.get("creationTimestamp"), "metadata.creationTimestamp", problems)
    started_at = _time(status.get("startTime"), "status.startTime", problems)
    completed_at = _time(status.get("completionTime"), "status.completionTime", problems)
    condition_status, reason, message = _succeeded_condition(status, problems)

    text = _compact_json(obj, problems)
    for what, value in (
        ("the object", text),
        ("the event id", event_id),
        ("the event type", event_type),
    ):
        if value is not None and not _encodable(value):
            # A lone surrogate (JSON "\ud800") parses but can never be written as UTF-8:
            # accepted, it would fail every write and be retried forever.
            problems.append(f"{what} contains text that is not valid Unicode")
    if problems:
        raise InvalidInput(problems)

    row = {
        "uid": uid,
        "namespace": namespace,
        "name": name,
        "cluster": cluster,
        "kind": run_kind,
        "api_version": version,
        "status": run_status(condition_status, reason),
        "reason": reason,
        "message": message,
        **{column: _first_label(labels, keys) for column, keys in _LABEL_COLUMNS.items()},
        "pipeline_run_uid": _owner(metadata.get("ownerReferences")),
        "created_at": created_at,
        "started_at": started_at,
        "completed_at": completed_at,
        "duration_seconds": (completed_at - started_at).total_seconds()
        if started_at and completed_at
        else None,
        "labels": labels,
        "annotations": annotations,
        "resource_version": resource_version,
        "event_type": event_type,
        "event_id": event_id,
        "source": source,
        "received_at": _utc(received_at),
        "object": text,
    }
    return row


def _owner(references: Any) -> str | None:
    """The uid of the PipelineRun among the object's ownerReferences (Tekton sets one on
    every TaskRun and CustomRun of a PipelineRun); a malformed list just names none."""
    for reference in references if isinstance(references, list) else []:
        if (
            isinstance(reference, Mapping)
            and reference.get("kind") == PIPELINE_RUN
            and isinstance(reference.get("uid"), str)
            and reference["uid"]
        ):
            return reference["uid"]
    return None


def infer_kind(spec: Mapping, status: Mapping) -> list[str]:
    """The kinds whose kind-only fields the object has (one, several, or none)."""
    sections = {"spec": spec, "status": status}
    return [
        kind
        for kind, markers in _KIND_MARKERS.items()
        if any(key in sections[part] for part, key in markers)
    ]


def infer_api_version(kind: str, spec: Mapping, status: Mapping) -> str | None:
    """tekton.dev/v1 or tekton.dev/v1beta1 when only that version's fields appear, else None."""
    if kind == CUSTOM_RUN:
        return V1BETA1
    sections = {"spec": spec, "status": status}
    found = [
        version
        for version, markers in _VERSION_MARKERS.get(kind, {}).items()
        if any(key in sections[part] for part, key in markers)
    ]
    return found[0] if len(found) == 1 else None


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time ('Z' or an offset, any fraction digits) as aware UTC, truncated to
    microseconds. None and "" are absent. Raises ValueError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # YAML loaders turn unquoted timestamps into datetimes
        if value.tzinfo is None:
            raise ValueError("has no UTC offset")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError(f"is {type_name(value)}, not an RFC 3339 time")
    if not _RFC3339.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 time")
    try:
        return datetime.fromisoformat(value.upper()).astimezone(UTC)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid time") from None


def _section(obj: Mapping, key: str, problems: list[str]) -> Mapping:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{key} is {type_name(value)}, not an object")
        return {}
    return value


def _kind(
    obj: Mapping, hint: str | None, spec: Mapping, status: Mapping, problems: list[str]
) -> str | None:
    kind = obj.get("kind") or hint
    if kind is None:
        guesses = infer_kind(spec, status)
        if len(guesses) == 1:
            return guesses[0]
        detail = f" (it has fields of {' and '.join(guesses)})" if guesses else ""
        problems.append(f"kind is missing and cannot be inferred{detail}")
        return None
    if not isinstance(kind, str):
        problems.append(f"kind is {type_name(kind)}, not a string")
        return None
    if kind not in KINDS:
        problems.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        return None
    return kind


def _api_version(
    obj: Mapping,
    hint: str | None,
    kind: str | None,
    spec: Mapping,
    status: Mapping,
    problems: list[str],
) -> str | None:
    version = obj.get("apiVersion") or hint
    if version is None:
        return infer_api_version(kind, spec, status) if kind else None
    if not isinstance(version, str):
        problems.append(f"apiVersion is {type_name(version)}, not a string")
        return None
    # Other groups have kinds named PipelineRun too (e.g. other CI systems' CRDs).
    if not version.startswith(TEKTON_GROUP):
        problems.append(f"apiVersion {version!r} is not a tekton.dev version")
        return None
    return version


def _optional_string(section: Mapping, key: str, field: str, problems: list[str]) -> str | None:
    value = section.get(key)
    if value is not None and not isinstance(value, str):
        problems.append(f"{field} is {type_name(value)}, not a string")
        return None
    return value


def _string_map(value: Any, field: str, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{field} is {type_name(value)}, not an object")
        return {}
    for key, item in value.items():
        if not isinstance(item, str):
            problems.append(f"{field}[{key!r}] is {type_name(item)}, not a string")
    return {str(key): item for key, item in value.items() if isinstance(item, str)}


def _resource_version(value: Any, problems: list[str]) -> str | None:
    # Kubernetes sends a string; hand-written and YAML-loaded objects sometimes a number.
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        problems.append(f"metadata.resourceVersion is {type_name(value)}, not a string")
        return None
    return value


def _time(value: Any, field: str, problems: list[str]) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError as exc:
        problems.append(f"{field} {exc}")
        return None


def _succeeded_condition(
    status: Mapping, problems: list[str]
) -> tuple[str | None, str | None, str | None]:
    """(condition status, reason, message) of the `Succeeded` condition, or Nones."""
    conditions = status.get("conditions")
    if conditions is None:
        return None, None, None
    if not isinstance(conditions, list):
        problems.append(f"status.conditions is {type_name(conditions)}, not an array")
        return None, None, None
    for index, condition in enumerate(conditions):
        field = f"status.conditions[{index}]"
        if not isinstance(condition, Mapping):
            problems.append(f"{field} is {type_name(condition)}, not an object")
            continue
        if condition.get("type") != SUCCEEDED_CONDITION:
            continue
        value = condition.get("status")
        if value not in CONDITION_STATUSES:
            problems.append(
                f"{field}.status is {value!r}, not one of {', '.join(CONDITION_STATUSES)}"
            )
            value = None
        # Go omits an empty reason or message; "" and absent mean the same.
        reason = _optional_string(condition, "reason", f"{field}.reason", problems) or None
        message = _optional_string(condition, "message", f"{field}.message", problems) or None
        return value, reason, message
    return None, None, None


def _first_label(labels: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    return next((labels[key] for key in keys if labels.get(key)), None)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _compact_json(obj: Mapping, problems: list[str]) -> str | None:
    obj = obj if isinstance(obj, dict) else dict(obj)
    try:
        text = orjson.dumps(obj, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except TypeError:
        text = None  # json below: integers past 64 bits, keys that are not strings, surrogates
    # orjson writes NaN and Infinity as null, where json refuses them: only an object whose
    # text has a null can hide one.
    if text is not None and (b"null" not in text or not _has_non_finite(obj)):
        return text.decode()
    try:
        return json.dumps(
            obj,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )
    except (TypeError, ValueError) as exc:
        problems.append(f"the object cannot be stored as JSON: {exc}")
        return None


def _has_non_finite(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _json_default(value: Any) -> Any:
    # Only reachable for objects built in Python (e.g. YAML-loaded timestamps).
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _utc(moment: datetime) -> datetime:
    # A naive receive time can only come from our own clock code; read it as UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
