"""Retention: which results expire under a policy, and deleting their records and logs.

A policy file has the shape of Tekton Results' retention policy (DESIGN: CLI), so users can
carry theirs over; a whole Results ConfigMap (`data.defaultRetention`, `data.policies` as a
YAML string, the older `data.maxRetention`) is accepted too:

    defaultRetention: 90d
    policies:
      - name: short-lived-previews
        selector:
          matchNamespaces: [previews]
          matchLabels: {"tekton.dev/pipeline": [preview-deploy]}
          matchAnnotations: {}
          matchStatuses: [Succeeded]
        retention: 3d

Decisions are per result, as in Results: the policies are matched against each top-level run
(a PipelineRun, or a TaskRun/CustomRun without a PipelineRun owner); the first match decides,
else `defaultRetention` (none: kept forever). A PipelineRun's TaskRuns go or stay with it.
Age counts from completion, or from creation for a run that never finished.

Deleting, under the store's writer lease (the caller holds it):

1. A journal `_runlake/retention/<id>.json` names the runs to delete, so a killed job's
   remaining work is finished by the next run.
2. One DELETE commit on `runs`, then one on `snapshots`, then one on the uid index, each
   naming the expired uids in their partitions (so delta-rs rewrites only the files holding
   them). A reader at any version sees a run whole or not at all: in `runs` it disappears in
   one commit, with its PipelineRun's TaskRuns.
3. Then the log objects of those runs are deleted, and the journal. Between steps 2 and 3 a
   run's logs still exist but nothing lists them: no view or API names a run without a row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import yaml
from deltalake.exceptions import DeltaError

from layout.evolution import ensure_layout
from layout.keys import is_dns_label, is_uid, new_file_id
from layout.literals import sql_string
from layout.schema import PIPELINE_RUN
from layout.store import ObjectInfo, Store, StoreError
from layout.tables import INDEX, RUNS, SNAPSHOTS, Tables, partition_terms
from layout.units import parse_duration

JOURNAL_PREFIX = "_runlake/retention/"
# Uids per DELETE predicate: a long IN list costs delta-rs time to plan.
DELETE_CHUNK = 2000
Partition = tuple[str, str]  # (kind, date) of the tables


class PolicyError(ValueError):
    """A policy file that cannot be applied; `.errors` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid retention policy: " + "; ".join(errors))
        self.errors = errors


# -- policies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    namespaces: frozenset[str] = frozenset()
    labels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    annotations: Mapping[str, frozenset[str]] = field(default_factory=dict)
    statuses: frozenset[str] = frozenset()  # condition reasons

    def matches(self, run: RunInfo) -> bool:
        """Every given criterion must hold; within one, any listed value will do."""
        if self.namespaces and run.namespace not in self.namespaces:
            return False
        if self.statuses and run.reason not in self.statuses:
            return False
        for wanted, have in ((self.labels, run.labels), (self.annotations, run.annotations)):
            for key, values in wanted.items():
                if have.get(key) not in values:
                    return False
        return True


@dataclass(frozen=True)
class Rule:
    name: str
    selector: Selector
    retention: timedelta


@dataclass(frozen=True)
class Policy:
    default: timedelta | None
    rules: tuple[Rule, ...]

    def decide(self, run: RunInfo) -> tuple[str, timedelta | None]:
        """(which policy decided, its retention); retention None: kept forever."""
        for rule in self.rules:
            if rule.selector.matches(run):
                return rule.name, rule.retention
        return "defaultRetention", self.default


