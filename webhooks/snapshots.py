"""Bodies that are Kubernetes objects rather than CloudEvents: what the watcher posts to
/v1/snapshots and what `runlake import` reads (`kubectl get -o json` output)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from layout.schema import CUSTOM_RUN, DEFAULT_CLUSTER, PIPELINE_RUN, TASK_RUN
from webhooks.body import is_json, lower_keys, media_type, parse_json, type_name
from webhooks.errors import InvalidInput, UnsupportedMediaType, raise_if
from webhooks.normalize import V1BETA1, normalize

# A CloudEvent's data, `{"taskRun": {...}}`, posted as a snapshot (e.g. replayed from a log).
_WRAPPER_KEYS = {"taskRun": TASK_RUN, "pipelineRun": PIPELINE_RUN, "customRun": CUSTOM_RUN}


def snapshot_event_id(obj: Mapping) -> str:
    """A content hash: the same snapshot sent twice gets the same id (and is deduplicated by
    readers), any change to the object gives a new one."""
    canonical = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def objects_to_rows(
    document: Any, received_at: datetime, source: str, cluster: str = DEFAULT_CLUSTER
) -> list[dict]:
    """Rows (of `cluster`) of an object, of `{"items": [...]}` (a `kind: List`, possibly
    mixing TaskRuns and PipelineRuns), of a bare array of objects, or of a CloudEvent data
    wrapper. Raises
    InvalidInput listing every problem ("items[3]: metadata.uid is missing"): a list with
    one bad item stores nothing."""
    if isinstance(document, Mapping) and "items" in document:
        items = document["items"]
        if items is None:
            return []
        if not isinstance(items, list):
            raise InvalidInput([f"items is {type_name(items)}, not an array"])
        return _rows_of_items(items, received_at, source, cluster)
    if isinstance(document, list):
        return _rows_of_items(document, received_at, source, cluster)
    if isinstance(document, Mapping):
        return [_row(document, received_at, source, cluster)]
    raise InvalidInput([f"the body must be a JSON object or array, not {type_name(document)}"])


def snapshots_to_rows(
    headers: Mapping[str, str],
    body: bytes,
    received_at: datetime,
    source: str = "watcher",
    cluster: str = DEFAULT_CLUSTER,
) -> list[dict]:
    """Rows of a /v1/snapshots request. Raises UnsupportedMediaType (415) unless the
    Content-Type is JSON or absent, InvalidInput (400) listing every problem otherwise."""
    content_type = lower_keys(headers).get("content-type")
    media = media_type(content_type)
    if media is not None and not is_json(media):
        raise UnsupportedMediaType(
            [f"Content-Type {content_type!r} is not JSON: send application/json"]
        )
    document, problem = parse_json(body)
    if problem:
        raise InvalidInput([problem])
    return objects_to_rows(document, received_at, source, cluster)


def _rows_of_items(items: list, received_at: datetime, source: str, cluster: str) -> list[dict]:
    rows: list[dict] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        try:
            rows.append(_row(item, received_at, source, cluster))
        except InvalidInput as exc:
            problems.extend(exc.prefixed(f"items[{index}]: "))
    raise_if(problems)
    return rows


def _row(obj: Any, received_at: datetime, source: str, cluster: str) -> dict:
    kind = api_version = None
    if isinstance(obj, Mapping) and len(obj) == 1:
        key = next(iter(obj))
        if key in _WRAPPER_KEYS and isinstance(obj[key], Mapping):
            # Tekton's events controller sends v1beta1 and drops TypeMeta, as for events.
            obj, kind, api_version = obj[key], _WRAPPER_KEYS[key], V1BETA1
    if not isinstance(obj, Mapping):
        raise InvalidInput([f"is {type_name(obj)}, not an object"])
    return normalize(
        obj,
        received_at=received_at,
        event_id=snapshot_event_id(obj),
        source=source,
        kind=kind,
        api_version=api_version,
        cluster=cluster,
    )
