"""What a reader may read, as (cluster, namespace) pairs: parsed from a query token's entries,
and as SQL that DuckDB evaluates the same way `permits` does."""

from __future__ import annotations

import duckdb
import pytest

from query.scope import ANY, Readable, parse_grant, readable_of

ROWS = [
    ("prod-eu", "team-a"),
    ("prod-eu", "team-b"),
    ("staging", "team-a"),
    ("staging", "team-c"),
    ("default", "team-a"),
    ("default", None),
]


def _selected(readable: Readable) -> set[tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE runs (cluster VARCHAR, namespace VARCHAR)")
    con.executemany("INSERT INTO runs VALUES (?, ?)", ROWS)
    return set(con.execute(f"SELECT * FROM runs WHERE {readable.sql()}").fetchall())


def test_scope_entries_parse_into_pairs():
    assert parse_grant("team-a") == (ANY, "team-a")
    assert parse_grant(" prod-eu/team-a ") == ("prod-eu", "team-a")
    assert parse_grant("staging/*") == ("staging", ANY)
    assert parse_grant("*/team-a") == (ANY, "team-a")
    assert parse_grant("*") == (ANY, ANY)
    assert readable_of(["team-a", "*"]) is None  # everything
    for bad in ("Team-A", "prod eu/x", "a/b/c", "prod-eu/", "/team-a", ""):
        with pytest.raises(ValueError):
            parse_grant(bad)


@pytest.mark.parametrize(
    "entries",
    [
        ["prod-eu/team-a"],
        ["team-a"],
        ["staging/*"],
        ["prod-eu/team-b", "staging/*", "team-a"],
        ["*/team-c", "default/*"],
        [],
    ],
)
def test_scope_sql_selects_exactly_what_permits_allows(entries):
    readable = readable_of(entries)
    assert readable is not None
    assert _selected(readable) == {row for row in ROWS if readable.permits(*row)}


def test_scope_permits_and_labels():
    readable = readable_of(["prod-eu/team-a", "staging/*", "team-c"])
    assert readable.permits("prod-eu", "team-a") and not readable.permits("prod-eu", "team-b")
    assert readable.permits("staging", "anything") and readable.permits("lab", "team-c")
    assert readable.permits_namespace("team-b")  # staging may have one
    assert not readable_of(["prod-eu/team-a"]).permits_namespace("team-b")
    assert readable.label() == "team-c, prod-eu/team-a, staging/*"
    assert Readable().sql() == "false" and Readable().label() == "nothing"
    quoted = Readable(frozenset({("x'y", ANY)}))
    assert "'x''y'" in quoted.sql()  # a literal, never SQL
