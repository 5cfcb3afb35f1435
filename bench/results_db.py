"""A Tekton Results database as upstream writes it, for the import's tests and benchmark.

Two schemas: today's (gorm AutoMigrate of pkg/api/server/db/model.go, timestamptz) and the
older one of schema/results.sql (timestamp without time zone, NOT NULL, an unnamed foreign
key), which databases created before 2023 still have. Rows as the watcher and API write them
(pkg/watcher/results/results.go, logs.go, pkg/api/server/v1alpha2/): a result per top-level
run (server-made UUID id, short name = the run's uid or its PipelineRun's), a record per
object (short name = its uid, data = the object), and for each finished run a Log record
(named UUIDv3(result id, run uid), spec.type File, status.path <ns>/<log uid>/<run>-log)
whose content is written where Results' File backend puts it, in tkn's log format.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

SCHEMA = """
CREATE TABLE "results" (
  "parent" varchar(64), "id" varchar(64), "name" varchar(64), "annotations" jsonb,
  "created_time" timestamptz DEFAULT current_timestamp,
  "updated_time" timestamptz DEFAULT current_timestamp,
  "recordsummary_record" varchar(256), "recordsummary_type" varchar(768),
  "recordsummary_start_time" timestamptz, "recordsummary_end_time" timestamptz,
  "recordsummary_status" integer, "recordsummary_annotations" jsonb,
  "etag" varchar(128),
  PRIMARY KEY ("parent","id"));
