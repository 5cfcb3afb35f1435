"""`runlake`: serve, import, demo and read the archive from a shell.

Exit codes: 0 done, 1 failed (one line on stderr, no traceback), 2 usage.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from query.cli_common import FORMATS, fails_cleanly, open_configured_store, resolve, store_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """runlake keeps the history of Tekton runs as Parquet and answers SQL over it."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=16, show_default=True, type=int,
              help="Request threads; concurrent events share Parquet files.")
@store_option
@fails_cleanly
def serve(host: str, port: int, threads: int, store: str | None,
          s3_endpoint: str | None) -> None:
    """Ingest and query in one process, for one machine."""
    from query.serve import run_server

    config = resolve(store, s3_endpoint)
    open_configured_store(config)
    run_server(config, host=host, port=port, threads=threads)


@main.command("import")
@click.argument("file", type=click.File("rb"))
@store_option
@fails_cleanly
def import_(file, store: str | None, s3_endpoint: str | None) -> None:
    """Archive objects from FILE (or - for stdin): one object, a JSON list, or the output of
    `kubectl get taskruns,pipelineruns -A -o json`. One bad item stores nothing."""
    from ingest.archive import import_document

    target = open_configured_store(resolve(store, s3_endpoint))
    document = _parse_document(file.read())
    rows = import_document(target, document)
    click.echo(f"imported {rows} snapshot{'s' * (rows != 1)} into {target.url}")


def _parse_document(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as json_error:
        import yaml  # kubectl -o yaml output, including several documents

        try:
            docs = [d for d in yaml.safe_load_all(data) if d is not None]
        except yaml.YAMLError:
            raise ValueError(f"input is neither JSON nor YAML: {json_error}") from None
        return docs[0] if len(docs) == 1 else docs


@main.command()
@click.option("--runs", default=500, show_default=True, type=click.IntRange(1),
              help="PipelineRuns and TaskRuns together.")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already has runs.")
@store_option
@fails_cleanly
def demo(runs: int, seed: int, if_empty: bool, store: str | None,
         s3_endpoint: str | None) -> None:
    """Write a realistic demo history of N runs into the store."""
    from query.demo import write_demo

    target = open_configured_store(resolve(store, s3_endpoint))
    if if_empty and target.list("records"):
        click.echo(f"{target.url} already holds runs; no demo data written")
        return
    summary = write_demo(target, runs, seed=seed)
    click.echo(f"wrote a demo history into {target.url}: {summary}")


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1))
@store_option
@fails_cleanly
def sql(sql: str, fmt: str, limit: int, store: str | None, s3_endpoint: str | None) -> None:
    """Run one read-only query over the views (runs, snapshots, taskruns, steps, ...)."""
    from query.engine import Engine
    from query.output import format_result

    config = resolve(store, s3_endpoint)
    engine = Engine(open_configured_store(config), config["RUNLAKE_SQL_TIMEOUT_S"])
    result = engine.sql(sql, limit=limit)
    click.echo(format_result(result, fmt), nl=False)
    if result.truncated:
        click.echo(f"runlake: showing the first {limit} rows; use --limit for more", err=True)


def _add_commands() -> None:
    """Each group of commands lives in its own module; they are all registered here."""
    from query import cli_lifecycle, cli_logs, cli_read, cli_watch

    for module in (cli_read, cli_logs, cli_watch, cli_lifecycle):
        for command in module.commands:
            main.add_command(command)


_add_commands()


def run() -> None:  # pragma: no cover - console entry for `python -m query.cli`
    main(prog_name="runlake")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
