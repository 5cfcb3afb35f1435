"""`runlake serve`: ingest and query in one process, for one machine."""

from __future__ import annotations

import click

from runlake.cli.common import fails_cleanly, open_configured_store, resolve, store_option


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--threads",
    default=16,
    show_default=True,
    type=int,
    help="Request threads; concurrent events share Parquet files.",
)
@click.option(
    "--check", is_flag=True, help="Only check that the store exists and the port is free."
)
@store_option
@fails_cleanly
def serve(
    host: str,
    port: int,
    threads: int,
    check: bool,
    store: str | None,
    s3_endpoint: str | None,
) -> None:
    """Ingest and query in one process, for one machine. The store must exist (`runlake
    demo` or `runlake import` starts one, as does `mkdir`)."""
    from runlake.serve import ensure_free, run_server

    config = resolve(store, s3_endpoint)
    open_configured_store(config)
    ensure_free(host, port)
    if not check:
        run_server(config, host=host, port=port, threads=threads)


commands: list[click.Command] = [serve]
