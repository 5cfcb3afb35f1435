"""Compaction on Delta: OPTIMIZE rewrites a quiet partition's small files into few sorted ones,
VACUUM deletes what no recent version uses, and readers meanwhile see every run once."""

from __future__ import annotations

import copy
import threading
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from layout.compaction import compact, parse_partition
from layout.tables import INDEX, RUNS, SNAPSHOTS, Tables
from query.engine import Engine
from tests.helpers.history import archive, history
from tests.helpers.stages import materialize


def _files(store, path):
    return Tables(store).state(path).files


def _answers(engine: Engine) -> tuple[list, list]:
    runs = engine.query("SELECT uid, status, event_id FROM runs ORDER BY uid")
    events = engine.query("SELECT event_id FROM snapshots ORDER BY event_id")
    return [tuple(r.values()) for r in runs], [r["event_id"] for r in events]


def _built(store, rounds: int = 4, runs: int = 24):
    """A day's history arriving over several materializer cycles: many small files."""
    objects = history(runs, seed=6, days=2)
    step = len(objects) // rounds
    for n in range(rounds):
        archive(store, objects[n * step : (n + 1) * step], per_file=2)
        materialize(store)
    return objects


def test_compaction_rewrites_each_partition_into_one_sorted_file(store):
    _built(store)
    engine = Engine(store)
    before = _answers(engine)
    partitions = {(f.kind, f.date) for f in _files(store, RUNS)}
    assert len(_files(store, RUNS)) > len(partitions)  # several files in some partition

    report = compact(store, keep=timedelta(0))

    assert report.partitions and report.files_read > report.files_written
    for path in (RUNS, SNAPSHOTS):
        files = _files(store, path)
        assert len(files) == len({(f.kind, f.date) for f in files})  # one per partition
    assert _answers(engine) == before
    # VACUUM with keep=0 left only the files the newest version uses.
    on_disk = {
        i.key
        for i in store.list("tables/runs/")
        if i.key.endswith(".parquet") and "/_delta_log/" not in i.key
    }
    assert len(on_disk) == len(_files(store, RUNS))


def test_compaction_rerun_changes_nothing(local_store):
    _built(local_store)
    compact(local_store, keep=timedelta(0))
    files = {p: _files(local_store, p) for p in (RUNS, SNAPSHOTS, INDEX)}
    again = compact(local_store, keep=timedelta(0))
    assert again.partitions == 0
    assert {p: _files(local_store, p) for p in (RUNS, SNAPSHOTS, INDEX)} == files


def test_compaction_older_than_leaves_partitions_still_written_alone(local_store):
    _built(local_store)
    files = _files(local_store, RUNS)
    assert compact(local_store, older_than=timedelta(hours=1)).partitions == 0
    assert _files(local_store, RUNS) == files


def test_compaction_partition_option_compacts_only_that_partition(local_store):
    _built(local_store)
    before = _files(local_store, RUNS)
    busy = max(
        {(f.kind, f.date) for f in before}, key=lambda p: sum((f.kind, f.date) == p for f in before)
    )
    compact(local_store, kind=busy[0], day=busy[1])
    after = _files(local_store, RUNS)
    assert [f for f in after if (f.kind, f.date) == busy] != [
        f for f in before if (f.kind, f.date) == busy
    ]
    assert [f for f in after if (f.kind, f.date) != busy] == [
        f for f in before if (f.kind, f.date) != busy
    ]


def test_compaction_parse_partition_takes_kind_in_any_case_and_refuses_junk():
    assert parse_partition("kind=taskrun,date=2026-11-01") == ("TaskRun", "2026-11-01")
    assert parse_partition("date=2026-11-01") == (None, "2026-11-01")
    for bad in ("kind=Job", "date=2026-13-01", "day=2026-11-01"):
        with pytest.raises(ValueError):
            parse_partition(bad)


def test_compaction_index_is_sorted_by_uid(local_store):
    _built(local_store)
    compact(local_store, keep=timedelta(0))
    [file] = _files(local_store, INDEX)
    uids = pq.read_table(file.uri).column("uid").to_pylist()
    assert uids == sorted(uids)


def test_compaction_readers_during_optimize_and_vacuum_see_every_run_once(store):
    objects = _built(store, rounds=6, runs=36)
    engine = Engine(store)
    expected = _answers(engine)
    stop = threading.Event()
    problems: list[str] = []

    def read() -> None:
        while not stop.is_set():
            try:
                seen = _answers(engine)
            except Exception as exc:  # noqa: BLE001 - a failed query is a finding
                problems.append(f"query failed: {exc}")
                continue
            if seen != expected:
                problems.append(f"saw {len(seen[0])} runs / {len(seen[1])} snapshots")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        compact(store, target_size=64 * 1024)
        compact(store, keep=timedelta(0))
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not problems, problems[:3]
    assert len(expected[0]) == len({o["metadata"]["uid"] for o in objects})


def _uids(file) -> list[str]:
    return pq.read_table(file.uri, columns=["uid"]).column("uid").to_pylist()


def _row_groups_in_uid_order(file) -> bool:
    """Each row group's uids all sort after the previous one's: what lets a reader skip row
    groups by their uid range."""
    parquet = pq.ParquetFile(file.uri)
    groups = [
        parquet.read_row_group(i, columns=["uid"]).column("uid").to_pylist()
        for i in range(parquet.metadata.num_row_groups)
    ]
    return all(max(a) < min(b) for a, b in zip(groups, groups[1:], strict=False))


def test_compaction_sorts_runs_by_uid_again_after_a_late_merge(local_store, monkeypatch):
    monkeypatch.setattr("layout.tables.ROW_GROUP_ROWS", 4)  # several row groups per file
    objects = _built(local_store, runs=48)
    compact(local_store, keep=timedelta(0))
    files = _files(local_store, RUNS)
    assert max(pq.ParquetFile(f.uri).metadata.num_row_groups for f in files) > 1
    assert all(_row_groups_in_uid_order(f) for f in files)

    # A late snapshot of a run in the fullest partition: its MERGE rewrites that file.
    fullest = max(files, key=lambda f: f.rows)
    uid = max(_uids(fullest))
    late = copy.deepcopy(next(o for o in objects if o["metadata"]["uid"] == uid))
    late["metadata"]["resourceVersion"] = str(int(late["metadata"]["resourceVersion"]) + 100)
    late["metadata"].setdefault("annotations", {})["note"] = "re-sent"
    archive(local_store, [late], with_running=False)
    materialize(local_store)
    [merged] = [
        f for f in _files(local_store, RUNS) if (f.kind, f.date) == (fullest.kind, fullest.date)
    ]
    assert not _row_groups_in_uid_order(merged)
    answers = _answers(Engine(local_store))

    report = compact(local_store, keep=timedelta(0))

    assert report.partitions == 2  # that partition of runs, and of snapshots (a file added)
    [resorted] = [
        f for f in _files(local_store, RUNS) if (f.kind, f.date) == (fullest.kind, fullest.date)
    ]
    assert _uids(resorted) == sorted(_uids(resorted))
    assert _answers(Engine(local_store)) == answers
    assert compact(local_store, keep=timedelta(0)).partitions == 0
