import time
from datetime import UTC, datetime

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from layout.compaction import compact
from layout.duck import extension_path
from layout.inbox import InboxLister, list_inbox, write_inbox
from layout.store import StoreError, StoreURLError, open_store
from layout.tables import RUNS, SNAPSHOTS, Tables, table_uri
from tests.helpers.stages import materialize


def _row(uid: str, **extra) -> dict:
    row = {
        "uid": uid,
        "namespace": "ci",
        "name": f"run-{uid}",
        "kind": "TaskRun",
        "status": "Succeeded",
        "event_id": f"ev-{uid}",
        "created_at": datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=UTC),
        "received_at": datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC),
        "labels": {"tekton.dev/task": "build", "team": "ünïcode"},
        "annotations": {},
        "duration_seconds": 12.5,
    }
    row.update(extra)
    return row


def test_write_inbox_is_one_durable_object_per_batch(store):
    key = write_inbox(store, [_row("a"), _row("b", kind="PipelineRun")])
    assert key.startswith("inbox/") and key.endswith(".ndjson")
    assert [info.key for info in list_inbox(store)] == [key]
    assert write_inbox(store, []) is None  # nothing to store, no object


def test_list_inbox_with_known_objects_sees_new_and_deleted_ones(store):
    first, second = (write_inbox(store, [_row(uid)]) for uid in ("a", "b"))
    known = {info.key: info for info in list_inbox(store)}
    store.delete(first)
    third = write_inbox(store, [_row("c")])

    relisted = list_inbox(store, known=known)

    # (keys written in the same millisecond sort in no particular order)
    assert sorted(info.key for info in relisted) == sorted([second, third])
    assert relisted == list_inbox(store)


def test_tables_read_back_unchanged_in_pyarrow_polars_and_duckdb(local_store):
    write_inbox(local_store, [_row("a")])
    materialize(local_store)
    uri = table_uri(local_store, RUNS)

    table = DeltaTable(uri).to_pyarrow_table()
    assert table.schema.field("created_at").type.tz == "UTC"
    [row] = table.to_pylist()
    assert row["created_at"] == datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=UTC)
    assert (row["kind"], row["date"]) == ("TaskRun", "2026-03-01")  # the partition
    assert dict(row["labels"])["team"] == "ünïcode"
    [file] = Tables(local_store).state(RUNS).files
    assert pq.ParquetFile(file.uri).metadata.row_group(0).column(0).compression == "SNAPPY"
    write_inbox(local_store, [_row("b")])
    materialize(local_store)
    compact(local_store)  # settled snapshots are rewritten compact; runs, scanned most, not
    [file] = Tables(local_store).state(SNAPSHOTS).files
    assert pq.ParquetFile(file.uri).metadata.row_group(0).column(0).compression == "ZSTD"
    [file] = Tables(local_store).state(RUNS).files
    assert pq.ParquetFile(file.uri).metadata.row_group(0).column(0).compression == "SNAPPY"

    frame = pl.read_delta(uri)
    assert frame["created_at"].dtype == pl.Datetime("us", "UTC")
    assert frame["duration_seconds"][0] == 12.5

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute(f"LOAD '{extension_path('delta')}'")
    con.execute("SET TimeZone = 'UTC'")
    created, labels, kind = con.execute(
        f"SELECT created_at, labels, kind FROM delta_scan('{uri}')"
    ).fetchone()
    assert created.isoformat() == "2026-03-01T23:59:59.123456+00:00"
    assert labels["team"] == "ünïcode" and kind == "TaskRun"


def test_store_write_is_atomic_and_leaves_no_temporary_file(local_store):
    with pytest.raises(RuntimeError), local_store.open_write("logs/ns/uid/x.log.gz") as out:
        out.write(b"partial")
        raise RuntimeError("writer died")
    assert local_store.list("logs") == []
    local_store.write_bytes("logs/ns/uid/x.log.gz", b"whole")
    assert local_store.read_bytes("logs/ns/uid/x.log.gz") == b"whole"


def test_open_store_accepts_directory_file_url_and_s3(tmp_path):
    assert open_store(str(tmp_path)).root == str(tmp_path)
    assert open_store(f"file://{tmp_path}").root == str(tmp_path)
    s3 = open_store("s3://bucket/some/prefix/", s3_endpoint="http://127.0.0.1:9")
    assert s3.uri("inbox/x") == "s3://bucket/some/prefix/inbox/x"


@pytest.mark.parametrize("url", ["s3:///nobucket", "ftp://host/x", "file://host/x", ""])
def test_open_store_rejects_bad_urls(url):
    with pytest.raises(StoreURLError):
        open_store(url)


def test_s3_store_unreachable_raises_store_error(moto_s3):
    from tests.helpers.servers import free_port

    store = open_store("s3://nowhere/x", s3_endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError):
        store.check()
    with pytest.raises(StoreError):
        write_inbox(store, [_row("a")])


def test_inbox_lister_sees_each_change_and_lists_only_after_one(store, monkeypatch):
    lister = InboxLister(store)
    listings = []
    real_list = store.list
    monkeypatch.setattr(store, "list", lambda *a, **k: listings.append(1) or real_list(*a, **k))
    first = write_inbox(store, [_row("a")])

    assert [info.key for info in lister.list()] == [first]
    stamp = store.folder_stamp("inbox/")
    time.sleep((stamp.settle_s if stamp else 0) + 0.01)  # the stamp has settled
    assert [info.key for info in lister.list()] == [first]
    before = len(listings)
    assert [info.key for info in lister.list()] == [first]
    unchanged_listings = len(listings) - before
    second = write_inbox(store, [_row("b")])
    assert sorted(info.key for info in lister.list()) == sorted([first, second])
    store.delete(first)
    assert [info.key for info in lister.list()] == [second]

    # A local directory says when it is unchanged; S3 has no such thing and is listed.
    assert unchanged_listings == (0 if store.folder_stamp("inbox/") else 1)


def test_s3_store_listing_a_deleted_bucket_raises_store_error(moto_s3, s3_bucket, s3_store):
    write_inbox(s3_store, [_row("a")])
    assert len(list_inbox(s3_store)) == 1
    assert s3_store.list("tables/") == []  # an empty folder of a bucket that exists
    moto_s3.delete_bucket(s3_bucket)
    with pytest.raises(StoreError, match="cannot list"):
        list_inbox(s3_store)
    with pytest.raises(StoreError, match="cannot list"):
        s3_store.list("tables/")
