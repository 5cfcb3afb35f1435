"""SQL literals for the statements layout/ and query/ write (DuckDB's and delta-rs'
predicates, views that take no parameters). Pure: imports neither DuckDB nor a store."""

from __future__ import annotations


def sql_string(value: str) -> str:
    """A SQL string literal, for DuckDB and delta-rs alike. A NUL cannot stand inside a
    quoted literal (DuckDB's parser ends the string there), so it is spliced in as chr(0)."""
    quoted = "'" + value.replace("'", "''") + "'"
    if "\x00" not in value:
        return quoted
    return "(" + quoted.replace("\x00", "' || chr(0) || '") + ")"
