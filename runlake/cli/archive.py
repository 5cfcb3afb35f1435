"""`runlake import` and `runlake demo`: put runs into the archive from a shell."""

from __future__ import annotations

import json
from typing import Any

import click

from runlake.cli.common import fails_cleanly, open_configured_store, resolve, store_option


@click.command("import")
@click.argument("file", type=click.File("rb"), required=False)
@click.option(
    "--from-results",
    "dsn",
    metavar="postgres://...",
    help="Move a Tekton Results database's records into the archive (resumable).",
)
@click.option(
    "--logs",
    "logs_location",
    metavar="DIR|s3://BUCKET/LOGS_PATH",
    help="With --from-results: where Results stored its logs (its volume, or its bucket).",
)
@click.option("--logs-s3-endpoint", default=None, help="S3-compatible endpoint of --logs.")
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--from-start", is_flag=True, help="Ignore how far an earlier import got.")
@click.option(
    "--cluster",
    envvar="RUNLAKE_CLUSTER",
    default=None,
    help="The cluster the runs come from (RUNLAKE_CLUSTER, default: default).",
)
@store_option
@fails_cleanly
def import_(
    file,
    dsn: str | None,
    logs_location: str | None,
    logs_s3_endpoint: str | None,
    batch: int,
    from_start: bool,
    cluster: str | None,
    store: str | None,
    s3_endpoint: str | None,
) -> None:
    """Archive objects from FILE (or - for stdin): one object, a JSON list, or the output of
    `kubectl get taskruns,pipelineruns -A -o json`. One bad item stores nothing.

    With --from-results, every TaskRun, PipelineRun and CustomRun record of a Tekton Results
    database (and with --logs its stored logs) instead; a record that cannot be read is
    named on stderr and the others are archived."""
    config = resolve(store, s3_endpoint, RUNLAKE_CLUSTER=cluster)
    target = open_configured_store(config, create=True)
    if dsn is not None:
        if file is not None:
            raise click.UsageError("give FILE or --from-results, not both")
        source = (dsn, logs_location, logs_s3_endpoint)
        _from_results(target, source, batch, from_start, config["RUNLAKE_CLUSTER"])
        return
    if file is None:
        raise click.UsageError("give FILE (or -), or --from-results postgres://...")
    if logs_location:
        raise click.UsageError("--logs goes with --from-results")
    from ingest.archive import import_document

    document = _parse_document(file.read())
    rows = import_document(target, document, cluster=config["RUNLAKE_CLUSTER"])
    click.echo(f"imported {rows} snapshot{'s' * (rows != 1)} into {target.url}")
    _settle(target)


def _from_results(
    target, source: tuple[str, str | None, str | None], batch: int, again: bool, cluster: str
) -> None:
    dsn, logs_location, s3_endpoint = source
    import psycopg
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from runlake.results_import import LogSource, import_results

    logs = LogSource(logs_location, s3_endpoint) if logs_location else None
    console = Console(stderr=True)
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    task = bar.add_task("records", total=None)
    start: dict[str, int] = {}  # where this run began: records read, failures named

    def on_batch(progress, total: int) -> None:
        if not start:
            bar.start()  # once the database answered
        start.setdefault("read", progress.read)
        start.setdefault("failures", len(progress.failures))
        for failure in progress.failures[start.setdefault("shown", start["failures"]) :]:
            bar.console.print(
                f"runlake: cannot import {failure}", markup=False, highlight=False, soft_wrap=True
            )
        start["shown"] = len(progress.failures)
        bar.update(task, total=total, completed=progress.read)

    try:
        progress = import_results(dsn, target, logs, batch, again, on_batch, cluster)
    except psycopg.Error as exc:
        raise ValueError(f"the Results database: {str(exc).strip().splitlines()[0]}") from exc
    finally:
        if start:
            bar.stop()
    for failure in progress.failures[: start.get("failures", 0)]:
        click.echo(f"runlake: cannot import {failure} (as an earlier run found)", err=True)
    skipped = ", ".join(f"{n} {what}" for what, n in sorted(progress.skipped.items()))
    resumed = f"resumed after {start['read']} records; " if start.get("read") else ""
    click.echo(
        f"{resumed}imported {progress.runs} runs and {progress.logs} logs from {progress.read} "
        f"records into {target.url}" + (f"; skipped {skipped}" if skipped else "")
    )
    if progress.failures:
        raise ValueError(
            f"{len(progress.failures)} records could not be imported (named above); "
            "fix them and run again with --from-start, the others stay imported"
        )


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
@click.option(
    "--seed", default=7, show_default=True, type=int, help="The same seed, the same history."
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already has runs.")
@store_option
@fails_cleanly
def demo(runs: int, seed: int, if_empty: bool, store: str | None, s3_endpoint: str | None) -> None:
    """Write a realistic demo history of N runs into the store."""
    from layout.inbox import list_inbox
    from runlake.demo.write import write_demo

    target = open_configured_store(resolve(store, s3_endpoint), create=True)
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