CREATE UNIQUE INDEX IF NOT EXISTS "results_by_name" ON "results" ("parent","name");
CREATE TABLE "records" (
  "parent" varchar(64), "result_id" varchar(64), "result_name" varchar(64),
  "id" varchar(64), "name" varchar(64),
  "type" varchar(768), "data" jsonb,
  "created_time" timestamptz DEFAULT current_timestamp,
  "updated_time" timestamptz DEFAULT current_timestamp,
  "etag" varchar(128),
  PRIMARY KEY ("parent","result_id","id"),
  CONSTRAINT "fk_records_result" FOREIGN KEY ("parent","result_id")
    REFERENCES "results"("parent","id") ON DELETE CASCADE ON UPDATE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS "records_by_name" ON "records" ("parent","result_name","name");
"""

OLD_SCHEMA = """
CREATE TABLE results (
  parent varchar(64), id varchar(64), name varchar(64), annotations jsonb,
  created_time timestamp DEFAULT current_timestamp NOT NULL,
  updated_time timestamp DEFAULT current_timestamp NOT NULL,
  recordsummary_record varchar(256), recordsummary_type varchar(768),
  recordsummary_start_time timestamp, recordsummary_end_time timestamp,
  recordsummary_status int, recordsummary_annotations jsonb,
  etag varchar(128),
  PRIMARY KEY (parent, id));
CREATE UNIQUE INDEX results_by_name ON results(parent, name);
CREATE TABLE records (
  parent varchar(64), result_id varchar(64), result_name varchar(64),
  id varchar(64), name varchar(64),
  type varchar(768), data jsonb,
  created_time timestamp DEFAULT current_timestamp NOT NULL,
  updated_time timestamp DEFAULT current_timestamp NOT NULL,
  etag varchar(128),
  PRIMARY KEY (parent, result_id, id),
  FOREIGN KEY (parent, result_id) REFERENCES results(parent, id) ON DELETE CASCADE);
CREATE UNIQUE INDEX records_by_name ON records(parent, result_name, name);
"""

# convert.Status (pkg/watcher/convert/convert.go) as RecordSummary.Status numbers.
_STATUS = {"Succeeded": 1, "Completed": 1, "Failed": 2, "TaskRunTimeout": 3}
_STATUS |= {"PipelineRunTimeout": 3, "Cancelled": 4, "TaskRunCancelled": 4}
_STATUS |= {"PipelineRunCancelled": 4, "StoppedRunFinally": 4, "CancelledRunFinally": 4}


@dataclass
class Written:
    """What was written: the records by kind, and the log objects' paths and texts."""

    runs: int = 0
    logs: dict[str, str] = field(default_factory=dict)  # status.path -> content
    results: dict[str, str] = field(default_factory=dict)  # result name -> server id


def _reason(obj: Mapping[str, Any]) -> str | None:
    for condition in obj.get("status", {}).get("conditions") or []:
        if condition.get("type") == "Succeeded":
            return condition.get("reason")
    return None


def _result_name(obj: Mapping[str, Any]) -> str:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "PipelineRun":
            return ref["uid"]
    return obj["metadata"]["uid"]


def log_content(obj: Mapping[str, Any], steps: Mapping[str, str], task: str = "") -> str:
    """What tkn's log writer prints for one TaskRun's steps (Results stores that)."""
    out = []
    for name, text in steps.items():
        prefix = f"[{task} : {name}] " if task else f"[{name}] "
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        out += [prefix + line + "\n" for line in lines] + ["\n"]
    return "".join(out)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class Writer:
    """Rows in Results' tables, in COPY batches. `step_logs(obj)` gives a TaskRun's step
    texts ({step: text}) for its Log record, or None for none."""

    def __init__(
        self,
        con: psycopg.Connection,
        logs_dir: Path | None = None,
        step_logs: Callable[[Mapping[str, Any]], Mapping[str, str] | None] | None = None,
        log_type: str = "File",
        now: datetime | None = None,
        results: Mapping[str, str] | None = None,
    ) -> None:
        """`results`: results already in the database (Written.results), to add to."""
        self.con = con
        self.logs_dir = logs_dir
        self.step_logs = step_logs
        self.log_type = log_type
        self.now = now or datetime(2026, 1, 1, tzinfo=UTC)
        self.written = Written(results=dict(results or {}))
        self._results: list[tuple] = []
        self._records: list[tuple] = []
        self._summaries: dict[str, tuple] = {}
        self._children: dict[str, list[tuple[Mapping[str, Any], Mapping[str, str], str]]] = {}
        self._pipelines: dict[str, tuple[str, str, Mapping[str, Any]]] = {}

    def result_id(self, namespace: str, name: str) -> str:
        key = f"{namespace}/{name}"
        if key not in self.written.results:
            self.written.results[key] = str(uuid.uuid4())
            self._results.append((namespace, self.written.results[key], name))
        return self.written.results[key]

    def add(self, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        namespace, result = meta["namespace"], _result_name(obj)
        result_id = self.result_id(namespace, result)
        data_type = f"{obj['apiVersion']}.{obj['kind']}"
        self._record(namespace, result_id, result, meta["uid"], data_type, obj)
        self.written.runs += 1
        if result == meta["uid"]:
            self._summary(namespace, result_id, obj, data_type)
        if obj.get("status", {}).get("completionTime") is None or self.step_logs is None:
            return
        if obj["kind"] == "TaskRun":
            steps = self.step_logs(obj)
            if steps:
                labels = meta.get("labels") or {}
                task = labels.get("tekton.dev/pipelineTask", meta["name"])
                self._children.setdefault(result, []).append((obj, steps, task))
                self._log(namespace, result_id, result, obj, log_content(obj, steps))
        elif obj["kind"] == "PipelineRun":
            self._pipelines[meta["uid"]] = (namespace, result_id, obj)

    def _pipeline_logs(self) -> None:
        """A finished PipelineRun's log: its TaskRuns', `[<task> : <step>]` (tkn's
        pipeline log writer)."""
        for uid, (namespace, result_id, obj) in self._pipelines.items():
            children = self._children.pop(uid, [])
            text = "".join(log_content(child, steps, task) for child, steps, task in children)
            if text:
                self._log(namespace, result_id, uid, obj, text)
        self._pipelines.clear()

    def _record(self, namespace, result_id, result, name, data_type, data) -> None:
        created = _time(data.get("metadata", {}).get("creationTimestamp")) or self.now
        record_id = str(uuid.uuid4())
        etag = f"{record_id}-{int(created.timestamp() * 1e9)}"
        self._records.append(
            (
                namespace,
                result_id,
                result,
                record_id,
                name,
                data_type,
                json.dumps(data),
                created,
                created,
                etag,
            )
        )

    def _summary(self, namespace, result_id, obj, data_type) -> None:
        meta, status = obj["metadata"], obj.get("status", {})
        annotations = meta.get("annotations") or {}
        result_annotations = json.loads(
            annotations.get("results.tekton.dev/resultAnnotations", "{}")
        )
        result_annotations["object.metadata.name"] = meta["name"]
        summary_annotations = annotations.get("results.tekton.dev/recordSummaryAnnotations")
        self._summaries[result_id] = (
            json.dumps(result_annotations),
            f"{namespace}/results/{meta['uid']}/records/{meta['uid']}",
            data_type,
            _time(status.get("startTime")),
            _time(status.get("completionTime")),
            _STATUS.get(_reason(obj), 0),
            summary_annotations or "null",
        )

    def _log(self, namespace, result_id, result, obj, text) -> None:
        meta = obj["metadata"]
        log_uid = str(uuid.uuid3(uuid.UUID(result_id), meta["uid"]))
        path = f"{namespace}/{log_uid}/{meta['name']}-log"
        log = {
            "kind": "Log",
            "apiVersion": "results.tekton.dev/v1alpha3",
            "metadata": {
                "name": f"{meta['name']}-log",
                "namespace": namespace,
                "uid": log_uid,
                "creationTimestamp": None,
            },
            "spec": {
                "resource": {
                    "kind": obj["kind"],
                    "namespace": namespace,
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
                "type": self.log_type,
            },
            "status": {
                "path": path,
                "size": len(text.encode()),
                "isStored": True,
                "errorOnStoreMsg": "",
                "isRetryableErr": False,
            },
        }
        self._record(namespace, result_id, result, log_uid, "results.tekton.dev/v1alpha3.Log", log)
        self.written.logs[path] = text
        if self.logs_dir is not None:
            target = self.logs_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def add_row(self, namespace: str, result: str, name: str, data_type: str, data: Any) -> None:
        """A record as it is, e.g. an EventList, or one Results holds but cannot be read."""
        result_id = self.result_id(namespace, result)
        text = data if isinstance(data, str) else json.dumps(data)
        self._records.append(
            (
                namespace,
                result_id,
                result,
                str(uuid.uuid4()),
                name,
                data_type,
                text,
                self.now,
                self.now,
                "",
            )
        )

    def flush(self) -> None:
        """COPY what was added; results first (records refer to them)."""
        self._pipeline_logs()
        with self.con.cursor() as cursor:
            with cursor.copy(
                "COPY results (parent, id, name, annotations, created_time, updated_time, "
                "recordsummary_record, recordsummary_type, recordsummary_start_time, "
                "recordsummary_end_time, recordsummary_status, recordsummary_annotations, etag) "
                "FROM STDIN"
            ) as copy:
                for namespace, result_id, name in self._results:
                    summary = self._summaries.pop(result_id, None)
                    annotations, *rest = summary or ("null", "", "", None, None, 0, "null")
                    copy.write_row(
                        (namespace, result_id, name, annotations, self.now, self.now, *rest, "")
                    )
            with cursor.copy(
                "COPY records (parent, result_id, result_name, id, name, type, data, "
                "created_time, updated_time, etag) FROM STDIN"
            ) as copy:
                for row in self._records:
                    copy.write_row(row)
        self._results.clear()
        self._records.clear()


def load(
    con: psycopg.Connection,
    objects: Iterable[Mapping[str, Any]],
    old_schema: bool = False,
    **writer: Any,
) -> Written:
    """Create Results' schema and write `objects` as the watcher would."""
    con.execute(OLD_SCHEMA if old_schema else SCHEMA)
    out = Writer(con, **writer)
    for obj in objects:
        out.add(obj)
    out.flush()
    return out.written