def _strings(value: Any, where: str, errors: list[str]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{where} must be a list of strings")
        return frozenset()
    return frozenset(value)


def _string_lists(value: Any, where: str, errors: list[str]) -> dict[str, frozenset[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{where} must map keys to lists of values")
        return {}
    return {str(k): _strings(v, f"{where}.{k}", errors) for k, v in value.items()}


def parse_policy(text: str | bytes) -> Policy:
    """A Policy from a policy file's YAML or JSON. Raises PolicyError listing every problem."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError([f"not YAML: {exc}".split("\n")[0]]) from exc
    if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
        doc = dict(doc.get("data") or {})
    if not isinstance(doc, dict):
        raise PolicyError(["the policy file must be a mapping with defaultRetention/policies"])
    errors: list[str] = []
    default = None
    raw_default = doc.get("defaultRetention", doc.get("maxRetention"))
    if raw_default not in (None, ""):
        try:
            default = parse_duration(raw_default)
        except ValueError as exc:
            errors.append(f"defaultRetention: {exc}")
    raw_rules = doc.get("policies") or []
    if isinstance(raw_rules, str):  # a ConfigMap carries the list as a YAML string
        try:
            raw_rules = yaml.safe_load(raw_rules) or []
        except yaml.YAMLError as exc:
            errors.append(f"policies: not YAML: {exc}".split("\n")[0])
            raw_rules = []
    if not isinstance(raw_rules, list):
        errors.append("policies must be a list")
        raw_rules = []
    rules = []
    for n, raw in enumerate(raw_rules):
        where = f"policies[{n}]"
        if not isinstance(raw, dict):
            errors.append(f"{where} must be a mapping")
            continue
        name = str(raw.get("name") or where)
        selector = raw.get("selector") or {}
        if not isinstance(selector, dict):
            errors.append(f"{where}.selector must be a mapping")
            selector = {}
        unknown = set(selector) - {
            "matchNamespaces",
            "matchLabels",
            "matchAnnotations",
            "matchStatuses",
        }
        if unknown:
            errors.append(f"{where}.selector: unknown fields {sorted(unknown)}")
        if raw.get("retention") in (None, ""):
            errors.append(f"{where}: retention is required")
            continue
        try:
            retention = parse_duration(raw["retention"])
        except ValueError as exc:
            errors.append(f"{where}.retention: {exc}")
            continue
        rules.append(
            Rule(
                name,
                Selector(
                    namespaces=_strings(
                        selector.get("matchNamespaces"), f"{where}.matchNamespaces", errors
                    ),
                    labels=_string_lists(
                        selector.get("matchLabels"), f"{where}.matchLabels", errors
                    ),
                    annotations=_string_lists(
                        selector.get("matchAnnotations"), f"{where}.matchAnnotations", errors
                    ),
                    statuses=_strings(
                        selector.get("matchStatuses"), f"{where}.matchStatuses", errors
                    ),
                ),
                retention,
            )
        )
    if errors:
        raise PolicyError(errors)
    return Policy(default, tuple(rules))


# -- deciding ---------------------------------------------------------------------------------

# Over the `runs` view with its partition column (query.engine.Engine.query): one row per
# run, its latest snapshot.
RUNS_SQL = """SELECT uid, namespace, name, kind, date, reason, labels, annotations, created_at,
       completed_at, received_at, pipeline_run, pipeline_run_uid
FROM _runs"""


@dataclass(frozen=True)
class RunInfo:
    uid: str
    namespace: str | None
    kind: str
    reason: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    created_at: datetime | None
    completed_at: datetime | None
    received_at: datetime | None = None
    parent_uid: str | None = None  # the owning PipelineRun's uid, for TaskRuns and CustomRuns
    day: str = ""  # the tables' `date` partition of the run

    @property
    def partition(self) -> Partition:
        return self.kind, self.day

    @property
    def age_from(self) -> datetime | None:
        return self.completed_at or self.created_at or self.received_at


def runs_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[RunInfo]:
    """RunInfo for rows of RUNS_SQL, with each child's parent resolved from its
    ownerReferences (or, without them, its `tekton.dev/pipelineRun` label)."""
    rows = list(rows)
    by_name = {
        (r.get("namespace"), r.get("name")): r["uid"] for r in rows if r["kind"] == PIPELINE_RUN
    }
    runs = []
    for row in rows:
        parent = None
        if row["kind"] != PIPELINE_RUN:
            parent = row.get("pipeline_run_uid")
            if parent is None and row.get("pipeline_run"):
                parent = by_name.get((row.get("namespace"), row["pipeline_run"]))
        runs.append(
            RunInfo(
                uid=row["uid"],
                namespace=row.get("namespace"),
                kind=row["kind"],
                reason=row.get("reason"),
                labels=dict(row.get("labels") or {}),
                annotations=dict(row.get("annotations") or {}),
                created_at=row.get("created_at"),
                completed_at=row.get("completed_at"),
                received_at=row.get("received_at"),
                parent_uid=parent,
                day=row.get("date") or "",
            )
        )
    return runs


@dataclass
class Expired:
    """One result that goes: its top-level run, the policy that decided, and every run."""

    top: RunInfo
    policy: str
    runs: list[RunInfo]


def expired_results(
    runs: Iterable[RunInfo], policy: Policy, now: datetime | None = None
) -> list[Expired]:
    """The results whose top-level run is older than its policy's retention."""
    now = now or datetime.now(UTC)
    runs = list(runs)
    uids = {run.uid for run in runs}
    children: dict[str, list[RunInfo]] = defaultdict(list)
    tops = []
    for run in runs:
        # A child whose PipelineRun was never archived is decided on its own.
        if run.parent_uid and run.parent_uid in uids:
            children[run.parent_uid].append(run)
        else:
            tops.append(run)
    expired = []
    for top in tops:
        name, retention = policy.decide(top)
        if retention is None or top.age_from is None or now - top.age_from <= retention:
            continue
        expired.append(Expired(top, name, [top, *children.get(top.uid, [])]))
    return expired


# -- planning and deleting --------------------------------------------------------------------


@dataclass
class RetentionPlan:
    results: int = 0
    runs: int = 0
    record_rows: int = 0  # rows of `runs` and `snapshots` that go
    log_objects: int = 0
    log_bytes: int = 0
    by_policy: dict[str, int] = field(default_factory=dict)  # policy -> results
    partitions: dict[Partition, set[str]] = field(default_factory=dict)  # -> expired uids
    logs: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"results: {self.results} ({self.runs} runs)",
            f"records: {self.record_rows} rows",
            f"logs: {self.log_objects} objects, {self.log_bytes} bytes",
        ]
        out += [f"  {name}: {count} results" for name, count in sorted(self.by_policy.items())]
        return out


def _run_logs(store: Store, namespace: str | None, uid: str) -> list[ObjectInfo]:
    if not namespace or not is_dns_label(namespace) or not is_uid(uid):
        return []  # no log key can exist for it
    return store.list(f"logs/{namespace}/{uid}/")


def plan(store: Store, expired: Iterable[Expired], tables: Tables | None = None) -> RetentionPlan:
    """What deleting `expired` removes: rows and log objects, read from the store."""
    tables = tables or Tables(store)
    result = RetentionPlan()
    wanted: dict[Partition, set[str]] = defaultdict(set)
    for item in expired:
        result.results += 1
        result.runs += len(item.runs)
        result.by_policy[item.policy] = result.by_policy.get(item.policy, 0) + 1
        for run in item.runs:
            wanted[run.partition].add(run.uid)
            for log in _run_logs(store, run.namespace, run.uid):
                result.log_objects += 1
                result.log_bytes += log.size
                result.logs.append(log.key)
    for path in (RUNS, SNAPSHOTS):
        for file in tables.state(path).select(partitions=set(wanted)):
            uids = pq.read_table(file.path, columns=["uid"], filesystem=store.fs).column("uid")
            uids_wanted = wanted[(file.kind, file.date)]
            result.record_rows += sum(1 for uid in uids.to_pylist() if uid in uids_wanted)
    result.partitions = dict(wanted)
    return result


def _journal_key() -> str:
    return f"{JOURNAL_PREFIX}{new_file_id()}.json"


def apply(
    store: Store,
    expired: Iterable[Expired],
    *,
    tables: Tables | None = None,
    before_logs: Callable[[], None] | None = None,
) -> RetentionPlan:
    """Delete the rows and logs of `expired` (after finishing any killed earlier run), under
    the writer lease the caller holds. `before_logs` runs between deleting rows and logs
    (tests kill a run there). Returns the plan carried out. Raises StoreError."""
    ensure_layout(store)
    tables = tables or Tables(store)
    finish_pending(store, tables)
    expired = list(expired)
    done = plan(store, expired, tables)
    runs = [[run.kind, run.namespace, run.uid, run.day] for item in expired for run in item.runs]
    if not runs:
        return done
    journal = _journal_key()
    store.write_bytes(journal, json.dumps({"runs": runs}).encode())
    _carry_out(store, tables, runs, before_logs)
    store.delete(journal)
    return done


def finish_pending(store: Store, tables: Tables | None = None) -> int:
    """Complete the deletions of retention runs that were killed; returns how many."""
    tables = tables or Tables(store)
    pending = [info for info in store.list(JOURNAL_PREFIX) if info.key.endswith(".json")]
    for info in sorted(pending, key=lambda i: i.key):
        try:
            runs = json.loads(store.read_bytes(info.key))["runs"]
        except FileNotFoundError:
            continue
        _carry_out(store, tables, runs, None)
        store.delete(info.key)
    return len(pending)


def _carry_out(
    store: Store, tables: Tables, runs: list[list], before_logs: Callable[[], None] | None
) -> None:
    wanted: dict[Partition, set[str]] = defaultdict(set)
    for kind, _namespace, uid, day in runs:
        if day:
            wanted[(kind, day)].add(uid)
    for path in (RUNS, SNAPSHOTS):
        for chunk in _chunks(wanted):
            _delete(
                tables,
                path,
                " OR ".join(
                    f"({term} AND uid IN ({', '.join(sql_string(u) for u in sorted(uids))}))"
                    for term, uids in chunk
                ),
            )
    for chunk in _chunks({("", ""): {uid for uids in wanted.values() for uid in uids}}):
        _delete(
            tables,
            INDEX,
            "uid IN (" + ", ".join(sql_string(u) for _, uids in chunk for u in sorted(uids)) + ")",
        )
    if before_logs is not None:
        before_logs()
    for _kind, namespace, uid, _day in runs:
        for log in _run_logs(store, namespace, uid):
            store.delete(log.key)


def _chunks(wanted: Mapping[Partition, set[str]]) -> Iterable[list[tuple[str, set[str]]]]:
    """(partition condition, uids) pairs, at most DELETE_CHUNK uids per list."""
    chunk: list[tuple[str, set[str]]] = []
    size = 0
    for partition, uids in sorted(wanted.items()):
        ordered = sorted(uids)
        for start in range(0, len(ordered), DELETE_CHUNK):
            piece = set(ordered[start : start + DELETE_CHUNK])
            if size + len(piece) > DELETE_CHUNK and chunk:
                yield chunk
                chunk, size = [], 0
            chunk.append((partition_terms(*partition), piece))
            size += len(piece)
    if chunk:
        yield chunk


def _delete(tables: Tables, path: str, predicate: str) -> None:
    table = tables.open(path)
    if table is None:
        return
    try:
        table.delete(predicate)
    except (DeltaError, OSError) as exc:
        raise StoreError(f"cannot delete from {path}: {exc}") from exc
