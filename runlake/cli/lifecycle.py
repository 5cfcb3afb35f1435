"""`runlake materialize`, `compact`, `retention` and `migrate`: the archive's writer jobs
(layout/ does the work and runlake.lifecycle takes the writer lease; this module reads flags
and prints what happened)."""

from __future__ import annotations

from datetime import timedelta

import click

from runlake.cli.common import (
    DURATION,
    SIZE,
    fails_cleanly,
    open_configured_store,
    resolve,
    store_option,
)


@click.command()
@click.option(
    "--partition",
    default=None,
    metavar="kind=K,date=YYYY-MM-DD",
    help="Only this partition (either part may be left out).",
)
@click.option(
    "--older-than",
    type=DURATION,
    default="0s",
    show_default=True,
    help="Leave partitions written to more recently than this alone.",
)
@click.option(
    "--target-size",
    type=SIZE,
    default="128MiB",
    show_default=True,
    help="Size of the rewritten files.",
)
@store_option
@fails_cleanly
def compact(
    partition: str | None,
    older_than: timedelta,
    target_size: int,
    store: str | None,
    s3_endpoint: str | None,
) -> None:
    """OPTIMIZE the tables' quiet partitions, VACUUM, checkpoint; safe while ingest runs."""
    from layout.compaction import parse_partition
    from runlake.lifecycle import compact as run_compaction

    kind, day = parse_partition(partition) if partition else (None, None)
    target = open_configured_store(resolve(store, s3_endpoint))
    report = run_compaction(
        target, kind=kind, day=day, older_than=older_than, target_size=target_size
    )
    for line in report.skipped:
        click.echo(f"runlake: skipped {line}", err=True)
    click.echo(
        f"compacted {report.summary()}"
        if report.partitions
        else f"nothing to compact; {report.files_vacuumed} unreferenced files deleted"
    )


@click.command()
@click.option("--once", is_flag=True, help="Empty the inbox once, then exit.")
@click.option(
    "--interval",
    type=DURATION,
    default=None,
    help="Time between cycles (RUNLAKE_MATERIALIZE_S; default 5s).",
)
@store_option
@fails_cleanly
def materialize(
    once: bool, interval: timedelta | None, store: str | None, s3_endpoint: str | None
) -> None:
    """Move the inbox into the tables: once, or every few seconds until stopped."""
    import signal
    import threading

    from runlake.lifecycle import materialize_forever, materialize_once

    config = resolve(store, s3_endpoint)
    target = open_configured_store(config)
    if once:
        reports = materialize_once(target)
        rows = sum(r.rows for r in reports)
        click.echo(
            f"materialized {rows} snapshot{'s' * (rows != 1)} from "
            f"{sum(r.files for r in reports)} inbox objects"
        )
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    seconds = interval.total_seconds() if interval else config["RUNLAKE_MATERIALIZE_S"]
    materialize_forever(target, seconds, stop, on_cycle=_print_cycle)


def _print_cycle(report) -> None:  # noqa: ANN001 - a CycleReport
    if report.files:
        click.echo(report.summary())


@click.command()
@store_option
@fails_cleanly
def migrate(store: str | None, s3_endpoint: str | None) -> None:
    """Convert a layout-1 store (records/...) into layout 2; safe to run again."""
    from runlake.lifecycle import migrate as run_migration

    target = open_configured_store(resolve(store, s3_endpoint), check=False)
    report = run_migration(target, lambda name, rows: click.echo(f"  {name}: {rows} rows"))
    click.echo(f"migrated {report.summary()}")


@click.command()
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.File("rb"),
    help="Retention policy (Tekton Results' shape), YAML or JSON.",
)
@click.option("--dry-run", is_flag=True, help="Print what would go; delete nothing.")
@store_option
@fails_cleanly
def retention(
    policy_file,
    dry_run: bool,
    store: str | None,  # noqa: ANN001 - click.File
    s3_endpoint: str | None,
) -> None:
    """Delete the rows and logs of results older than the policy keeps them."""
    from layout.retention import parse_policy
    from runlake.lifecycle import retention as run_retention

    policy = parse_policy(policy_file.read())
    config = resolve(store, s3_endpoint)
    target = open_configured_store(config)
    plan = run_retention(target, policy, config["RUNLAKE_SQL_TIMEOUT_S"], dry_run=dry_run)
    click.echo("would delete:" if dry_run else "deleted:")
    for line in plan.lines():
        click.echo(f"  {line}")


commands: list[click.Command] = [materialize, compact, retention, migrate]
