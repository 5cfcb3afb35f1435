"""Compaction merges small files into sorted large ones without ever losing or doubling a run,
while ingest writes and queries read, and finishes the job when re-run after a kill."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from layout.records import write_records

from layout.compaction import compact, dedupe_sorted, list_partitions, read_files, split_by_size
from layout.schema import SORT_KEYS
from query.engine import Engine
from tests.helpers.history import NOW, archive, history
from webhooks.snapshots import objects_to_rows

COUNTS = """SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM snapshots) AS
snapshots, (SELECT count(*) FROM _records) AS raw"""


def _counts(engine: Engine) -> tuple[int, int]:
    row = engine.query(COUNTS)[0]
    return row["runs"], row["snapshots"]


def _runs(engine: Engine) -> dict[str, tuple]:
    rows = engine.query("SELECT uid, status, event_id, resource_version FROM runs")
    return {r["uid"]: (r["status"], r["event_id"], r["resource_version"]) for r in rows}


class Killed(Exception):
    pass


def test_compaction_merges_each_partition_into_one_sorted_file(store):
    objects = history(24)
    archive(store, objects, per_file=6)
    archive(store, objects[:10], per_file=5)  # Tekton sends duplicates: same snapshots again
    engine = Engine(store)
    before = _counts(engine)
    assert before == (24, 48)

    report = compact(store)

    assert report.partitions > 0
    assert _counts(Engine(store)) == before
    for files in list_partitions(store).values():
        assert len(files) == 1
        table = pq.read_table(io.BytesIO(store.read_bytes(files[0].key)))
        assert table.equals(table.sort_by(SORT_KEYS))
        event_ids = table.column("event_id").to_pylist()
        assert len(event_ids) == len(set(event_ids))


def test_compaction_rerun_changes_nothing(local_store):
    archive(local_store, history(20), per_file=5)
    compact(local_store)
    keys = sorted(info.key for info in local_store.list("records"))

    report = compact(local_store)

    assert report.partitions == 0
    assert sorted(info.key for info in local_store.list("records")) == keys


def test_compaction_older_than_leaves_young_files_alone(local_store):
    archive(local_store, history(20))
    keys = sorted(info.key for info in local_store.list("records"))

    assert compact(local_store, older_than=timedelta(hours=1)).partitions == 0
    assert sorted(info.key for info in local_store.list("records")) == keys
    later = datetime.now(UTC) + timedelta(hours=2)
    assert compact(local_store, older_than=timedelta(hours=1), now=later).partitions > 0


def test_compaction_partition_option_compacts_only_that_partition(local_store):
    archive(local_store, history(40))
    before = list_partitions(local_store)
    chosen = next(p for p, files in before.items() if len(files) > 1)

    compact(local_store, kind=chosen[0], day=chosen[1])

    after = list_partitions(local_store)
    assert len(after[chosen]) == 1
    assert {p: len(f) for p, f in after.items() if p != chosen} == {
        p: len(f) for p, f in before.items() if p != chosen
    }


def test_compaction_target_size_splits_files_but_never_a_run(local_store):
    archive(local_store, history(60, days=1), per_file=20)
    files = list_partitions(local_store)[("taskrun", "2026-11-19")]
    table = dedupe_sorted(read_files(local_store, files))

    pieces = split_by_size(table, 8 * 1024)

    assert len(pieces) > 2
    owners: dict[str, int] = {}
    rows = 0
    for n, data in enumerate(pieces):
        piece = pq.read_table(io.BytesIO(data))
        rows += piece.num_rows
        for uid in set(piece.column("uid").to_pylist()):
            assert owners.setdefault(uid, n) == n, f"{uid} split across files"
    assert rows == table.num_rows


def test_compaction_killed_between_writing_and_deleting_then_rerun(store):
    archive(store, history(20), per_file=5)
    engine = Engine(store)
    before = (_counts(engine), _runs(engine))
    files_before = len(store.list("records"))

    def kill(new_keys: list[str]) -> None:
        raise Killed(new_keys)

    with pytest.raises(Killed):
        compact(store, before_delete=kill)
    # Killed after writing one merged file: the old files are all there, plus the new one,
    # and the views hide the duplicates.
    assert len(store.list("records")) == files_before + 1
    engine = Engine(store)
    assert (_counts(engine), _runs(engine)) == before

    compact(store)
    compact(store)

    engine = Engine(store)
    assert (_counts(engine), _runs(engine)) == before
    assert engine.query("SELECT count(*) AS n FROM _records")[0]["n"] == before[0][1]
    assert all(len(files) == 1 for files in list_partitions(store).values())


def test_compaction_latest_only_after_keeps_the_runs_view(store):
    archive(store, history(24), per_file=6)
    engine = Engine(store)
    runs_before = _runs(engine)
    bytes_before = sum(info.size for info in store.list("records"))

    report = compact(store, latest_only_after=timedelta(days=7), now=NOW)

    engine = Engine(store)
    assert _runs(engine) == runs_before
    cutoff = NOW - timedelta(days=7)
    per_run = engine.query("""SELECT uid, count(*) AS n,
        max(coalesce(completed_at, created_at)) FILTER (WHERE status IN
            ('Succeeded', 'Failed', 'Cancelled', 'TimedOut')) AS done
        FROM snapshots GROUP BY uid""")
    old = [r for r in per_run if r["done"] is not None and r["done"] < cutoff]
    recent = [r for r in per_run if r["done"] is None or r["done"] >= cutoff]
    assert old and recent
    assert all(r["n"] == 1 for r in old)
    assert all(r["n"] == 2 for r in recent)
    assert report.bytes_written < bytes_before
    assert compact(store, latest_only_after=timedelta(days=7), now=NOW).partitions == 0


def test_compaction_racing_ingest_and_queries_never_loses_or_doubles_a_run(store):
    objects = history(72, seed=5, days=2)
    rounds = 6
    per_round = len(objects) // rounds
    written: list[str] = []  # uids whose rows are durable, in order
    started: list[str] = []  # uids whose rows are durable or being written
    lock = threading.Lock()
    engine = Engine(store)
    problems: list[str] = []

    def ingest(batch: list[dict]) -> None:
        for i in range(0, len(batch), 3):
            part = batch[i : i + 3]
            rows = objects_to_rows({"items": part}, datetime.now(UTC), source="watcher")
            with lock:
                started.extend(o["metadata"]["uid"] for o in part)
            write_records(store, rows)
            with lock:
                written.extend(o["metadata"]["uid"] for o in part)

    def query(stop: threading.Event) -> None:
        while not stop.is_set():
            with lock:
                floor = len(written)
            try:
                runs, snapshots = _counts(engine)
            except Exception as exc:  # noqa: BLE001 - a failed query is a finding, not a crash
                problems.append(f"query failed: {exc}")
                continue
            with lock:
                ceiling = len(started)
            # Each view lists the files itself, so the two may see different ingest moments.
            if not (floor <= runs <= ceiling and floor <= snapshots <= ceiling):
                problems.append(
                    f"saw {runs} runs / {snapshots} snapshots, expected {floor}..{ceiling}"
                )

    for n in range(rounds):
        batch = objects[n * per_round : (n + 1) * per_round]
        stop = threading.Event()
        threads = [
            threading.Thread(target=ingest, args=(batch,)),
            threading.Thread(target=query, args=(stop,)),
            threading.Thread(target=query, args=(stop,)),
        ]
        for thread in threads:
            thread.start()
        compact(store, target_size=1024 * 1024)
        threads[0].join()
        compact(store)
        stop.set()
        for thread in threads[1:]:
            thread.join()
        assert not problems, problems[:3]
        assert _counts(engine) == (len(written), len(written)), f"round {n}"
    assert len(written) == rounds * per_round
