"""`runlake migrate`: a layout-1 store as the previous release wrote it becomes layout 2 with
the same runs and snapshots; killed halfway, the next run finishes without doubling anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from layout.evolution import check_layout, read_marker, store_layout
from layout.migrate import migrate, v1_partitions
from layout.schema import LAYOUT_VERSION
from query.engine import Engine
from tests.helpers.history import history, running_snapshot
from tests.helpers.layout_v1 import mark_v1, write_v1
from webhooks.snapshots import objects_to_rows


def _v1_store(store, runs: int = 20):
    """Each run's running and final snapshot, in several files per partition, and one
    snapshot stored twice (layout 1 deduplicated at read time)."""
    objects = history(runs, days=3)
    now = datetime.now(UTC)
    early = objects_to_rows({"items": [running_snapshot(o) for o in objects]}, now, "watcher")
    final = objects_to_rows({"items": objects}, now, "watcher")
    for i in range(0, len(early), 5):
        write_v1(store, early[i : i + 5])
    for i in range(0, len(final), 5):
        write_v1(store, final[i : i + 5])
    write_v1(store, final[:1])  # a duplicate event, as layout 1 could hold
    mark_v1(store)
    latest = {row["uid"]: (row["status"], row["event_id"]) for row in final}
    events = sorted({row["event_id"] for row in early + final})
    return latest, events


def _answers(store):
    engine = Engine(store)
    try:
        runs = {
            r["uid"]: (r["status"], r["event_id"])
            for r in engine.query("SELECT uid, status, event_id FROM runs")
        }
        events = sorted(r["event_id"] for r in engine.query("SELECT event_id FROM snapshots"))
    finally:
        engine.close()
    return runs, events


def test_migrate_turns_a_layout_1_store_into_layout_2(store):
    latest, events = _v1_store(store)
    assert store_layout(store) == 1

    report = migrate(store)

    assert report.partitions == len({(r["kind"], r["date"]) for r in _partitions_of(store)})
    assert read_marker(store) == {"layout_version": LAYOUT_VERSION}
    check_layout(store)  # no longer refused
    assert store.list("records/") == []
    assert _answers(store) == (latest, events)
    assert report.rows == len(events) + 1  # every stored row read once, the duplicate too


def _partitions_of(store) -> list[dict]:
    engine = Engine(store)
    try:
        return engine.query("SELECT DISTINCT kind, date FROM _runs")
    finally:
        engine.close()


class Killed(Exception):
    pass


def test_migrate_killed_halfway_then_run_again(local_store):
    latest, events = _v1_store(local_store)
    partitions = list(v1_partitions(local_store))
    assert len(partitions) > 2
    seen = []

    def die_after_two(name: str, rows: int) -> None:
        seen.append(name)
        if len(seen) == 2:
            raise Killed

    with pytest.raises(Killed):
        migrate(local_store, progress=die_after_two)
    assert store_layout(local_store) == 1  # still refused by everything else
    assert len(v1_partitions(local_store)) == len(partitions) - 2

    migrate(local_store)
    assert _answers(local_store) == (latest, events)
    assert migrate(local_store).rows == 0  # a third run has nothing to do
