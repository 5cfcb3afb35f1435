"""Moving off Tekton Results: read a Results database (PostgreSQL, its `records` table as
upstream's gorm models or its older SQL schema create it) and archive every TaskRun,
PipelineRun and CustomRun record, and with a log location the logs Results stored.

- In batches, in primary-key order (parent, result_id, id), each batch one short query
  that the primary key's index answers: no long transaction on a production database.
- Resumable: after each batch is in the store, `_runlake/imports/results-<db>.json` notes
  the last key; a run after a kill starts there. A batch written but not noted is written
  again, which changes nothing: a snapshot's id is a hash of its content, and readers keep
  one row per id. A rerun is idempotent for the same reason.
- A record that cannot be read (not JSON, not a run ingest accepts, a log that cannot be
  fetched or split) is reported by its Results name and counted; the import goes on and
  exits 1 at the end. Records of other types (EventList, ...) are counted by type.

Logs: Results stores each run's log as one object (File: `<LOGS_PATH>/<status.path>` on its
volume; S3: key `<LOGS_PATH>/<status.path>`) in tkn's format, every line `[<step>] ...`
and an empty line after each step. A TaskRun's log is split back into its steps and stored
as runlake's step logs. A PipelineRun's log is its TaskRuns' logs, which have Log records of
their own, so it is not imported twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import psycopg

from ingest.archive import import_readable
from layout.keys import InvalidKeyPart, import_checkpoint_key
from layout.logs import InvalidLog, write_log
from layout.schema import DEFAULT_CLUSTER
from layout.store import Store

BATCH = 5000
RUN_KINDS = ("TaskRun", "PipelineRun", "CustomRun")
LOG_TYPES = ("results.tekton.dev/v1alpha3.Log", "results.tekton.dev/v1alpha2.Log")
REQUIRED_COLUMNS = ("parent", "result_id", "result_name", "id", "name", "type", "data")
_STEP_LINE = re.compile(rb"\[([a-z0-9]([-a-z0-9]*[a-z0-9])?)\] ?(.*)", re.DOTALL)
_SPOOL_BYTES = 8 << 20


class NotResultsDatabase(ValueError):
    """The database has no `records` table of Tekton Results' shape."""


