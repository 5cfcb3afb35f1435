"""Old data stays readable as the schema grows, and newer data is never rewritten by old code."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from layout.compaction import compact, list_partitions
from layout.evolution import MARKER_KEY, LayoutTooNew, conform, ensure_layout, read_marker
from layout.keys import records_key
from layout.records import rows_to_table, write_records
from layout.schema import LAYOUT_VERSION, PARQUET_OPTIONS, RECORDS_SCHEMA
from query.engine import Engine
from tests.helpers.history import NOW, history
from webhooks.snapshots import objects_to_rows

# The column the "previous" schema lacks, as if it had been added in this release.
NEW_COLUMN = "pipeline_task"


def _previous_schema(column: str = NEW_COLUMN) -> pa.Schema:
    fields = [field for field in RECORDS_SCHEMA if field.name != column]
    return pa.schema(fields, metadata=RECORDS_SCHEMA.metadata)


def _write_with_previous_schema(store, rows: list[dict], column: str = NEW_COLUMN) -> None:
    """Files as the previous release wrote them: pyarrow straight, without the new column."""
    by_partition: dict[tuple, list[dict]] = {}
    for row in rows:
        day = (row["created_at"] or row["received_at"]).astimezone(UTC).date()
        by_partition.setdefault((row["kind"], day), []).append(row)
    for (kind, day), part in by_partition.items():
        table = rows_to_table(part).drop_columns([column]).cast(_previous_schema(column))
        sink = io.BytesIO()
        pq.write_table(table, sink, **PARQUET_OPTIONS)
        store.write_bytes(records_key(kind, day), sink.getvalue())


def _rows(objects: list[dict]) -> list[dict]:
    return objects_to_rows({"items": objects}, datetime.now(UTC), source="import")


def test_evolution_files_without_a_new_column_read_with_it_null(store):
    objects = history(30)
    old_rows = _rows(objects[:20])
    assert any(row[NEW_COLUMN] for row in old_rows)
    _write_with_previous_schema(store, old_rows)

    # Only old files: every view still answers, the new column is null.
    engine = Engine(store)
    runs = engine.query(f"SELECT uid, {NEW_COLUMN} FROM runs")
    assert len(runs) == 20
    assert all(run[NEW_COLUMN] is None for run in runs)
    assert engine.query("SELECT count(*) AS n FROM steps")[0]["n"] > 0

    # Old and new files together.
    new_rows = _rows(objects[20:])
    write_records(store, new_rows)
    engine = Engine(store)
    values = {r["uid"]: r[NEW_COLUMN] for r in engine.query(f"SELECT uid, {NEW_COLUMN} FROM runs")}
    assert len(values) == 30
    assert all(values[row["uid"]] is None for row in old_rows)
    assert all(values[row["uid"]] == row[NEW_COLUMN] for row in new_rows)

    # Compaction rewrites old files with new ones in the current schema, keeping the nulls.
    merged = [p for p, files in list_partitions(store).items() if len(files) > 1]
    assert merged
    compact(store)
    for partition in merged:
        (info,) = list_partitions(store)[partition]
        schema = pq.read_schema(io.BytesIO(store.read_bytes(info.key)))
        assert schema.names == RECORDS_SCHEMA.names
    engine = Engine(store)
    after = {r["uid"]: r[NEW_COLUMN] for r in engine.query(f"SELECT uid, {NEW_COLUMN} FROM runs")}
    assert after == values


def test_evolution_runs_written_before_clusters_read_as_the_default_cluster(store):
    objects = history(30)
    old_rows = _rows(objects[:20])
    _write_with_previous_schema(store, old_rows, "cluster")
    new_rows = objects_to_rows({"items": objects[20:]}, datetime.now(UTC), "watcher", "prod-eu")
    write_records(store, new_rows)

    def clusters(engine: Engine) -> dict[str, str]:
        return {r["uid"]: r["cluster"] for r in engine.query("SELECT uid, cluster FROM runs")}

    expected = {
        **{row["uid"]: "default" for row in old_rows},
        **{row["uid"]: "prod-eu" for row in new_rows},
    }
    engine = Engine(store)
    assert clusters(engine) == expected
    # Every view shows the default, and filters by it as by any cluster.
    for view in ("snapshots", "taskruns", "pipelineruns", "steps"):
        found = engine.query(f"SELECT DISTINCT cluster FROM {view} ORDER BY 1")
        assert {r["cluster"] for r in found} <= {"default", "prod-eu"}, view
        assert None not in {r["cluster"] for r in found}, view
    default_uids = engine.query("SELECT uid FROM runs WHERE cluster = 'default'")
    assert {r["uid"] for r in default_uids} == {row["uid"] for row in old_rows}

    # Compaction rewrites old files with new ones in the current schema; the old rows keep
    # no cluster of their own (null in the file), and still read as the default.
    merged = [p for p, files in list_partitions(store).items() if len(files) > 1]
    assert merged
    compact(store)
    nulls = 0
    for partition in merged:
        (info,) = list_partitions(store)[partition]
        table = pq.read_table(io.BytesIO(store.read_bytes(info.key)))
        assert table.schema.names == RECORDS_SCHEMA.names
        nulls += table.column("cluster").null_count
    assert nulls > 0
    assert clusters(Engine(store)) == expected


def test_evolution_conform_fills_missing_columns_and_refuses_unknown_ones():
    rows = _rows(history(3))
    old = rows_to_table(rows).drop_columns([NEW_COLUMN, "message"])
    assert conform(old).schema.equals(RECORDS_SCHEMA)
    assert conform(old).column(NEW_COLUMN).null_count == len(rows)

    newer = rows_to_table(rows).append_column("future", pa.array(["x"] * len(rows)))
    with pytest.raises(LayoutTooNew):
        conform(newer)


def test_evolution_compaction_leaves_a_partition_written_by_newer_code(local_store):
    rows = _rows(history(6, days=1))
    write_records(local_store, rows)
    partition, files = next(iter(list_partitions(local_store).items()))
    table = rows_to_table(rows[:1]).append_column("future", pa.array(["x"]))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    kind, day = partition
    local_store.write_bytes(records_key(kind, datetime.fromisoformat(day).date()), sink.getvalue())
    before = sorted(info.key for info in local_store.list(f"records/kind={kind}/date={day}/"))

    report = compact(local_store, kind=kind, day=day)

    assert report.partitions == 0
    assert any("newer runlake" in line for line in report.skipped)
    assert (
        sorted(info.key for info in local_store.list(f"records/kind={kind}/date={day}/")) == before
    )


def test_evolution_layout_marker_written_once_and_newer_layout_refused(local_store):
    store = local_store
    write_records(store, _rows(history(4, days=1)))
    assert read_marker(store) is None

    compact(store, now=NOW)

    assert read_marker(store) == {"layout_version": LAYOUT_VERSION}
    assert ensure_layout(store) == LAYOUT_VERSION
    store.write_bytes(MARKER_KEY, json.dumps({"layout_version": LAYOUT_VERSION + 1}).encode())
    with pytest.raises(LayoutTooNew):
        compact(store)
    assert json.loads(store.read_bytes(MARKER_KEY))["layout_version"] == LAYOUT_VERSION + 1
