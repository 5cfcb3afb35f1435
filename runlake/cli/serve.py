"""`runlake serve`: ingest and query in one process, for one machine."""

from __future__ import annotations

import click

from runlake.cli.common import fails_cleanly, open_configured_store, resolve, store_option


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--threads",
    default=16,
    show_default=True,
    type=int,
    help="Request threads; concurrent events share Parquet files.",
)
@store_option
@fails_cleanly
def serve(host: str, port: int, threads: int, store: str | None, s3_endpoint: str | None) -> None:
    """Ingest and query in one process, for one machine."""
    from runlake.serve import run_server

    config = resolve(store, s3_endpoint)
    open_configured_store(config)
    run_server(config, host=host, port=port, threads=threads)


commands: list[click.Command] = [serve]
