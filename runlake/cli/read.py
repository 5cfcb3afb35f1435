"""`runlake runs`, `runlake get RUN`, `runlake summary`: the native API's answers in a shell.

Tables are for people (kubectl's columns, `3m 05s`, `88.2 %`); `--format json` and `csv` give
every field exactly. The CLI reads the store directly (it holds the store's credentials), so
no token confines it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from layout.schema import KINDS, PIPELINE_RUN, STATUSES, TASK_RUN
from query.filters import MAX_PAGE_SIZE, FilterError, parse_filters
from runlake.cli import human
from runlake.cli.common import (
    FORMATS,
    Failed,
    fails_cleanly,
    note,
    open_configured_store,
    resolve,
    store_option,
)
from runlake.cli.output import cell_text, table

FORMAT_HELP = "table for people; json and csv give every field, exact."


def _filter_options(command: Callable) -> Callable:
    options = [
        click.option("--cluster", multiple=True, help="Runs of this cluster (repeatable)."),
        click.option("--namespace", multiple=True, help="Runs of this namespace (repeatable)."),
        click.option("--kind", multiple=True, help=f"{', '.join(KINDS)} (repeatable)."),
        click.option("--status", multiple=True, help=f"{', '.join(STATUSES)} (repeatable)."),
        click.option("--pipeline", help="Runs of this Pipeline (label tekton.dev/pipeline)."),
        click.option("--task", help="TaskRuns of this Task (label tekton.dev/task)."),
        click.option(
            "--pipeline-run",
            "pipeline_run",
            help="TaskRuns of this PipelineRun, by name (label tekton.dev/pipelineRun).",
        ),
        click.option("--label", multiple=True, help="key=value, or key for any value."),
        click.option("--since", help="RFC 3339 time or a duration back from now: 24h, 7d."),
        click.option("--until", help="RFC 3339 time or a duration back from now."),
        click.option("--name", "q", help="Runs whose name contains this text."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def format_option(command: Callable) -> Callable:
    return click.option(
        "--format", "fmt", type=FORMATS, default="table", show_default=True, help=FORMAT_HELP
    )(command)


def engine_for(store: str | None, s3_endpoint: str | None):
    from query.engine import Engine

    config = resolve(store, s3_endpoint)
    return Engine(open_configured_store(config), config["RUNLAKE_SQL_TIMEOUT_S"])


def resolve_ref(engine, ref: str, namespace: str | None, cluster: str | None) -> str:
    """The uid RUN names (a uid, a name, a uid prefix), or one line saying why none."""
    from query.runs import AmbiguousRun, resolve_run

    try:
        return resolve_run(engine, ref, namespace, None, cluster)
    except AmbiguousRun as exc:
        runs = exc.candidates
        clusters = len({run["cluster"] for run in runs}) > 1
        shown = ", ".join(
            f"{run['cluster'] + ':' if clusters else ''}{run['namespace']}/{run['name']}"
            f" ({run['kind']} {run['uid']})"
            for run in runs[:10]
        )
        more = f" and {len(runs) - 10} more" if len(runs) > 10 else ""
        where = [
            flag
            for flag, column in (("--cluster", "cluster"), ("--namespace", "namespace"))
            if len({run[column] for run in runs}) > 1
        ]
        hint = f"add {' or '.join(where)} or give its uid" if where else "give its uid"
        raise Failed(f"{exc}: {shown}{more}; {hint}") from exc


def ref_options(command: Callable) -> Callable:
    """--namespace and --cluster, for a RUN named by a name that several runs share."""
    for flag, what in (("--cluster", "cluster"), ("--namespace", "namespace")):
        command = click.option(
            flag, help=f"The run's {what}, when its name alone names several runs."
        )(command)
    return command


def _filters(paged: bool, **values: Any):
    try:
        return parse_filters({k: v for k, v in values.items() if v not in (None, ())}, paged=paged)
    except FilterError as exc:
        raise Failed("; ".join(exc.errors)) from exc


def _emit(columns: tuple[str, ...], rows: list[dict[str, Any]], fmt: str) -> None:
    """json and csv for programs: every field of `columns`, exact."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from query.engine import SqlResult
    from runlake.cli.output import format_result

    result = SqlResult(list(columns), [[row.get(c) for c in columns] for row in rows], False)
    click.echo(format_result(result, "csv"), nl=False)


def _nothing(filters: dict[str, Any]) -> None:
    filtered = any(v not in (None, ()) for v in filters.values())
    note("no runs match these filters" if filtered else "no runs in the archive yet")


# ------------------------------------------------------------------------------------ runs


def _runs_table(runs: list[dict[str, Any]], now: datetime) -> str:
    rows = [
        [
            run["cluster"],
            run["namespace"],
            run["name"],
            run["kind"],
            human.status(run),
            human.age(run["created_at"], now),
            human.progress(run, now),
            run["uid"],
        ]
        for run in runs
    ]
    headers = ("CLUSTER", "NAMESPACE", "NAME", "KIND", "STATUS", "AGE", "DURATION", "UID")
    return table(headers, rows)


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
@format_option
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
    page, token = list_runs(engine_for(store, s3_endpoint), parsed, None)
    if fmt != "table":
        _emit(SUMMARY_COLUMNS, page, fmt)
    elif page:
        click.echo(_runs_table(page, datetime.now(UTC)), nl=False)
    else:
        _nothing(filters)
    if token:
        note(f"more runs exist; next page: --page-token {token}")


# ------------------------------------------------------------------------------------- get


