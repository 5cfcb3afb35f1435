import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from layout.inbox import write_inbox
from layout.store import LocalStore, StoreError, open_store
from query.engine import Engine, SqlError, SqlRefused, SqlTimeout, httpfs_path
from tests.helpers.rows import row
from tests.helpers.servers import free_port
from tests.helpers.stages import materialize

SECRET = "testing-secret"  # AWS_SECRET_ACCESS_KEY, as tests/conftest.py sets it


def test_engine_connects_lazily(local_store):
    engine = Engine(local_store)
    assert engine._db is None  # nothing happens until the first query
    engine.sql("SELECT 1")
    assert engine._db is not None


def test_engine_values_are_json(local_store):
    result = Engine(local_store).sql(
        "SELECT TIMESTAMPTZ '2026-03-01 14:00:00+02' AS aware,"
        " TIMESTAMP '2026-03-01 12:00:00.5' AS naive, DATE '2026-03-01' AS day,"
        " 1.50::DECIMAL(5, 2) AS dec, 170141183460469231731687303715884105727::HUGEINT AS huge,"
        " MAP {'a': 'b'} AS m, {'x': [1, 2]} AS s, 'nan'::DOUBLE AS nan, INTERVAL 90 SECOND AS i"
    )
    assert result.columns == ["aware", "naive", "day", "dec", "huge", "m", "s", "nan", "i"]
    assert result.rows == [
        [
            "2026-03-01T12:00:00Z",
            "2026-03-01T12:00:00.500000Z",
            "2026-03-01",
            1.5,
            170141183460469231731687303715884105727,
            {"a": "b"},
            {"x": [1, 2]},
            None,
            90.0,
        ]
    ]
    json.dumps(result.rows, allow_nan=False)


def test_engine_truncated_is_honest(local_store):
    write_inbox(local_store, [row(f"u{i}") for i in range(5)])
    engine = Engine(local_store)
    exact = engine.sql("SELECT uid FROM runs ORDER BY uid", limit=5)
    assert (len(exact.rows), exact.truncated) == (5, False)
    cut = engine.sql("SELECT uid FROM runs ORDER BY uid", limit=4)
    assert (cut.rows, cut.truncated) == ([["u0"], ["u1"], ["u2"], ["u3"]], True)
    with pytest.raises(SqlError, match="limit"):
        engine.sql("SELECT 1", limit=10001)


def test_engine_timeout_cancels_only_its_query(local_store):
    write_inbox(local_store, [row("a")])
    engine = Engine(local_store, sql_timeout_s=1)
    outcome: list[BaseException] = []

    def endless() -> None:
        try:
            engine.sql("SELECT count(*) FROM range(1000000000000) a, range(1000000000000) b")
        except SqlTimeout as exc:
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=endless)
    thread.start()
    # other queries run beside it, on their own cursors, and are not cancelled with it
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: engine.sql("SELECT uid FROM runs").rows, range(8)))
    assert answers == [[["a"]]] * 8
    thread.join(10)
    assert outcome and "longer than 1 s" in str(outcome[0])
    assert time.monotonic() - started < 5
    assert engine.sql("SELECT count(*) FROM runs").rows == [[1]]


def test_engine_timeout_of_an_answered_query_never_cancels_a_later_one(local_store):
    write_inbox(local_store, [row("a")])
    engine = Engine(local_store, sql_timeout_s=0.3)
    with engine.pinned():  # one cursor: a stray interrupt would hit the next query on it
        assert engine.query("SELECT uid FROM runs") == [{"uid": "a"}]
        time.sleep(0.5)  # the first query's deadline passes
        slow = "SELECT count(*) AS n FROM range(5000000) a WHERE a.range % 7 = 0"
        assert engine.query(slow)[0]["n"] > 0
        assert engine.query("SELECT uid FROM runs") == [{"uid": "a"}]


def test_engine_sees_files_vanish(local_store):
    write_inbox(local_store, [row("a")])
    engine = Engine(local_store)
    assert engine.sql("SELECT count(*) FROM runs").rows == [[1]]
    for info in local_store.list("inbox"):  # gone, as if retention removed everything
        local_store.delete(info.key)
    assert engine.sql("SELECT count(*) FROM runs").rows == [[0]]
    write_inbox(local_store, [row("b")])
    assert engine.sql("SELECT uid FROM runs").rows == [["b"]]


def test_engine_query_takes_parameters(store):
    write_inbox(store, [row("a"), row("b", namespace="other")])
    engine = Engine(store)
    assert engine.query("SELECT uid, labels FROM runs WHERE namespace = ?", ["other"]) == [
        {"uid": "b", "labels": {"tekton.dev/pipeline": "build"}}
    ]


