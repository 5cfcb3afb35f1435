"""`runlake sql`: one read-only query over the views."""

from __future__ import annotations

import click

from runlake.cli.common import (
    FORMATS,
    fails_cleanly,
    note,
    open_configured_store,
    resolve,
    store_option,
)
from runlake.cli.output import SQL_CELL_CAP


@click.command()
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=FORMATS,
    default="table",
    show_default=True,
    help=f"table for people (cells capped at {SQL_CELL_CAP} characters); json and csv exact.",
)
@click.option(
    "--limit", default=1000, show_default=True, type=click.IntRange(1), help="Rows at most."
)
@store_option
@fails_cleanly
def sql(sql: str, fmt: str, limit: int, store: str | None, s3_endpoint: str | None) -> None:
    """Run one read-only query over the views (runs, snapshots, taskruns, steps, ...)."""
    from query.engine import Engine
    from runlake.cli.output import cells_cut, format_result

    config = resolve(store, s3_endpoint)
    engine = Engine(open_configured_store(config), config["RUNLAKE_SQL_TIMEOUT_S"])
    result = engine.sql(sql, limit=limit)
    if fmt == "table" and not result.rows:
        note("no rows")
        return
    click.echo(format_result(result, fmt), nl=False)
    cut = cells_cut(result) if fmt == "table" else 0
    if cut:
        note(
            f"{cut} cell{'s' * (cut != 1)} cut at {SQL_CELL_CAP} characters; "
            "--format json or csv prints them whole"
        )
    if result.truncated:
        note(f"showing the first {limit} rows; use --limit for more")


commands: list[click.Command] = [sql]
