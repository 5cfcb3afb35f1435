"""`runlake sql`: one read-only query over the views."""

from __future__ import annotations

import click

from runlake.cli.common import FORMATS, fails_cleanly, open_configured_store, resolve, store_option


@click.command()
@click.argument("sql")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1))
@store_option
@fails_cleanly
def sql(sql: str, fmt: str, limit: int, store: str | None, s3_endpoint: str | None) -> None:
    """Run one read-only query over the views (runs, snapshots, taskruns, steps, ...)."""
    from query.engine import Engine
    from runlake.cli.output import format_result

    config = resolve(store, s3_endpoint)
    engine = Engine(open_configured_store(config), config["RUNLAKE_SQL_TIMEOUT_S"])
    result = engine.sql(sql, limit=limit)
    click.echo(format_result(result, fmt), nl=False)
    if result.truncated:
        click.echo(f"runlake: showing the first {limit} rows; use --limit for more", err=True)


commands: list[click.Command] = [sql]
