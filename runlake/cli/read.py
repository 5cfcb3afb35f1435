"""`runlake runs`, `runlake get UID`, `runlake summary`: the native API's answers in a shell.

The CLI reads the store directly (it holds the store's credentials), so no token confines it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from layout.schema import KINDS, PIPELINE_RUN, STATUSES
from query.filters import MAX_PAGE_SIZE, FilterError, parse_filters
from runlake.cli.common import (
    FORMATS,
    Failed,
    fails_cleanly,
    open_configured_store,
    resolve,
    store_option,
)

# What a table shows of a run; json and csv give every summary field.
TABLE_COLUMNS = (
    "uid",
    "cluster",
    "namespace",
    "name",
    "kind",
    "status",
    "reason",
    "pipeline",
    "task",
    "created_at",
    "duration_seconds",
)
STEP_COLUMNS = (
    "step",
    "container",
    "exit_code",
    "reason",
    "started_at",
    "finished_at",
    "duration_seconds",
)
CHILD_COLUMNS = (
    "name",
    "pipeline_task",
    "status",
    "reason",
    "started_at",
    "completed_at",
    "duration_seconds",
)


def _filter_options(command: Callable) -> Callable:
    options = [
        click.option("--cluster", multiple=True, help="Runs of this cluster (repeatable)."),
        click.option("--namespace", multiple=True, help="Runs of this namespace (repeatable)."),
        click.option("--kind", multiple=True, help=f"{', '.join(KINDS)} (repeatable)."),
        click.option(
            "--status",
            multiple=True,
            help=f"{', '.join(STATUSES)} (repeatable).",
        ),
        click.option("--pipeline"),
        click.option("--task"),
        click.option("--pipeline-run", "pipeline_run"),
        click.option("--label", multiple=True, help="key=value, or key for any value."),
        click.option("--since", help="RFC 3339 time or a duration back from now: 24h, 7d."),
        click.option("--until", help="RFC 3339 time or a duration back from now."),
        click.option("--name", "q", help="Runs whose name contains this text."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _engine(store: str | None, s3_endpoint: str | None):
    from query.engine import Engine

    config = resolve(store, s3_endpoint)
    return Engine(open_configured_store(config), config["RUNLAKE_SQL_TIMEOUT_S"])


def _filters(paged: bool, **values: Any):
    try:
        return parse_filters({k: v for k, v in values.items() if v not in (None, ())}, paged=paged)
    except FilterError as exc:
        raise Failed("; ".join(exc.errors)) from exc


def _print(columns: tuple[str, ...] | list[str], rows: list[dict[str, Any]], fmt: str) -> None:
    from query.engine import SqlResult
    from runlake.cli.output import format_result

    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    result = SqlResult(
        columns=list(columns), rows=[[row.get(c) for c in columns] for row in rows], truncated=False
    )
    click.echo(format_result(result, fmt), nl=False)


@click.command()
@_filter_options
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, MAX_PAGE_SIZE),
    help="Runs per page.",
)
@click.option("--page-token", help="Continue where the last page ended.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@store_option
@fails_cleanly
def runs(
    limit: int,
    page_token: str | None,
    fmt: str,
    store: str | None,
    s3_endpoint: str | None,
    **filters: Any,
) -> None:
    """List runs, newest first."""
    from query.runs import SUMMARY_COLUMNS, list_runs

    parsed = _filters(True, page_size=limit, page_token=page_token, **filters)
    page, token = list_runs(_engine(store, s3_endpoint), parsed, None)
    _print(TABLE_COLUMNS if fmt == "table" else SUMMARY_COLUMNS, page, fmt)
    if token:
        click.echo(f"runlake: more runs exist; next page: --page-token {token}", err=True)


@click.command()
@click.argument("uid")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@store_option
@fails_cleanly
def get(uid: str, fmt: str, store: str | None, s3_endpoint: str | None) -> None:
    """Show one run: its summary, steps (or child TaskRuns) and stored logs."""
    from query.runs import SUMMARY_COLUMNS, get_run

    run = get_run(_engine(store, s3_endpoint), uid, None)
    if run is None:
        raise Failed(f"no run with uid {uid!r}")
    if fmt == "json":
        click.echo(json.dumps(run, indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        _print(SUMMARY_COLUMNS, [run], "csv")
        return
    fields = [{"field": c, "value": run[c]} for c in SUMMARY_COLUMNS if run[c] not in (None, {})]
    _print(("field", "value"), fields, "table")
    if run["steps"]:
        _print(
            CHILD_COLUMNS if run["kind"] == PIPELINE_RUN else STEP_COLUMNS, run["steps"], "table"
        )
    if run["logs"]:
        _print(("step", "stored_bytes"), run["logs"], "table")


@click.command()
@click.option(
    "--group-by",
    "group_by",
    required=True,
    # query.summary.GROUP_BY's keys (a test keeps them equal; importing it here would load
    # DuckDB for `runlake --help`).
    type=click.Choice(["pipeline", "namespace", "task", "status", "day", "week", "cluster"]),
)
@_filter_options
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@store_option
@fails_cleanly
def summary(
    group_by: str, fmt: str, store: str | None, s3_endpoint: str | None, **filters: Any
) -> None:
    """Totals, success rate and durations per group."""
    from query.summary import GROUP_FIELDS, summarize

    groups = summarize(_engine(store, s3_endpoint), group_by, _filters(False, **filters), None)
    _print(GROUP_FIELDS, groups, fmt)


commands: list[click.Command] = [runs, get, summary]