@dataclass
class Progress:
    """How far an import got: what the checkpoint holds, and what the CLI prints."""

    after: list[str] | None = None  # the last (parent, result_id, id) archived
    read: int = 0
    runs: int = 0
    logs: int = 0
    skipped: Counter = field(default_factory=Counter)  # type or reason -> records
    failures: list[str] = field(default_factory=list)  # "<record name>: <why>"

    def to_json(self) -> bytes:
        body = {
            "after": self.after,
            "read": self.read,
            "runs": self.runs,
            "logs": self.logs,
            "skipped": dict(self.skipped),
            "failures": self.failures,
        }
        return json.dumps(body, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Progress:
        body = json.loads(data)
        return cls(
            body["after"],
            body["read"],
            body["runs"],
            body["logs"],
            Counter(body["skipped"]),
            list(body["failures"]),
        )


# -- the database ------------------------------------------------------------------------


def source_id(dsn: str) -> str:
    """A name for the database that does not carry its password: host, port, name, user."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    who = "|".join(str(info.get(k, "")) for k in ("host", "port", "dbname", "user"))
    return "results-" + hashlib.sha256(who.encode()).hexdigest()[:16]


def _data_expression(con: psycopg.Connection) -> str:
    """`data` as text, whatever its type (jsonb today; bytea before 2021's jsonb)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'records' AND table_schema = current_schema()"
    ).fetchall()
    types = {name: kind for name, kind in rows}
    missing = [c for c in REQUIRED_COLUMNS if c not in types]
    if missing:
        raise NotResultsDatabase(
            "not a Tekton Results database: "
            + ("no records table" if not types else f"records has no {', '.join(missing)}")
        )
    return "convert_from(data, 'UTF8')" if types["data"] == "bytea" else "data::text"


def _batches(con: psycopg.Connection, after: list[str] | None, size: int) -> Iterator[list[tuple]]:
    data = _data_expression(con)
    columns = f"parent, result_id, result_name, id, name, type, {data}"
    while True:
        if after is None:
            rows = con.execute(
                f"SELECT {columns} FROM records ORDER BY parent, result_id, id LIMIT %s", [size]
            ).fetchall()
        else:
            rows = con.execute(
                f"SELECT {columns} FROM records WHERE (parent, result_id, id) > (%s, %s, %s) "
                "ORDER BY parent, result_id, id LIMIT %s",
                [*after, size],
            ).fetchall()
        if not rows:
            return
        yield rows
        after = list(rows[-1][:2]) + [rows[-1][3]]


def _name(row: tuple) -> str:
    parent, _, result, _, name = row[:5]
    return f"{parent}/results/{result}/records/{name}"


# -- logs --------------------------------------------------------------------------------


class LogSource:
    """Where Results kept its log objects: a copy of its volume (LOGS_PATH's content), or
    s3://bucket/<LOGS_PATH> (the key keeps LOGS_PATH's leading slash, as Results writes it)."""

    def __init__(self, location: str, s3_endpoint: str | None = None) -> None:
        parsed = urlparse(location)
        self.location = location
        if parsed.scheme == "s3":
            import boto3

            self.bucket = parsed.netloc
            self.prefix = parsed.path or "/logs"
            self.s3 = boto3.client("s3", endpoint_url=s3_endpoint)
            self.directory = None
        else:
            self.directory = Path(parsed.path if parsed.scheme == "file" else location)
            self.s3 = None

    def open(self, path: str) -> BinaryIO:
        """The object Results stored at status.path; FileNotFoundError if it is not there."""
        if self.directory is not None:
            return (self.directory / path.lstrip("/")).open("rb")
        from botocore.exceptions import ClientError

        base = self.prefix.rstrip("/")
        for key in dict.fromkeys((f"{base}/{path}", f"{base.lstrip('/')}/{path}".lstrip("/"))):
            try:
                return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                    raise OSError(f"s3://{self.bucket}/{key}: {exc}") from exc
        raise FileNotFoundError(f"s3://{self.bucket}{base}/{path}")


def split_steps(stream: BinaryIO) -> dict[str, BinaryIO]:
    """A TaskRun's log in tkn's format, back into each step's text (spooled to disk past a
    few MiB). An unprefixed empty line ends a step; another unprefixed line continues the
    step before it. Raises InvalidLog if no line names a step."""
    steps: dict[str, BinaryIO] = {}
    current: BinaryIO | None = None
    for raw in _lines(stream):
        line = raw.rstrip(b"\n")
        match = _STEP_LINE.fullmatch(line)
        if match:
            step = match.group(1).decode()
            if step not in steps:
                # Closed by the caller once stored, so not a `with` here.
                steps[step] = tempfile.SpooledTemporaryFile(_SPOOL_BYTES)  # noqa: SIM115
            current = steps[step]
            current.write(match.group(3) + b"\n")
        elif line and current is not None:
            current.write(line + b"\n")
        elif line:
            raise InvalidLog("a line before any [step] prefix")
    if not steps:
        raise InvalidLog("no [step] prefix in the log")
    for spool in steps.values():
        spool.seek(0)
    return steps


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    pending = b""
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending


def _import_log(store: Store, source: LogSource, log: dict[str, Any]) -> str | int:
    """Store a Log record's content as step logs: the steps written, or why it is skipped
    (a str starting with "skipped:"). Raises ValueError/OSError for a log that cannot be
    read."""
    spec, status = log.get("spec") or {}, log.get("status") or {}
    resource = spec.get("resource") or {}
    if resource.get("kind") == "PipelineRun":
        return "skipped: a PipelineRun's log (its TaskRuns' logs are imported)"
    if log.get("apiVersion") == "results.tekton.dev/v1alpha3" and not status.get("isStored"):
        return "skipped: a log Results never stored"
    if not status.get("size"):
        return "skipped: an empty log"
    kind = spec.get("type", "File")
    if kind not in ("File", "S3"):
        raise ValueError(f"logs of type {kind} are not stored by Results where runlake reads")
    if (source.directory is None) != (kind == "S3"):
        raise ValueError(f"a {kind} log, and the logs location is {source.location}")
    namespace, uid = resource.get("namespace"), resource.get("uid")
    if not namespace or not uid or not status.get("path"):
        raise ValueError("the Log record names no run (spec.resource) or no path")
    with source.open(status["path"]) as stream:
        steps = split_steps(stream)
    for step, text in steps.items():
        with text:
            write_log(store, namespace, uid, step, text.read)
    return len(steps)


# -- the import --------------------------------------------------------------------------


def import_results(
    dsn: str,
    store: Store,
    logs: LogSource | None = None,
    batch: int = BATCH,
    from_start: bool = False,
    on_batch: Callable[[Progress, int], None] | None = None,
    cluster: str = DEFAULT_CLUSTER,
) -> Progress:
    """Archive the database's records as runs of `cluster` (a Results database serves one);
    `on_batch(progress, total)` after each batch. Raises NotResultsDatabase, psycopg.Error,
    StoreError."""
    key = import_checkpoint_key(source_id(dsn))
    progress = Progress()
    if not from_start and store.exists(key):
        progress = Progress.from_json(store.read_bytes(key))
    with psycopg.connect(dsn, autocommit=True) as con:
        total = con.execute("SELECT count(*) FROM records").fetchone()[0]
        if on_batch is not None:
            on_batch(progress, total)
        for rows in _batches(con, progress.after, batch):
            _archive(store, logs, rows, progress, cluster)
            progress.after = [rows[-1][0], rows[-1][1], rows[-1][3]]
            store.write_bytes(key, progress.to_json())
            if on_batch is not None:
                on_batch(progress, total)
    return progress


def _archive(
    store: Store, logs: LogSource | None, rows: list[tuple], progress: Progress, cluster: str
) -> None:
    runs: list[tuple[str, Any]] = []
    for row in rows:
        progress.read += 1
        record_type, text = row[5], row[6]
        try:
            data = json.loads(text) if text is not None else None
        except ValueError as exc:
            progress.failures.append(f"{_name(row)}: data is not JSON ({exc})")
            continue
        if record_type in LOG_TYPES:
            _archive_log(store, logs, row, data, progress)
        elif record_type and record_type.rsplit(".", 1)[-1] in RUN_KINDS:
            runs.append((_name(row), data))
        else:
            progress.skipped[record_type or "(no type)"] += 1
    written, problems = import_readable(store, [data for _, data in runs], cluster=cluster)
    progress.runs += written
    for index, errors in problems.items():
        progress.failures.append(f"{runs[index][0]}: {'; '.join(errors)}")


def _archive_log(
    store: Store, logs: LogSource | None, row: tuple, data: Any, progress: Progress
) -> None:
    if logs is None:
        progress.skipped["Log (no --logs location given)"] += 1
        return
    if not isinstance(data, dict):
        progress.failures.append(f"{_name(row)}: the Log record is not an object")
        return
    try:
        outcome = _import_log(store, logs, data)
    except FileNotFoundError as exc:
        progress.failures.append(f"{_name(row)}: log not found at {exc}")
    except (ValueError, OSError, InvalidKeyPart) as exc:
        progress.failures.append(f"{_name(row)}: {exc}")
    else:
        if isinstance(outcome, str):
            progress.skipped[outcome.removeprefix("skipped: ")] += 1
        else:
            progress.logs += 1
