"""`runlake logs UID [--step S]`: a run's step logs on stdout, streamed, as the API serves
them (see query.http.logs)."""

from __future__ import annotations

import sys

import click

from runlake.cli.common import Failed, fails_cleanly, open_configured_store, resolve, store_option


@click.command()
@click.argument("uid")
@click.option(
    "--step",
    help="Print only this step's log, byte for byte (for a PipelineRun: <taskrun-name>/<step>).",
)
@store_option
@fails_cleanly
def logs(uid: str, step: str | None, store: str | None, s3_endpoint: str | None) -> None:
    """Print a run's step logs, each under a '==> <step> <==' line."""
    from query.engine import Engine
    from query.logs import LogNotFound, open_logs, run_log_parts

    config = resolve(store, s3_endpoint)
    engine = Engine(open_configured_store(config), config["RUNLAKE_SQL_TIMEOUT_S"])
    parts = run_log_parts(engine, uid, None)
    if parts is None:
        raise Failed(f"no run with uid {uid!r}")
    try:
        chunks = open_logs(engine.store, parts, step)
    except LogNotFound as exc:
        raise Failed(str(exc)) from exc
    out = sys.stdout.buffer  # bytes as stored: logs need not be UTF-8
    for chunk in chunks:
        out.write(chunk)
    out.flush()


commands: list[click.Command] = [logs]