def _describe(run: dict[str, Any], now: datetime) -> str:
    """The run as `kubectl describe` lays an object out: one field a line, then its parts."""
    created = human.moment(run["created_at"])
    seen = human.moment(run["received_at"])
    fields = [
        ("Name", run["name"]),
        ("Cluster", run["cluster"]),
        ("Namespace", run["namespace"]),
        ("UID", run["uid"]),
        ("Kind", f"{run['kind']} ({run['api_version']})" if run["api_version"] else run["kind"]),
        ("Status", human.status(run)),
        ("Message", run["message"]),
        ("Pipeline", run["pipeline"]),
        (PIPELINE_RUN, run["pipeline_run"]),
        ("Pipeline task", run["pipeline_task"]),
        ("Task", run["task"]),
        ("Created", f"{created} ({human.age(run['created_at'], now)} ago)" if created else ""),
        ("Started", human.moment(run["started_at"])),
        ("Completed", human.moment(run["completed_at"])),
        ("Duration", human.progress(run, now)),
        ("Last seen", f"{seen} ({human.age(run['received_at'], now)} ago)" if seen else ""),
        ("Labels", _pairs(run["labels"])),
        ("Annotations", _pairs(run["annotations"])),
        ("Resource version", run["resource_version"]),
        ("Source", run["source"]),
    ]
    text = table(None, [(f"{label}:", value) for label, value in fields if value])
    if run["kind"] == PIPELINE_RUN:
        text += _section("TaskRuns", _children(run["steps"], now), "none archived")
    elif run["kind"] == TASK_RUN:
        text += _section("Steps", _steps(run["steps"]), "none listed")
    if run["kind"] == TASK_RUN or run["logs"]:
        text += _section("Logs", _logs(run["logs"]), "none stored")
    return text


def _pairs(mapping: dict[str, str] | None) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted((mapping or {}).items()))


def _section(title: str, body: str, empty: str) -> str:
    return f"\n{title}:\n" + (body if body else f"  {empty}\n")


def _children(children: list[dict[str, Any]], now: datetime) -> str:
    if not children:
        return ""
    rows = [
        [
            child.get("pipeline_task") or "",
            child["name"],
            human.status(child),
            human.moment(child["started_at"]),
            human.progress(child, now),
            child["uid"],
        ]
        for child in children
    ]
    return table(("TASK", "NAME", "STATUS", "STARTED", "DURATION", "UID"), rows)


def _steps(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return ""
    rows = [
        [
            step["step"],
            cell_text(step["exit_code"]),
            step["reason"] or "",
            human.moment(step["started_at"]),
            human.duration(step["duration_seconds"]),
        ]
        for step in steps
    ]
    return table(("STEP", "EXIT CODE", "REASON", "STARTED", "DURATION"), rows)


def _logs(logs: list[dict[str, Any]]) -> str:
    if not logs:
        return ""
    return table(("STEP", "STORED"), [[log["step"], _bytes(log["stored_bytes"])] for log in logs])


def _bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


@click.command()
@click.argument("run_ref", metavar="RUN")
@ref_options
@format_option
@store_option
@fails_cleanly
def get(
    run_ref: str,
    namespace: str | None,
    cluster: str | None,
    fmt: str,
    store: str | None,
    s3_endpoint: str | None,
) -> None:
    """Show one run: its summary, steps (or TaskRuns) and stored logs. RUN is a uid, a
    run's name or a unique uid prefix."""
    from query.runs import SUMMARY_COLUMNS, get_run

    engine = engine_for(store, s3_endpoint)
    run = get_run(engine, resolve_ref(engine, run_ref, namespace, cluster), None)
    if run is None:  # removed by retention between the two reads
        raise Failed(f"no run has the uid, name or uid prefix {run_ref!r}")
    if fmt == "table":
        click.echo(_describe(run, datetime.now(UTC)), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(run, indent=2, ensure_ascii=False))
    else:
        _emit(SUMMARY_COLUMNS, [run], fmt)


# --------------------------------------------------------------------------------- summary


def _summary_table(groups: list[dict[str, Any]]) -> str:
    counts = ("total", "succeeded", "failed", "cancelled", "timed_out", "running", "pending")
    rows = [
        [
            "" if group["key"] is None else str(group["key"]),
            *(str(group[c]) for c in counts),
            human.percent(group["success_rate"]),
            *(human.duration(group[f"{c}_duration_seconds"]) for c in ("avg", "p50", "p95")),
        ]
        for group in groups
    ]
    headers = ("KEY", *(c.upper().replace("_", " ") for c in counts), "SUCCESS", "AVG")
    return table((*headers, "P50", "P95"), rows)


@click.command()
@click.option(
    "--group-by",
    "group_by",
    required=True,
    # query.summary.GROUP_BY's keys (a test keeps them equal; importing it here would load
    # DuckDB for `runlake --help`).
    type=click.Choice(["pipeline", "namespace", "task", "status", "day", "week", "cluster"]),
    help="What one line counts: per pipeline, namespace, task, status, day, ISO week or cluster.",
)
@_filter_options
@format_option
@store_option
@fails_cleanly
def summary(
    group_by: str, fmt: str, store: str | None, s3_endpoint: str | None, **filters: Any
) -> None:
    """Totals, success rate and durations per group."""
    from query.summary import GROUP_FIELDS, summarize

    groups = summarize(engine_for(store, s3_endpoint), group_by, _filters(False, **filters), None)
    if fmt != "table":
        _emit(GROUP_FIELDS, groups, fmt)
    elif groups:
        click.echo(_summary_table(groups), nl=False)
    else:
        _nothing(filters)


commands: list[click.Command] = [runs, get, summary]
