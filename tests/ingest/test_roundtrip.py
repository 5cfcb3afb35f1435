"""Every real fixture, sent the four ways runs arrive, into a local store and into S3, read
back through DuckDB's `runs` view with the values the fixture itself holds."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from layout.latest import latest_key
from layout.store import LocalStore
from tests.helpers import events
from tests.helpers.apps import app_for, close_writer, count, runs
from tests.helpers.tekton import fixture_index, fixture_object

MODES = ["binary", "structured", "batch", "snapshot"]
FINISHED = ("Succeeded", "Failed", "Cancelled", "TimedOut")


def _rfc3339(value: str | None) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _requests(mode: str, index: dict) -> list[tuple[dict, bytes]]:
    cloud_events = [
        events.cloud_event(meta["kind"], meta["status"], fixture_object(name), f"fx-{name[:3]}")
        for name, meta in index.items()
    ]
    if mode == "batch":
        return [events.batch(cloud_events[i : i + 3]) for i in range(0, len(cloud_events), 3)]
    if mode == "snapshot":
        return [events.snapshot(fixture_object(name)) for name in index]
    encode = events.binary if mode == "binary" else events.structured
    return [encode(event) for event in cloud_events]


def _expected(index: dict) -> dict[str, dict]:
    """Per uid, the fixture the latest-snapshot rule must pick (later posts win ties)."""
    best: dict[str, tuple] = {}
    for position, (name, meta) in enumerate(index.items()):
        obj = fixture_object(name)
        rank = latest_key(
            {
                "status": meta["status"],
                "resource_version": obj["metadata"].get("resourceVersion"),
                "received_at": position,
                "event_id": f"fx-{name[:3]}",
            }
        )
        uid = obj["metadata"]["uid"]
        if uid not in best or rank > best[uid][0]:
            best[uid] = (rank, name, meta, obj)
    return {
        uid: {"name": name, "meta": meta, "obj": obj} for uid, (_, name, meta, obj) in best.items()
    }


@pytest.mark.parametrize("mode", MODES)
def test_roundtrip_every_fixture_lands_once_with_its_values(mode, store, client):
    index = fixture_index()
    path = "/v1/snapshots" if mode == "snapshot" else "/"
    for headers, body in _requests(mode, index):
        response = client.post(path, headers=headers, data=body)
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["ignored"] == 0

    expected = _expected(index)
    got = {row["uid"]: row for row in runs(store)}
    assert set(got) == set(expected)
    for uid, want in expected.items():
        row, obj, meta = got[uid], want["obj"], want["meta"]
        status = obj.get("status") or {}
        assert (row["kind"], row["status"], row["reason"]) == (
            meta["kind"],
            meta["status"],
            meta["reason"] if meta["reason"] != "(none)" else None,
        ), want["name"]
        assert row["namespace"] == obj["metadata"]["namespace"]
        assert row["name"] == obj["metadata"]["name"]
        assert row["created_at"] == _rfc3339(obj["metadata"]["creationTimestamp"])
        assert row["started_at"] == _rfc3339(status.get("startTime"))
        assert row["completed_at"] == _rfc3339(status.get("completionTime"))
        if status.get("startTime") and status.get("completionTime"):
            start = datetime.fromisoformat(status["startTime"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(status["completionTime"].replace("Z", "+00:00"))
            assert row["duration_seconds"] == (end - start).total_seconds()
        else:
            assert row["duration_seconds"] is None
        assert row["source"] == ("watcher" if mode == "snapshot" else "cloudevent")


def _progressions(index: dict) -> list[tuple[dict, bytes]]:
    """For each run (one fixture per uid), an earlier running snapshot, then the fixture."""
    requests, seen = [], set()
    for name, meta in index.items():
        final = fixture_object(name)
        if final["metadata"]["uid"] in seen:
            continue
        seen.add(final["metadata"]["uid"])
        earlier = copy.deepcopy(final)
        earlier.setdefault("status", {})["conditions"] = [
            {"type": "Succeeded", "status": "Unknown", "reason": "Running"}
        ]
        earlier["status"].pop("completionTime", None)
        version = final["metadata"].get("resourceVersion")
        if version:
            earlier["metadata"]["resourceVersion"] = str(int(version) - 1)
        for n, (obj, status) in enumerate([(earlier, "Running"), (final, meta["status"])]):
            event = events.cloud_event(meta["kind"], status, obj, f"fx-{name[:3]}-{n}")
            requests.append(events.binary(event))
    return requests


def test_roundtrip_duplicates_and_disorder_give_the_same_runs(local_store, tmp_path):
    ordered = _progressions(fixture_index())
    columns = "uid, kind, status, reason, resource_version, event_id, completed_at"

    def archive(requests: list, directory: str) -> LocalStore:
        store = LocalStore(str(tmp_path / directory))
        app = app_for(store)
        client = app.test_client()
        for headers, body in requests:
            assert client.post("/v1/events", headers=headers, data=body).status_code == 202
        close_writer(app)
        return store

    once = archive(ordered, "once")
    messy = archive([*reversed(ordered), *ordered], "messy")

    assert runs(messy, columns) == runs(once, columns)
    assert {row["status"] for row in runs(messy, "status")} >= {"Succeeded", "Failed"}
    assert count(messy, "snapshots") == count(once, "snapshots") == len(ordered)
