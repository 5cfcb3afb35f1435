from datetime import UTC, datetime

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from layout.records import write_records

from layout.store import StoreError, StoreURLError, open_store
from tests.helpers.expected import read_records


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


def test_write_records_partitions_by_kind_and_creation_date(store):
    keys = write_records(store, [_row("a"), _row("b", kind="PipelineRun")])
    assert sorted(k.rsplit("/", 1)[0] for k in keys) == [
        "records/kind=pipelinerun/date=2026-03-01",
        "records/kind=taskrun/date=2026-03-01",
    ]
    assert sorted(o.key for o in store.list("records")) == sorted(keys)


def test_write_records_reads_back_unchanged_in_pyarrow_polars_and_duckdb(local_store):
    [key] = write_records(local_store, [_row("a")])
    path = local_store.uri(key)

    table = read_records(local_store, key)
    assert table.schema.field("created_at").type.tz == "UTC"
    assert table.to_pylist()[0]["created_at"] == datetime(
        2026, 3, 1, 23, 59, 59, 123456, tzinfo=UTC
    )
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"

    frame = pl.read_parquet(path)
    assert frame["created_at"].dtype == pl.Datetime("us", "UTC")
    assert frame["duration_seconds"][0] == 12.5

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    created, labels = con.execute(
        f"SELECT created_at, labels FROM read_parquet('{path}')"
    ).fetchone()
    assert created.isoformat() == "2026-03-01T23:59:59.123456+00:00"
    assert labels["team"] == "ünïcode"


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
    assert s3.uri("records/x") == "s3://bucket/some/prefix/records/x"


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
        write_records(store, [_row("a")])
