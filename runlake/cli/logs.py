"""`runlake logs RUN [--step S]`: a run's step logs on stdout, streamed, as the API serves
them (see query.http.logs)."""

from __future__ import annotations

import sys

import click

from runlake.cli.common import Failed, fails_cleanly, store_option
from runlake.cli.read import engine_for, ref_options, resolve_ref


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--step",
    help="Print only this step's log, byte for byte (for a PipelineRun: <taskrun-name>/<step>).",
)
@ref_options
@store_option
@fails_cleanly
def logs(
    run_ref: str,
    step: str | None,
    namespace: str | None,
    cluster: str | None,
    store: str | None,
    s3_endpoint: str | None,
) -> None:
    """Print a run's step logs, each under a '==> <step> <==' line. RUN is a uid, a run's
    name or a unique uid prefix."""
    from query.logs import LogNotFound, open_logs, run_log_parts

    engine = engine_for(store, s3_endpoint)
    uid = resolve_ref(engine, run_ref, namespace, cluster)
    parts = run_log_parts(engine, uid, None)
    if parts is None:  # removed by retention between the two reads
        raise Failed(f"no run has the uid, name or uid prefix {run_ref!r}")
    try:
        chunks = open_logs(engine.store, parts, step)
    except LogNotFound as exc:
        raise Failed(str(exc)) from exc
    out = sys.stdout.buffer  # bytes as stored: logs need not be UTF-8
    for chunk in chunks:
        out.write(chunk)
    out.flush()


commands: list[click.Command] = [logs]
