"""`runlake import` and `runlake demo`: put runs into the archive from a shell."""

from __future__ import annotations

import json
from typing import Any

import click

from runlake.cli.common import fails_cleanly, open_configured_store, resolve, store_option


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--cluster",
    envvar="RUNLAKE_CLUSTER",
    default=None,
    help="The cluster the runs come from (RUNLAKE_CLUSTER, default: default).",
)
@store_option
@fails_cleanly
def import_(file, cluster: str | None, store: str | None, s3_endpoint: str | None) -> None:
    """Archive objects from FILE (or - for stdin): one object, a JSON list, or the output of
    `kubectl get taskruns,pipelineruns -A -o json`. One bad item stores nothing."""
    from ingest.archive import import_document

    config = resolve(store, s3_endpoint, RUNLAKE_CLUSTER=cluster)
    target = open_configured_store(config)
    document = _parse_document(file.read())
    rows = import_document(target, document, cluster=config["RUNLAKE_CLUSTER"])
    click.echo(f"imported {rows} snapshot{'s' * (rows != 1)} into {target.url}")
    _settle(target)


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


@click.command()
@click.option(
    "--runs",
    default=500,
    show_default=True,
    type=click.IntRange(1),
    help="PipelineRuns and TaskRuns together.",
)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already has runs.")
@store_option
@fails_cleanly
def demo(runs: int, seed: int, if_empty: bool, store: str | None, s3_endpoint: str | None) -> None:
    """Write a realistic demo history of N runs into the store."""
    from layout.inbox import list_inbox
    from runlake.demo.write import write_demo

    target = open_configured_store(resolve(store, s3_endpoint))
    if if_empty and (list_inbox(target) or target.list("tables/")):
        click.echo(f"{target.url} already holds runs; no demo data written")
        return
    summary = write_demo(target, runs, seed=seed)
    click.echo(f"wrote a demo history into {target.url}: {summary}")
    _settle(target)


def _settle(target) -> None:  # noqa: ANN001 - a Store
    """Move what was just written into the tables, unless a running materializer will."""
    from runlake.lifecycle import materialize_if_free

    if materialize_if_free(target) is None:
        click.echo("runlake: a running materializer will move it into the tables", err=True)


commands: list[click.Command] = [import_, demo]
