"""What the CLI prints: tables for people, in kubectl's plain columns, and JSON and CSV for
programs, exact.

A table never cuts an identifier and never reads its cells as markup: whatever a run holds
(`[place-tools]`, `[/workspace/source]`) is printed as it is. Only `runlake sql`'s cells,
which may hold a whole object, are capped (`SQL_CELL_CAP`), and the command says so.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runlake.cli.human import number

if TYPE_CHECKING:  # query.engine loads DuckDB, which `runlake --help` has no need of
    from query.engine import SqlResult

FORMATS = ("table", "json", "csv")
COLUMN_GAP = "   "
# Longer than any identifier a run has (a uid is 36 characters, a name or label value 63).
SQL_CELL_CAP = 80


def table(headers: Sequence[str] | None, rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns three spaces apart under a header line (none for None), as
    kubectl prints them; nothing is cut, and a cell of several lines takes that many lines."""
    grid = [_lines(row) for row in ([headers] if headers else []) + [list(r) for r in rows]]
    if not grid:
        return ""
    widths = [max(_width(line) for row in grid for line in row[i]) for i in range(len(grid[0]))]
    out = []
    for row in grid:
        for n in range(max(len(cell) for cell in row)):
            cells = [cell[n] if n < len(cell) else "" for cell in row]
            padded = [c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)]
            out.append(COLUMN_GAP.join(padded).rstrip())
    return "\n".join(out) + "\n"


def format_result(result: SqlResult, fmt: str) -> str:
    """An SQL answer: JSON objects, CSV with a header, or a table with long cells capped."""
    if fmt == "json":
        objects = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([cell_text(value) for value in row] for row in result.rows)
        return out.getvalue()
    if fmt == "table":
        rows = [[_capped(number_text(value)) for value in row] for row in result.rows]
        return table(result.columns, rows)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def cells_cut(result: SqlResult) -> int:
    """How many cells the table of `result` shows capped."""
    return sum(_width(number_text(v)) > SQL_CELL_CAP for row in result.rows for v in row)


def cell_text(value: Any) -> str:
    """A value as text, exact: NULL empty, booleans as SQL writes them, nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def number_text(value: Any) -> str:
    """A value as a table shows it: as cell_text, with floats rounded for people."""
    return number(value) if isinstance(value, float) else cell_text(value)


def _capped(text: str) -> str:
    text = " ".join(text.splitlines())  # one line per row: a cell of SQL is data, not layout
    if _width(text) <= SQL_CELL_CAP:
        return text
    kept, width = [], 0
    for char in text:
        width += _char_width(char)
        if width > SQL_CELL_CAP - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _lines(row: Sequence[str]) -> list[list[str]]:
    return [(cell or "").expandtabs(4).split("\n") for cell in row]


def _width(text: str) -> int:
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    """Terminal cells a character takes: two for East Asian wide ones, none for combining."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
