"""The materializer: the inbox into both tables, idempotent wherever it is killed, never
letting an older snapshot replace a newer one, one writer per store."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime

import pytest

from ingest.archive import import_objects
from layout.inbox import list_inbox, write_inbox
from layout.lease import Lease
from layout.materializer import Materializer
from layout.tables import INDEX, RUNS, SNAPSHOTS, Tables
from query.engine import Engine
from tests.helpers.expected import latest_runs, stored_snapshots
from tests.helpers.history import archive, history, running_snapshot
from tests.helpers.stages import materialize
from webhooks.snapshots import objects_to_rows

STEPS = ("read", "index", "snapshots", "runs", "delete")


class Killed(Exception):
    """Stands for the process dying at that point of a cycle."""


def _table_rows(store, path: str) -> list[dict]:
    table = Tables(store).open(path)
    return [] if table is None else table.to_pyarrow_table().to_pylist()


def _answers(store) -> tuple[dict, list]:
    """What readers see: each run's uid -> (status, resource_version), and every event_id."""
    engine = Engine(store)
    try:
        runs = {
            r["uid"]: (r["status"], r["resource_version"])
            for r in engine.query("SELECT uid, status, resource_version FROM runs")
        }
        events = sorted(r["event_id"] for r in engine.query("SELECT event_id FROM snapshots"))
    finally:
        engine.close()
    return runs, events


def test_materializer_moves_the_inbox_into_both_tables_and_deletes_it(store):
    objects = history(30, days=2)
    archive(store, objects)  # a running, then the final snapshot of each run, 4 per object
    expected = latest_runs(store)
    events = {row["event_id"] for row in stored_snapshots(store)}
    before = _answers(store)

    moved = materialize(store)

    assert moved == len(events) and list_inbox(store) == []
    runs = _table_rows(store, RUNS)
    assert sorted(r["uid"] for r in runs) == sorted(expected)  # one row per run
    assert {r["uid"]: r["event_id"] for r in runs} == {
        uid: row["event_id"] for uid, row in expected.items()
    }
    assert sorted(r["event_id"] for r in _table_rows(store, SNAPSHOTS)) == sorted(events)
    assert {r["uid"] for r in _table_rows(store, INDEX)} == set(expected)
    assert _answers(store) == before  # readers see the same runs before and after


@pytest.mark.parametrize("killed_after", STEPS)
def test_materializer_killed_anywhere_loses_nothing_and_stores_nothing_twice(
    local_store, killed_after
):
    archive(local_store, history(12, days=1))
    expected = latest_runs(local_store)
    events = sorted(row["event_id"] for row in stored_snapshots(local_store))

    dying = Materializer(local_store)

    def die(step: str) -> None:
        if step == killed_after:
            raise Killed(step)

    dying.after_step = die
    with pytest.raises(Killed):
        dying.cycle()
    dying.close()
    materialize(local_store)  # a new process takes over

    runs = _table_rows(local_store, RUNS)
    assert sorted(r["uid"] for r in runs) == sorted(expected)
    assert {r["uid"]: r["event_id"] for r in runs} == {
        uid: row["event_id"] for uid, row in expected.items()
    }
    assert sorted(r["event_id"] for r in _table_rows(local_store, SNAPSHOTS)) == events
    index = [r["uid"] for r in _table_rows(local_store, INDEX)]
    assert sorted(index) == sorted(set(index)) == sorted(expected)
    assert list_inbox(local_store) == []


def test_materializer_late_older_and_repeated_snapshots_across_cycles(store):
    final = history(6, days=1)
    import_objects(store, final, source="watcher")
    materialize(store)
    runs_before, events_before = _answers(store)

    # A cycle later: each run's earlier, running snapshot arrives late (Tekton sends out of
    # order), and the final snapshots are sent again (duplicates).
    import_objects(store, [running_snapshot(o) for o in final], source="watcher")
    import_objects(store, final, source="watcher")
    runs_inbox, _ = _answers(store)
    materialize(store)
    runs_after, events_after = _answers(store)

    assert runs_inbox == runs_after == runs_before  # nothing older replaced anything
    assert len(events_after) == len(events_before) + len(final)  # the late ones, once each
    assert set(events_before) < set(events_after)


