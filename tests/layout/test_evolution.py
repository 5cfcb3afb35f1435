"""Old data stays readable as the schema grows, a layout-1 store is refused with the command
that converts it, and a newer layout is never touched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from layout.compaction import compact
from layout.evolution import (
    MARKER_KEY,
    LayoutTooNew,
    LayoutTooOld,
    check_layout,
    conform,
    ensure_layout,
    read_marker,
)
from layout.inbox import encode_rows, inbox_key, write_inbox
from layout.materializer import Materializer
from layout.schema import LAYOUT_VERSION, SNAPSHOT_SCHEMA
from layout.tables import RUNS, SNAPSHOTS, Tables, storage_options, table_uri
from query.engine import Engine
from tests.helpers.history import history
from tests.helpers.layout_v1 import mark_v1, write_v1
from tests.helpers.rows import as_table
from tests.helpers.stages import materialize
from webhooks.snapshots import objects_to_rows

# The column the "previous" schema lacks, as if it had been added in this release.
NEW_COLUMN = "pipeline_task"


def _rows(objects: list[dict]) -> list[dict]:
    return objects_to_rows({"items": objects}, datetime.now(UTC), source="import")


def _write_tables_as_the_previous_release(
    store, rows: list[dict], column: str = NEW_COLUMN
) -> None:
    """Both tables as a release without `column` wrote them (runs: the latest per uid)."""
    latest = {}
    for row in rows:
        latest[row["uid"]] = row  # one snapshot per run here
    for path, part in ((SNAPSHOTS, rows), (RUNS, list(latest.values()))):
        table = as_table(part)
        days = [
            (r["created_at"] or r["received_at"]).astimezone(UTC).date().isoformat() for r in part
        ]
        table = table.append_column("date", pa.array(days)).drop_columns([column])
        write_deltalake(
            table_uri(store, path),
            table,
            partition_by=["kind", "date"],
            mode="append",
            storage_options=storage_options(store) or None,
        )


def _values(store) -> dict[str, str | None]:
    engine = Engine(store)
    try:
        return {
            r["uid"]: r[NEW_COLUMN] for r in engine.query(f"SELECT uid, {NEW_COLUMN} FROM runs")
        }
    finally:
        engine.close()


def test_evolution_tables_without_a_new_column_read_with_it_null(store):
    objects = history(30, days=1)
    old_rows = _rows(objects[:20])
    assert any(row[NEW_COLUMN] for row in old_rows)
    _write_tables_as_the_previous_release(store, old_rows)

    # Only old files: every view still answers, the new column is null.
    values = _values(store)
    assert len(values) == 20 and all(v is None for v in values.values())
    engine = Engine(store)
    assert engine.query("SELECT count(*) AS n FROM steps")[0]["n"] > 0
    engine.close()

    # This release's rows join: the tables' schema gains the column, old rows keep null.
    new_rows = _rows(objects[20:])
    write_inbox(store, new_rows)
    materialize(store)
    assert NEW_COLUMN in Tables(store).open(RUNS).schema().to_arrow().names
    values = _values(store)
    assert len(values) == 30
    assert all(values[row["uid"]] is None for row in old_rows)
    assert all(values[row["uid"]] == row[NEW_COLUMN] for row in new_rows)

    # OPTIMIZE rewrites old and new files into one, keeping the nulls and the values.
    assert compact(store, keep=timedelta(0)).partitions
    assert _values(store) == values


def test_evolution_runs_written_before_clusters_read_as_the_default_cluster(store):
    objects = history(30, days=1)
    old_rows = _rows(objects[:20])
    _write_tables_as_the_previous_release(store, old_rows, "cluster")
    new_rows = objects_to_rows({"items": objects[20:]}, datetime.now(UTC), "watcher", "prod-eu")
    write_inbox(store, new_rows)

    def clusters() -> dict[str, str]:
        engine = Engine(store)
        try:
            return {r["uid"]: r["cluster"] for r in engine.query("SELECT uid, cluster FROM runs")}
        finally:
            engine.close()

    expected = {
        **{row["uid"]: "default" for row in old_rows},
        **{row["uid"]: "prod-eu" for row in new_rows},
    }
    assert clusters() == expected  # the new runs still in the inbox
    materialize(store)
    assert clusters() == expected  # and in the tables, whose schema gained the column
    engine = Engine(store)
    for view in ("snapshots", "taskruns", "pipelineruns", "steps"):
        found = {r["cluster"] for r in engine.query(f"SELECT DISTINCT cluster FROM {view}")}
        assert found <= {"default", "prod-eu"} and None not in found, view
    default_uids = engine.query("SELECT uid FROM runs WHERE cluster = 'default'")
    assert {r["uid"] for r in default_uids} == {row["uid"] for row in old_rows}
    engine.close()

    # OPTIMIZE rewrites old and new files into one; the old rows keep no cluster of their
    # own (null in the file) and still read as the default.
    assert compact(store, keep=timedelta(0)).partitions
    rows = Tables(store).open(RUNS).to_pyarrow_table()
    assert rows.column("cluster").null_count == len(old_rows)
    assert clusters() == expected


def test_evolution_inbox_objects_written_before_a_column_read_it_null(local_store):
    rows = _rows(history(3, days=1))
    old = [{k: v for k, v in row.items() if k != NEW_COLUMN} for row in rows]
    local_store.write_bytes(inbox_key(), encode_rows(old))
    assert set(_values(local_store).values()) == {None}  # read from the inbox
    materialize(local_store)
    assert set(_values(local_store).values()) == {None}  # and from the tables


def test_evolution_conform_fills_missing_columns_and_refuses_unknown_ones():
    table = as_table(_rows(history(3)))
    old = table.drop_columns([NEW_COLUMN, "message"])
    assert conform(old, SNAPSHOT_SCHEMA).schema.equals(SNAPSHOT_SCHEMA)
    assert conform(old, SNAPSHOT_SCHEMA).column(NEW_COLUMN).null_count == table.num_rows
    newer = table.append_column("future", pa.array(["x"] * table.num_rows))
    with pytest.raises(LayoutTooNew):
        conform(newer, SNAPSHOT_SCHEMA)


def test_evolution_marker_written_by_the_first_writer_and_newer_layout_refused(local_store):
    write_inbox(local_store, _rows(history(4, days=1)))
    assert read_marker(local_store) is None
    assert ensure_layout(local_store) == LAYOUT_VERSION
    assert read_marker(local_store) == {"layout_version": LAYOUT_VERSION}

    local_store.write_bytes(MARKER_KEY, json.dumps({"layout_version": LAYOUT_VERSION + 1}).encode())
    with pytest.raises(LayoutTooNew, match="upgrade runlake"):
        check_layout(local_store)
    stop_after_one = Materializer(local_store)
    with pytest.raises(LayoutTooNew):  # the loop refuses before committing anything
        stop_after_one.run(0.01, stop=_stopped())
    assert Tables(local_store).open(RUNS) is None
    assert json.loads(local_store.read_bytes(MARKER_KEY))["layout_version"] == LAYOUT_VERSION + 1


@pytest.mark.parametrize("marked", [False, True])
def test_evolution_layout_1_is_refused_naming_runlake_migrate(local_store, marked):
    write_v1(local_store, _rows(history(4, days=1)))
    if marked:
        mark_v1(local_store)
    with pytest.raises(LayoutTooOld, match="runlake migrate"):
        check_layout(local_store)
    with pytest.raises(Exception, match="runlake migrate"):
        Engine(local_store).query("SELECT count(*) FROM runs")


def _stopped():
    import threading

    stop = threading.Event()
    stop.set()
    return stop
