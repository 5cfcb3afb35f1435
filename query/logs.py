"""A run's step logs as one text: which stored logs, in which order, under which headers.
What `GET /v1/runs/<uid>/logs` and `runlake logs` print.

Without a step: every stored step log in the order the run lists its steps (the latest
snapshot's status.steps; logs of steps it does not list, e.g. sidecars, follow by name), each
under a `==> <step> <==` line, a blank line between them, as `tail` prints several files.
With a step: that step's text alone, byte for byte.

A PipelineRun's logs are its TaskRuns' logs, the TaskRuns in the order they started, each
step labelled `<taskrun-name>/<step>`; a step may be given as such a label.

`results_log` prints the same logs as Tekton Results stores them (its watcher runs tkn's log
writer): every line prefixed `[<step>] ` (a PipelineRun's `[<pipeline task> : <step>] `),
and an empty line after each step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from layout.keys import is_uid, log_key
from layout.logs import read_log
from layout.schema import PIPELINE_RUN, TASK_RUN
from layout.store import Store
from query.engine import Engine
from query.runs import get_run
from query.scope import Readable


@dataclass(frozen=True)
class LogPart:
    label: str  # the step, or <taskrun-name>/<step> for a PipelineRun's TaskRuns
    key: str
    step: str = ""
    task: str = ""  # the pipeline task (the TaskRun's name without one), in a PipelineRun


class LogNotFound(LookupError):
    """The run, or the asked step's log, is unknown (or where the caller may not read: the
    same answer, so nothing leaks)."""


def run_log_parts(engine: Engine, uid: str, allowed: Readable | None) -> list[LogPart] | None:
    """The run's stored step logs in print order; None if the run is unknown to the caller."""
    run = get_run(engine, uid, allowed) if is_uid(uid) else None
    if run is None:
        return None
    if run["kind"] != PIPELINE_RUN:
        return _own_parts(run, "")
    parts: list[LogPart] = []
    for child in run["steps"]:  # its TaskRuns and CustomRuns, in start order
        if child.get("kind") != TASK_RUN or not child.get("uid"):
            continue
        child_run = get_run(engine, child["uid"], allowed)
        if child_run is not None:
            task = child_run.get("pipeline_task") or child_run["name"]
            parts += _own_parts(child_run, f"{child_run['name']}/", task)
    return parts


def _own_parts(run: dict, label_prefix: str, task: str = "") -> list[LogPart]:
    # get_run lists the logs stored under the run's namespace and uid, in step order.
    return [
        LogPart(
            label_prefix + log["step"],
            log_key(run["namespace"], run["uid"], log["step"]),
            log["step"],
            task,
        )
        for log in run.get("logs") or []
    ]


def open_logs(store: Store, parts: list[LogPart], step: str | None) -> Iterator[bytes]:
    """The text to print, as chunks. The first log is opened now, so an unknown step
    (LogNotFound) or a store that cannot be read (StoreError) raises here, before any
    byte is sent; logs that vanish later (retention) are skipped."""
    if step is not None:
        chosen = [part for part in parts if part.label == step]
        if not chosen:
            raise LogNotFound(_no_such_step(step, parts))
        try:
            return read_log(store, chosen[0].key)
        except FileNotFoundError as exc:
            raise LogNotFound(_no_such_step(step, parts)) from exc
    for index, part in enumerate(parts):
        try:
            first = read_log(store, part.key)
        except FileNotFoundError:
            continue
        return _all_logs(store, part, first, parts[index + 1 :])
    raise LogNotFound("no step log is stored for this run")


def _no_such_step(step: str, parts: list[LogPart]) -> str:
    stored = ", ".join(part.label for part in parts)
    return f"no log stored for step {step!r}; " + (
        f"this run's stored logs: {stored}" if stored else "this run has no stored logs"
    )


def _all_logs(
    store: Store, part: LogPart, chunks: Iterator[bytes], rest: list[LogPart]
) -> Iterator[bytes]:
    yield f"==> {part.label} <==\n".encode()
    yield from _ending_in_newline(chunks)
    for part in rest:
        try:
            chunks = read_log(store, part.key)
        except FileNotFoundError:
            continue
        yield f"\n==> {part.label} <==\n".encode()
        yield from _ending_in_newline(chunks)


def _ending_in_newline(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # So the next header starts a line even after a log whose last line has no newline.
    last = b"\n"
    for chunk in chunks:
        if chunk:
            last = chunk[-1:]
            yield chunk
    if last != b"\n":
        yield b"\n"


def results_log(store: Store, parts: list[LogPart]) -> Iterator[bytes]:
    """The logs in Tekton Results' format. The first log is opened now, so a store that
    cannot be read raises StoreError before any byte is sent (LogNotFound when none is
    stored any more); logs that vanish later (retention) are skipped."""
    for index, part in enumerate(parts):
        try:
            first = read_log(store, part.key)
        except FileNotFoundError:
            continue
        return _prefixed_logs(store, [(part, first)], parts[index + 1 :])
    raise LogNotFound("no step log is stored for this run")


def _prefixed_logs(
    store: Store, opened: list[tuple[LogPart, Iterator[bytes]]], rest: list[LogPart]
) -> Iterator[bytes]:
    for part, chunks in opened:
        yield from _prefixed(part, chunks)
    for part in rest:
        try:
            chunks = read_log(store, part.key)
        except FileNotFoundError:
            continue
        yield from _prefixed(part, chunks)


def _prefixed(part: LogPart, chunks: Iterator[bytes]) -> Iterator[bytes]:
    prefix = (f"[{part.task} : {part.step}] " if part.task else f"[{part.step}] ").encode()
    pending = b""
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        if lines:
            yield b"".join(prefix + line + b"\n" for line in lines)
    if pending:
        yield prefix + pending + b"\n"
    yield b"\n"  # tkn's writer ends every step with an empty line
