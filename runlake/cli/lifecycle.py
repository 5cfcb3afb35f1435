"""`runlake compact` and `runlake retention`: the archive's lifecycle jobs (layout/ does the
work and runlake.lifecycle asks the views which runs exist; this module reads flags and
prints what happened)."""

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
    help="Leave files younger than this alone.",
)
@click.option(
    "--target-size",
    type=SIZE,
    default="128MiB",
    show_default=True,
    help="Size of the merged files.",
)
@click.option(
    "--latest-only-after",
    type=DURATION,
    default=None,
    help="Keep only the latest snapshot of runs finished longer ago than this.",
)
@store_option
@fails_cleanly
def compact(
    partition: str | None,
    older_than: timedelta,
    target_size: int,
    latest_only_after: timedelta | None,
    store: str | None,
    s3_endpoint: str | None,
) -> None:
    """Merge each partition's small files into large sorted ones; safe while ingest runs."""
    from layout.compaction import compact as run_compaction
    from layout.compaction import parse_partition

    kind, day = parse_partition(partition) if partition else (None, None)
    target = open_configured_store(resolve(store, s3_endpoint))
    report = run_compaction(
        target,
        kind=kind,
        day=day,
        older_than=older_than,
        target_size=target_size,
        latest_only_after=latest_only_after,
    )
    for line in report.skipped:
        click.echo(f"runlake: skipped {line}", err=True)
    if report.partitions:
        click.echo(f"compacted {report.summary()}")
    else:
        click.echo("nothing to compact")


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
    """Delete the records and logs of results older than the policy keeps them."""
    from layout.retention import parse_policy
    from runlake.lifecycle import retention as run_retention

    policy = parse_policy(policy_file.read())
    config = resolve(store, s3_endpoint)
    target = open_configured_store(config)
    plan = run_retention(target, policy, config["RUNLAKE_SQL_TIMEOUT_S"], dry_run=dry_run)
    click.echo("would delete:" if dry_run else "deleted:")
    for line in plan.lines():
        click.echo(f"  {line}")


commands: list[click.Command] = [compact, retention]
