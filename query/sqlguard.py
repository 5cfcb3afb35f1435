"""Which user SQL may run: one SELECT over the views, touching no file, setting, network or
extension. DuckDB parses the text (extract_statements, json_serialize_sql) and this module
walks the syntax tree, so nothing depends on matching SQL text.

The engine's sandbox (enable_external_access=false, lock_configuration) is the second wall;
this one gives users a reason they can act on.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import duckdb


class SqlError(ValueError):
    """The query cannot run (syntax, unknown column, bad limit, ...); the message says why."""


class SqlRefused(SqlError):
    """The query is not a read-only query over the views; the message names the reason."""


# Table functions that only generate values, never read anything outside the query.
SAFE_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})

# Scalar functions that reach settings, the environment, logs, or plan a smuggled query
# (json_serialize_plan binds its argument, and binding read_csv reads the file).
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getvariable",
        "getenv",
        "json_serialize_plan",
        "write_log",
        "pg_get_viewdef",
        "pg_get_expr",
        "current_query",
        "sleep_ms",
        "pg_sleep",
    }
)
DENIED_PREFIXES = ("duckdb_", "pragma_", "read_", "parquet_", "sniff_", "glob", "which_secret")

# Table references that may appear; any other kind (COLUMN_DATA, DELIM_GET, one a later
# DuckDB adds, ...) is refused.
_ALLOWED_REFS = frozenset(
    {
        "BASE_TABLE",
        "SUBQUERY",
        "JOIN",
        "TABLE_FUNCTION",
        "EXPRESSION_LIST",
        "EMPTY",
        "PIVOT",
        "SHOW_REF",
    }
)


def check_sql(con: duckdb.DuckDBPyConnection, text: str, views: Collection[str]) -> None:
    """Raise SqlRefused unless `text` is one SELECT reading only `views` (and its own CTEs)."""
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        raise SqlError(_first_line(exc)) from exc
    if not statements:
        raise SqlRefused("the query is empty")
    if len(statements) > 1:
        raise SqlRefused(f"only one statement may run; the text holds {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise SqlRefused(
            f"only SELECT may run, not {kind.name} "
            "(COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CALL and DDL/DML are refused)"
        )
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [text]).fetchone()[0])
    if tree.get("error"):  # e.g. PRAGMA, which DuckDB types as SELECT but cannot serialize
        raise SqlRefused(f"only SELECT may run ({tree.get('error_message')})")
    if len(tree["statements"]) != 1:
        raise SqlRefused("only one statement may run")
    problems = find_problems(tree["statements"][0], views)
    if problems:
        raise SqlRefused("; ".join(dict.fromkeys(problems)))


def find_problems(tree: Any, views: Collection[str]) -> list[str]:
    """Every reason to refuse a serialized SELECT (json_serialize_sql's statements[i])."""
    problems: list[str] = []
    _walk(tree, frozenset(v.lower() for v in views), problems)
    return problems


def _walk(node: Any, scope: frozenset[str], problems: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, scope, problems)
        return
    if not isinstance(node, dict):
        return
    # A CTE is visible to the CTEs after it and to the query under it, never before: a name
    # must not be allowed where DuckDB would resolve it to a catalog object instead.
    for entry in (node.get("cte_map") or {}).get("map", []):
        _walk(entry["value"], scope, problems)
        scope = scope | {entry["key"].lower()}
    kind = node.get("type")
    kind = kind if isinstance(kind, str) else None  # a constant's "type" is a dict
    if "class" in node:  # an expression
        if node["class"] == "FUNCTION" and _denied(node["function_name"]):
            problems.append(f"function {node['function_name']}() is not allowed")
    elif "alias" in node and "sample" in node:  # a table reference, whatever its kind
        _check_table_ref(node, str(kind), scope, problems)
    for key, value in node.items():
        if key == "function" and kind == "TABLE_FUNCTION":
            value = value.get("children", [])  # its name was judged above; its arguments next
        if key == "right" and kind == "RECURSIVE_CTE_NODE":
            # Only the recursive term names the CTE itself; in the first term DuckDB
            # resolves that name in the catalog (`pg_settings` would be the real one).
            _walk(value, scope | {node["cte_name"].lower()}, problems)
        elif key != "cte_map":
            _walk(value, scope, problems)


def _check_table_ref(node: dict, kind: str, scope: frozenset[str], problems: list[str]) -> None:
    if kind not in _ALLOWED_REFS:
        problems.append(f"{kind} table references are not allowed")
    elif kind == "TABLE_FUNCTION":
        name = node["function"].get("function_name", "?")
        if name.lower() not in SAFE_TABLE_FUNCTIONS:
            problems.append(f"table function {name}() is not allowed; query the views")
    elif kind == "BASE_TABLE":
        name = node["table_name"]
        qualified = node.get("schema_name") or node.get("catalog_name")
        if qualified or name.lower() not in scope:
            shown = ".".join(
                p for p in (node.get("catalog_name"), node.get("schema_name"), name) if p
            )
            problems.append(
                f"{shown!r} is not a view; query {', '.join(sorted(scope))}"
                if not qualified
                else f"{shown!r}: name the view without a schema or catalog"
            )
    elif kind == "SHOW_REF" and node.get("query") is None:
        problems.append("SHOW is not allowed; DESCRIBE a view instead")


def _denied(function_name: str) -> bool:
    name = function_name.lower()
    return name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]
