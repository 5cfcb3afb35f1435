"""Rendering a SqlResult for the CLI: an aligned table, JSON objects, or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from query.engine import SqlResult

FORMATS = ("table", "json", "csv")


def format_result(
    result: SqlResult, fmt: str, color: bool | None = None, width: int | None = None
) -> str:
    """`color` None means: only when stdout is a terminal. `width` None: the terminal's, or
    unlimited when piped (a pipe should get whole rows, not wrapped ones)."""
    if fmt == "json":
        objects = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_text(value) for value in row] for row in result.rows)
        return out.getvalue()
    if fmt == "table":
        return _table(result, color, width)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _table(result: SqlResult, color: bool | None, width: int | None) -> str:
    tty = sys.stdout.isatty()
    color = tty if color is None else color
    table = Table(*result.columns)
    for row in result.rows:
        table.add_row(*(_text(value) for value in row))
    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        width=width or (None if tty else 100_000),
    )
    console.print(table)
    if result.truncated:
        console.print(f"(the first {len(result.rows)} rows; more exist: raise the limit)")
    # rich pads each line to the table's width; trailing blanks only get in the way of diff.
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def _text(value: Any) -> str:
    """A cell as text: NULL empty, booleans as SQL writes them, nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
