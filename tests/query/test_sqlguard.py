import pytest

from layout.inbox import write_inbox
from query.engine import Engine, SqlRefused
from query.sqlguard import find_problems
from tests.helpers.rows import row

HOSTILE = [
    ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv()"),
    ("SELECT * FROM read_text('/etc/hostname')", "table function read_text()"),
    ("SELECT * FROM glob('/*')", "table function glob()"),
    ("SELECT * FROM '/etc/passwd'", "'/etc/passwd' is not a view"),
    ("COPY (SELECT * FROM runs) TO '/tmp/runs.csv'", "not COPY"),
    ("ATTACH '/tmp/other.db' AS other", "not ATTACH"),
    ("INSTALL httpfs", "only SELECT"),
    ("LOAD httpfs", "only SELECT"),
    ("SET enable_external_access = true", "not SET"),
    ("PRAGMA version", "only SELECT"),
    ("CALL pragma_version()", "not CALL"),
    ("SELECT 1; SELECT 2", "only one statement"),
    ("SELECT 1 -- only a comment?\n; DROP VIEW runs", "only one statement"),
    ("SELECT 1 /* ; */ ; CREATE TABLE t (a INT)", "only one statement"),
    ("CREATE TABLE t AS SELECT * FROM runs", "not CREATE"),
    ("INSERT INTO runs (uid) VALUES ('x')", "not INSERT"),
    ("DROP VIEW runs", "not DROP"),
    ("EXPLAIN SELECT * FROM runs", "not EXPLAIN"),
    ("SELECT current_setting('s3_secret_access_key')", "function current_setting()"),
    ("SELECT getvariable('x')", "function getvariable()"),
    (
        "SELECT json_serialize_plan('SELECT * FROM read_csv(''/etc/passwd'')')",
        "function json_serialize_plan()",
    ),
    (
        "SELECT count(*) FROM runs WHERE uid IN (SELECT uid FROM read_parquet('/etc/*.parquet'))",
        "table function read_parquet()",
    ),
    (
        "SELECT * FROM runs, LATERAL (SELECT * FROM read_json('/etc/x.json'))",
        "table function read_json()",
    ),
    ("SELECT * FROM query_table('runs')", "table function query_table()"),
    ("SELECT * FROM pg_settings", "'pg_settings' is not a view"),
    ("SELECT * FROM information_schema.tables", "without a schema"),
    ("SELECT * FROM memory.main.runs", "without a schema"),
    ("SELECT * FROM _records", "'_records' is not a view"),
    ("SHOW TABLES", "SHOW is not allowed"),
    ("DESCRIBE SELECT * FROM read_blob('/etc/hostname')", "table function read_blob()"),
    # A CTE's name must not cover a catalog object where the CTE is not in scope.
    (
        "SELECT * FROM (WITH pg_settings AS (SELECT 1) SELECT 1) x, pg_settings",
        "'pg_settings' is not a view",
    ),
    ("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", "'b' is not a view"),
    (
        "WITH RECURSIVE pg_settings AS (SELECT * FROM pg_settings) SELECT 1",
        "'pg_settings' is not a view",
    ),
    # the first term of a recursive CTE sees the catalog's pg_settings, not the CTE
    (
        "WITH RECURSIVE pg_settings AS (SELECT name FROM pg_settings UNION ALL "
        "SELECT name FROM pg_settings WHERE false) SELECT * FROM pg_settings",
        "'pg_settings' is not a view",
    ),
]

ALLOWED = [
    ("SELECT count(*) FROM runs", [[1]]),
    ("FROM taskruns SELECT uid", [["a"]]),
    ("WITH r AS (SELECT * FROM runs) SELECT count(*) FROM r JOIN snapshots s USING (uid)", [[1]]),
    (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) "
        "SELECT sum(n) FROM t",
        [[6]],
    ),
    ("SELECT count(*) FROM range(3)", [[3]]),
    ("SELECT unnest([1, 2]) AS x", [[1], [2]]),
    ("SELECT column_name FROM (DESCRIBE steps) LIMIT 1", [["uid"]]),
    ("SELECT 1 AS x UNION ALL SELECT 2 ORDER BY x", [[1], [2]]),
    ("SELECT labels['tekton.dev/pipeline'] FROM runs", [["build"]]),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from layout.store import LocalStore

    store = LocalStore(str(tmp_path_factory.mktemp("guard") / "store"))
    write_inbox(store, [row("a")])
    return Engine(store)


@pytest.mark.parametrize(("sql", "reason"), HOSTILE, ids=[s for s, _ in HOSTILE])
def test_sqlguard_refuses_with_a_reason(engine, sql, reason):
    with pytest.raises(SqlRefused) as refused:
        engine.sql(sql)
    assert reason in str(refused.value)
    # the engine still answers, and nothing was changed
    assert engine.sql("SELECT count(*) FROM runs").rows == [[1]]


@pytest.mark.parametrize(("sql", "rows"), ALLOWED, ids=[s for s, _ in ALLOWED])
def test_sqlguard_allows_read_only_queries_over_the_views(engine, sql, rows):
    assert engine.sql(sql).rows == rows


def test_sqlguard_refuses_a_table_reference_kind_it_does_not_know():
    tree = {
        "node": {
            "type": "SELECT_NODE",
            "from_table": {
                "type": "SOMETHING_NEW",
                "alias": "",
                "sample": None,
                "query_location": 0,
            },
        }
    }
    assert find_problems(tree, ["runs"]) == ["SOMETHING_NEW table references are not allowed"]