def test_materializer_later_snapshot_replaces_the_run_row(store):
    obj = history(1, days=1)[0]
    running = running_snapshot(obj)
    import_objects(store, [running], source="watcher")
    materialize(store)
    assert [r["status"] for r in _table_rows(store, RUNS)] == ["Running"]
    import_objects(store, [obj], source="watcher")
    materialize(store)
    [row] = _table_rows(store, RUNS)
    [final] = objects_to_rows(obj, datetime.now(UTC), "watcher")
    assert (row["status"], row["event_id"]) == (final["status"], final["event_id"])
    assert row["status"] != "Running"


def test_materializer_keeps_a_run_in_the_partition_of_its_first_snapshot(local_store):
    obj = history(1, days=1)[0]
    early = running_snapshot(obj)
    del early["metadata"]["creationTimestamp"]  # partitioned by its receipt date instead
    import_objects(local_store, [early], source="import")
    materialize(local_store)
    moved = copy.deepcopy(obj)
    moved["metadata"]["creationTimestamp"] = "2001-01-01T00:00:00Z"  # another date
    import_objects(local_store, [moved], source="import")
    runs_inbox, _ = _answers(local_store)
    materialize(local_store)
    [row] = _table_rows(local_store, RUNS)
    assert row["date"] == datetime.now(UTC).date().isoformat()  # still where it started
    assert _answers(local_store)[0] == runs_inbox
    assert len(runs_inbox) == 1


def test_materializer_a_second_one_waits_for_the_lease(store):
    holder = Lease(store, "materialize")
    assert holder.acquire()
    try:
        other = Lease(store, "materialize")
        assert not other.acquire(wait_s=0.0)  # one writer per store
        stop = threading.Event()
        write_inbox(store, objects_to_rows(history(1)[0], datetime.now(UTC), "import"))
        waiting = threading.Thread(target=Materializer(store).run, args=(0.05, stop))
        waiting.start()
        threading.Event().wait(0.5)
        assert list_inbox(store)  # it could not commit: the lease is held
        assert other.wanted_by_other() is False  # nobody asked `other`
    finally:
        holder.release()
    try:
        for _ in range(100):
            if not list_inbox(store):
                break
            threading.Event().wait(0.1)
        assert list_inbox(store) == []  # the waiting one took the lease and did the work
    finally:
        stop.set()
        waiting.join(10)


def test_materializer_holder_hands_the_lease_to_who_asks(local_store):
    stop = threading.Event()
    running = threading.Thread(target=Materializer(local_store).run, args=(0.05, stop))
    running.start()
    try:
        for _ in range(50):  # until it holds the lease
            if Lease(local_store, "x").holder() is not None:
                break
            threading.Event().wait(0.05)
        compactor = Lease(local_store, "compact")
        assert compactor.acquire(wait_s=10)  # asked, and handed over at a cycle's end
        compactor.release()
    finally:
        stop.set()
        running.join(10)


def test_materializer_readers_see_every_run_once_with_its_latest_status(store):
    objects = history(40, days=1)
    rounds = 4
    per_round = len(objects) // rounds
    expected: dict[str, str] = {}
    problems: list[str] = []
    engine = Engine(store)
    stop = threading.Event()
    lock = threading.Lock()

    def read() -> None:
        while not stop.is_set():
            with lock:
                floor = dict(expected)
            rows = engine.query(
                "SELECT uid, count(*) AS n, any_value(status) AS status FROM runs GROUP BY uid"
            )
            doubled = [r["uid"] for r in rows if r["n"] != 1]
            if doubled:
                problems.append(f"runs shown twice: {doubled[:3]}")
            seen = {r["uid"]: r["status"] for r in rows}
            for uid, status in floor.items():
                if seen.get(uid) != status:
                    problems.append(f"{uid}: {seen.get(uid)} instead of {status}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(rounds):
            batch = objects[n * per_round : (n + 1) * per_round]
            archive(store, batch, per_file=3)
            statuses = {uid: row["status"] for uid, row in latest_runs(store).items()}
            with lock:
                expected.update(statuses)
            materialize(store)
    finally:
        stop.set()
        reader.join()
        engine.close()
    assert not problems, problems[:5]