def test_engine_sandbox_holds_even_for_unchecked_sql(store, tmp_path):
    """The second wall: queries that skip sqlguard (Engine.query) still cannot leave the store
    or change a setting, and the views work inside it."""
    write_inbox(store, [row("a")])
    engine = Engine(store)
    assert engine.query("SELECT count(*) AS n FROM runs") == [{"n": 1}]
    outside = "/etc/hostname" if store.url.startswith("/") else "s3://another-bucket/x.csv"
    with pytest.raises(SqlRefused, match="outside the sandbox"):
        engine.query(f"SELECT * FROM read_text('{outside}')")
    with pytest.raises(SqlRefused, match="outside the sandbox"):
        engine.query(f"COPY (SELECT 1) TO '{tmp_path}/out.csv'")
    with pytest.raises(SqlError, match="locked"):
        engine.query("SET enable_external_access = true")
    with pytest.raises(SqlError):
        engine.query(f"LOAD '{tmp_path}/evil.duckdb_extension'")
    assert not (tmp_path / "out.csv").exists()


def test_engine_loads_httpfs_from_the_wheel():
    assert os.path.isfile(httpfs_path())


def test_engine_never_reveals_the_s3_secret(s3_store):
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == SECRET
    write_inbox(s3_store, [row("a")])
    engine = Engine(s3_store)
    assert engine.sql("SELECT count(*) FROM runs").rows == [[1]]

    # Internally: httpfs copied the variable into s3_secret_access_key; it was cleared.
    settings = engine.query("SELECT name, value FROM duckdb_settings()")
    assert settings and not [s for s in settings if SECRET in str(s["value"])]
    secrets = engine.query("SELECT * FROM duckdb_secrets()")
    assert secrets and SECRET not in json.dumps(secrets, default=str)

    # And no user query can get at it, refused or not.
    attempts = [
        "SELECT current_setting('s3_secret_access_key')",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM pg_settings",
        "SELECT * FROM pg_catalog.pg_settings",
        "SELECT * FROM duckdb_secrets()",
        f"SELECT * FROM which_secret('{s3_store.uri('x')}', 's3')",
        "SELECT getvariable('s3_secret_access_key')",
        "WITH RECURSIVE pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings",
        "WITH RECURSIVE pg_settings AS (SELECT name, setting FROM pg_settings UNION ALL "
        "SELECT * FROM pg_settings WHERE false) SELECT * FROM pg_settings",
    ]
    for sql in attempts:
        try:
            answer = json.dumps(engine.sql(sql).rows)
        except SqlError as exc:
            answer = str(exc)
        assert SECRET not in answer, sql


def test_engine_evaluate_answers_without_looking_at_the_store(store):
    """A condition over literals (the Results log probe) costs no store listing: the inbox
    as the engine saw it stays as it was until a query of the views looks again."""
    write_inbox(store, [row("a")])
    engine = Engine(store)
    assert engine.sql("SELECT count(*) FROM runs").rows == [[1]]
    write_inbox(store, [row("b")])

    assert engine.evaluate("SELECT $1 = 'x' AS met", ["x"]) == [{"met": True}]
    assert engine.inbox_stats().objects == 1

    assert engine.sql("SELECT count(*) FROM runs").rows == [[2]]
    assert engine.inbox_stats().objects == 2


def test_engine_unreachable_store_raises_store_error():
    store = open_store("s3://nowhere/x", s3_endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match="cannot read the store"):
        Engine(store).sql("SELECT count(*) FROM runs")


def test_engine_store_whose_bucket_was_deleted_raises_store_error(moto_s3, s3_bucket, s3_store):
    """A bucket deleted under a running engine is a failing store (503, senders and readers
    retry), never an archive that reads as empty."""
    write_inbox(s3_store, [row("a")])
    materialize(s3_store)
    write_inbox(s3_store, [row("b")])
    engine = Engine(s3_store)
    assert engine.sql("SELECT count(*) FROM runs").rows == [[2]]
    moto_s3.delete_bucket(s3_bucket)
    with pytest.raises(StoreError):
        engine.sql("SELECT count(*) FROM runs")
    with pytest.raises(StoreError):
        Engine(s3_store).sql("SELECT count(*) FROM runs")


class _MaterializedWhileRead(LocalStore):
    """A local store where the materializer commits and deletes the inbox the moment a reader
    first fetches an inbox object: after the reader listed it and read the tables' states."""

    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self.armed = False

    def read_bytes(self, key: str) -> bytes:
        if self.armed and key.startswith("inbox/"):
            self.armed = False
            materialize(LocalStore(self.root))
        return super().read_bytes(key)


def test_engine_inbox_object_materialized_while_read_shows_its_snapshot(tmp_path):
    store = _MaterializedWhileRead(str(tmp_path / "store"))
    write_inbox(store, [row("a", status="Running")])
    materialize(store)
    engine = Engine(store)
    assert engine.sql("SELECT status FROM runs").rows == [["Running"]]
    write_inbox(
        store,
        [row("a", status="Succeeded", resource_version="2", received_at=timedelta(minutes=5))],
    )
    store.armed = True
    assert engine.sql("SELECT status FROM runs").rows == [["Succeeded"]]
    assert not store.armed  # the materializer did run while the object was being read
