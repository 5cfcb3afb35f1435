"""A month of Tekton history as it really arrives, built into a layout-2 store for bench.storage.

Every run of the demo generator (`runlake.demo.generate`, fixed seed and `now`) becomes the
CloudEvents Tekton would have sent about it: a `started` snapshot, a `running` one for most
(RUNNING_SHARE), and the final one; a run still in flight at `now` ends with its current
(running) snapshot instead. Each event has its own ce-id (a UUID, as CloudEvents ids are) and
its own resourceVersion (growing within a run), arrives when it happened (created, part-way,
finished, plus a second or two), and some are sent twice (DUPLICATE_SHARE: the same ce-id
again, seconds later) or arrive out of order (OUT_OF_ORDER_SHARE of the running snapshots
come after the final one). Rows are made with `webhooks.normalize.normalize` exactly as
`webhooks.cloudevents.events_to_rows` makes them.

Events are put in arrival order (a heap a few minutes deep: the generator yields runs in
creation order), then:

- everything before the last hour goes to `inbox/` as group commit writes under load (one
  object per 50-500 rows, `layout.inbox.write_inbox`), and a materializer (one, kept across
  cycles, as `runlake materialize` runs) takes it into the tables every `cycle_rows` rows;
  then `runlake compact` runs once, as the hourly job would;
- the last hour stays in `inbox/` as single-event objects, each with its arrival time as its
  modification time, exactly as a reader at `now` finds them (nothing materializes them).

Beside the store, from the same rows: the floor (one row per run, the latest snapshot, plain
Parquet sorted by namespace, created_at) and the COPY files of Tekton Results' `results` and
`records` tables (one record per run, its latest object, as Results' watcher keeps it).

Everything is written once into a data directory and reused while its manifest matches.
"""

from __future__ import annotations

import gzip
import heapq
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Bump when what is built changes, so an old data directory is rebuilt rather than reused (a
# change to the code that writes the tables, layout/, rebuilds it too: see layout_hash).
RECIPE = 2

SEED = 7
# A Wednesday evening: with the demo's weekday/daytime pattern the last hour then runs at
# about 1.5 events/s for 1,000,000 runs a month (~5,400 single-event inbox objects).
NOW = datetime(2026, 11, 4, 19, 30, tzinfo=UTC)
DAYS = 30
LIVE = timedelta(hours=1)  # the last hour: left in the inbox, one object per event

RUNNING_SHARE = 0.6  # finished runs whose running snapshot was sent too
OUT_OF_ORDER_SHARE = 0.05  # of those running snapshots: arrive after the final one
DUPLICATE_SHARE = 0.02  # of all events: sent a second time with the same ce-id
BATCH_ROWS = (50, 500)  # rows per inbox object while the past arrived (group commit)
CYCLE_ROWS = 100_000  # rows the materializer finds waiting per cycle while the past arrived
# How far behind the newest created run the heap releases events: the generator's creation
# times jitter by a slot, and a PipelineRun's children are created after it.
SLACK_S = 900.0
LOG_SAMPLES = 2000  # runs whose step logs are measured (logs are gzip objects either way)
FLOOR_CHUNK = 50_000


@dataclass(order=True)
class Event:
    at: float  # arrival, epoch seconds
    seq: int
    snapshot: dict = field(compare=False)
    ce_id: str = field(compare=False)
    ce_type: str = field(compare=False)
    latest: bool = field(compare=False)  # the run's latest snapshot (first arrival of it)


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _with_version(obj: dict, version: int, status: dict | None = None) -> dict:
    """A shallow copy of `obj` with its own resourceVersion (and status): snapshots share the
    unchanged parts of the final object, which the generator made once."""
    copy = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(version)}}
    if status is not None:
        copy["status"] = status
    return copy


def _condition(reason: str, message: str) -> list[dict]:
    return [{"type": "Succeeded", "status": "Unknown", "reason": reason, "message": message}]


def _started(obj: dict, version: int) -> dict:
    status = obj.get("status", {})
    started = {key: status[key] for key in ("podName", "startTime", "provenance") if key in status}
    started["conditions"] = _condition("Started", "")
    return _with_version(obj, version, started)


def _running(obj: dict, version: int) -> dict:
    status = {
        key: value
        for key, value in obj.get("status", {}).items()
        if key not in ("completionTime", "results", "conditions")
    }
    status["conditions"] = _condition("Running", "Not all Steps have completed executing")
    return _with_version(obj, version, status)


def _ce_type(kind: str, state: str) -> str:
    return f"dev.tekton.event.{kind.lower()}.{state}.v1"


def run_events(obj: dict, rng: random.Random, now: float, seq: Iterator[int]) -> list[Event]:
    """The events Tekton sends about one run (final object `obj` as of `now`)."""
    meta, status = obj["metadata"], obj.get("status", {})
    kind = obj["kind"]
    created = _epoch(meta.get("creationTimestamp")) or now - 60
    start = _epoch(status.get("startTime"))
    end = _epoch(status.get("completionTime"))
    base = 4 * int(meta["resourceVersion"])  # distinct per run, growing within a run
    latest_at = now - 0.001

    def event(at: float, snapshot: dict, state: str, latest: bool = False) -> Event:
        return Event(
            min(at, latest_at),
            next(seq),
            snapshot,
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            _ce_type(kind, state),
            latest,
        )

    events = []
    if start is None:  # pending: its one snapshot so far
        events.append(
            event(created + rng.uniform(0.5, 2), _with_version(obj, base), "unknown", True)
        )
    elif end is None:  # in flight at `now`: started, then how it looks now
        events.append(event(created + rng.uniform(0.5, 2), _started(obj, base), "started"))
        seen = created + (now - created) * rng.uniform(0.3, 1.0)
        events.append(event(seen, _with_version(obj, base + 1), "running", True))
    else:
        events.append(event(created + rng.uniform(0.5, 2), _started(obj, base), "started"))
        final_at = end + rng.uniform(0.5, 3)
        if rng.random() < RUNNING_SHARE:
            at = start + (end - start) * rng.uniform(0.2, 0.8)
            if rng.random() < OUT_OF_ORDER_SHARE:
                at = final_at + rng.uniform(1, 60)
            events.append(event(at, _running(obj, base + 1), "running"))
        failed = status.get("conditions", [{}])[0].get("status") == "False"
        state = "failed" if failed else "successful"
        events.append(event(final_at, _with_version(obj, base + 2), state, True))
    twins = [
        Event(
            min(e.at + rng.uniform(0.1, 5), latest_at),
            next(seq),
            e.snapshot,
            e.ce_id,
            e.ce_type,
            False,
        )
        for e in events
        if rng.random() < DUPLICATE_SHARE
    ]
    return events + twins


def arrivals(
    runs: int, seed: int = SEED, now: datetime = NOW, days: int = DAYS, stats: dict | None = None
) -> Iterator[Event]:
    """The events of `runs` generated runs, in arrival order."""
    from runlake.demo import generate

    rng = random.Random(seed * 7919 + 1)
    now_s = now.timestamp()
    seq = iter(range(1 << 62))
    heap: list[Event] = []
    newest = float("-inf")
    stats = stats if stats is not None else {}
    for obj in generate(runs, seed=seed, now=now, days=days):
        created = _epoch(obj["metadata"].get("creationTimestamp")) or now_s
        newest = max(newest, created)
        for e in run_events(obj, rng, now_s, seq):
            heapq.heappush(heap, e)
        stats["max_heap"] = max(stats.get("max_heap", 0), len(heap))
        while heap and heap[0].at < newest - SLACK_S:
            yield heapq.heappop(heap)
    while heap:
        yield heapq.heappop(heap)


def event_row(event: Event) -> dict:
    """The row ingest makes of this CloudEvent (webhooks.cloudevents.events_to_rows)."""
    from webhooks.normalize import V1BETA1, normalize

    return normalize(
        event.snapshot,
        received_at=datetime.fromtimestamp(event.at, UTC),
        event_id=event.ce_id,
        source="cloudevent",
        event_type=event.ce_type,
        kind=event.snapshot["kind"],
        api_version=V1BETA1,
    )


# --- Results' COPY files -----------------------------------------------------------------------


def _copy_text(value: str | None) -> str:
    """A value in PostgreSQL's COPY text format (json.dumps leaves no raw tab or newline)."""
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class ResultsFiles:
    """Tekton Results' `results` and `records` rows, as COPY text: one record per run (its
    latest object), grouped under the top-level run's result."""

    def __init__(self, directory: Path) -> None:
        self.records = (directory / "records.tsv").open("w")
        self.results = (directory / "results.tsv").open("w")
        self.ids: dict[tuple[str, str], str] = {}
        self.count = 0

    def add(self, obj: dict) -> int:
        """Add the run's record; returns the bytes of its object as compact JSON."""
        meta = obj["metadata"]
        owner = meta.get("labels", {}).get("tekton.dev/pipelineRunUID") or meta["uid"]
        key = (meta["namespace"], owner)
        created = meta["creationTimestamp"]
        if key not in self.ids:
            self.ids[key] = str(uuid.UUID(int=len(self.ids) + 1))
            self.results.write(
                "\t".join((meta["namespace"], self.ids[key], owner, created, created)) + "\n"
            )
        record_id = str(uuid.UUID(int=(1 << 64) + self.count))
        self.count += 1
        text = json.dumps(obj, separators=(",", ":"))
        self.records.write(
            "\t".join(
                (
                    meta["namespace"],
                    self.ids[key],
                    owner,
                    record_id,
                    meta["uid"],
                    f"{obj['apiVersion']}.{obj['kind']}",
                    _copy_text(text),
                    created,
                    created,
                    record_id[-12:],
                )
            )
            + "\n"
        )
        return len(text)

    def close(self) -> None:
        self.records.close()
        self.results.close()


# --- the floor ---------------------------------------------------------------------------------


class FloorWriter:
    """The latest row of each run into Parquet chunks; `finish` sorts them into one file by
    (namespace, created_at), the order a first page of a namespace wants."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "floor-chunks"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        self.chunks = 0
        self.count = 0

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= FLOOR_CHUNK:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from layout.schema import SNAPSHOT_SCHEMA

        if self.rows:
            table = pa.Table.from_pylist(self.rows, schema=SNAPSHOT_SCHEMA)
            pq.write_table(table, self.directory / f"{self.chunks:05d}.parquet")
            self.chunks += 1
            self.rows = []

    def finish(self, path: Path) -> None:
        import duckdb

        self._flush()
        con = duckdb.connect(config={"memory_limit": "2GB", "threads": 2})
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{self.directory}/*.parquet') "
            f"ORDER BY namespace, created_at) TO '{path}' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536)"
        )
        con.close()
        shutil.rmtree(self.directory)


# --- the build ---------------------------------------------------------------------------------


class Materializing:
    """One materializer holding the lease across the whole build, as `runlake materialize`
    does, with its cycles' figures added up."""

    def __init__(self, store: Any) -> None:
        from layout.lease import Lease
        from layout.materializer import Materializer

        self.lease = Lease(store, "materialize")
        self.lease.acquire(0)
        self.materializer = Materializer(store)
        self.cycles = 0
        self.rows = 0
        self.snapshots = 0
        self.runs_changed = 0
        self.seconds = 0.0
        self.steps: dict[str, float] = {}
        self.slowest_s = 0.0
        self.each: list[tuple[int, float]] = []  # (rows, seconds) of every cycle

    def drain(self) -> None:
        while True:
            report = self.materializer.cycle(self.lease)
            if not report.files:
                return
            self.cycles += 1
            self.rows += report.rows
            self.snapshots += report.snapshots_added
            self.runs_changed += report.runs_changed
            self.seconds += report.seconds
            self.slowest_s = max(self.slowest_s, report.seconds)
            self.each.append((report.rows, round(report.seconds, 2)))
            previous = 0.0
            for name, at in report.steps.items():  # cumulative marks -> each step's time
                self.steps[name] = self.steps.get(name, 0.0) + at - previous
                previous = at

    def close(self) -> None:
        self.materializer.close()
        self.lease.release()

    def figures(self) -> dict:
        return {
            "cycles": self.cycles,
            "rows_read": self.rows,
            "snapshots_added": self.snapshots,
            "runs_changed": self.runs_changed,
            "seconds": round(self.seconds, 1),
            "snapshots_per_s": round(self.rows / self.seconds, 1) if self.seconds else None,
            "slowest_cycle_s": round(self.slowest_s, 2),
            "step_seconds": {k: round(v, 1) for k, v in self.steps.items()},
            "each_cycle_rows_seconds": self.each,
        }


def _log_sample(obj: dict) -> tuple[int, int]:
    from runlake.demo import demo_step_log

    text = gz = 0
    for step in obj.get("status", {}).get("steps", []):
        if "terminated" in step:
            log = demo_step_log(obj, step["name"]).encode()
            text += len(log)
            gz += len(gzip.compress(log, compresslevel=6))
    return text, gz


def layout_hash() -> str:
    """A digest of layout/'s sources: tables written by other code are not reused."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parents[1] / "layout").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def build(runs: int, data_dir: Path, cycle_rows: int = CYCLE_ROWS, progress: bool = True) -> dict:
    """Build (or reuse) the store, the floor and Results' COPY files for `runs` runs under
    data_dir; returns the manifest (what was built, how long each part took)."""
    manifest_path = data_dir / "manifest.json"
    wanted = {
        "recipe": RECIPE,
        "runs": runs,
        "seed": SEED,
        "now": NOW.isoformat(),
        "days": DAYS,
        "cycle_rows": cycle_rows,
        "layout_hash": layout_hash(),
    }
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if all(manifest.get(k) == v for k, v in wanted.items()):
            manifest["reused"] = True
            return manifest
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    from layout.evolution import ensure_layout
    from layout.inbox import write_inbox
    from layout.store import open_store

    store = open_store(str(data_dir / "store"))
    ensure_layout(store)
    rng = random.Random(SEED)
    cut = (NOW - LIVE).timestamp()
    floor = FloorWriter(data_dir)
    results = ResultsFiles(data_dir)
    materializing = Materializing(store)
    counts = {
        "events": 0,
        "duplicates": 0,
        "history_objects": 0,
        "history_rows": 0,
        "live_objects": 0,
        "runs_seen": 0,
        "raw_json_bytes": 0,
    }
    logs = {"runs": 0, "text_bytes": 0, "gzip_bytes": 0}
    every_log = max(runs // LOG_SAMPLES, 1)
    batch: list[dict] = []
    batch_size = rng.randint(*BATCH_ROWS)
    since_cycle = 0
    began = time.perf_counter()
    seen_ids: set[str] = set()
    live: list[Event] = []
    sample_uid = None
    heap_stats: dict = {}
    for event in arrivals(runs, stats=heap_stats):
        counts["events"] += 1
        if event.ce_id in seen_ids:
            counts["duplicates"] += 1
        seen_ids.add(event.ce_id)
        if event.at >= cut:
            live.append(event)
            if event.latest:
                _latest(event, floor, results, counts, logs, every_log)
            continue
        row = event_row(event)
        if event.latest:
            _latest(event, floor, results, counts, logs, every_log, row)
            if counts["runs_seen"] == runs // 2:
                sample_uid = row["uid"]
        batch.append(row)
        if len(batch) >= batch_size:
            write_inbox(store, batch)
            counts["history_objects"] += 1
            counts["history_rows"] += len(batch)
            since_cycle += len(batch)
            batch, batch_size = [], rng.randint(*BATCH_ROWS)
            if since_cycle >= cycle_rows:
                materializing.drain()
                since_cycle = 0
                if progress:
                    _say(
                        f"{counts['history_rows']:,} snapshots in the tables "
                        f"({time.perf_counter() - began:.0f} s)"
                    )
    if batch:
        write_inbox(store, batch)
        counts["history_objects"] += 1
        counts["history_rows"] += len(batch)
    materializing.drain()
    materializing.close()
    seen_ids.clear()
    history_s = time.perf_counter() - began

    started = time.perf_counter()
    compaction = subprocess.run(
        [
            str(Path(sys.executable).parent / "runlake"),
            "compact",
            "--store",
            str(data_dir / "store"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    compact_s = time.perf_counter() - started

    started = time.perf_counter()
    for event in live:
        key = write_inbox(store, [event_row(event)])
        os.utime(store.path(key), (event.at, event.at))
    counts["live_objects"] = len(live)
    live_s = time.perf_counter() - started

    started = time.perf_counter()
    floor.finish(data_dir / "floor.parquet")
    results.close()
    floor_s = time.perf_counter() - started

    manifest = {
        **wanted,
        "reused": False,
        "sample_uid": sample_uid or "",
        "snapshots": counts["events"],
        "duplicate_events": counts["duplicates"],
        "snapshots_per_run": round(counts["events"] / runs, 3),
        "history_inbox_objects": counts["history_objects"],
        "history_snapshots": counts["history_rows"],
        "live_inbox_objects": counts["live_objects"],
        "floor_rows": floor.count,
        "results": len(results.ids),
        "records": results.count,
        "raw_json_bytes": counts["raw_json_bytes"],
        "log_sample_runs": logs["runs"],
        "log_sample_text_bytes": logs["text_bytes"],
        "log_sample_gzip_bytes": logs["gzip_bytes"],
        "max_heap_events": heap_stats.get("max_heap", 0),
        "materializer": materializing.figures(),
        "compact_command": f"runlake compact --store {data_dir / 'store'}",
        "compact_output": compaction.stdout.strip(),
        "compact_s": round(compact_s, 1),
        "history_s": round(history_s, 1),
        "live_write_s": round(live_s, 1),
        "floor_s": round(floor_s, 1),
        "build_s": round(time.perf_counter() - began, 1),
        # CPU seconds of this process and of `runlake compact`: on a shared machine the wall
        # time says as much about the neighbours as about the build
        "build_cpu_s": round(_cpu_seconds(), 1),
        "load_average_after": os.getloadavg(),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def _latest(
    event: Event,
    floor: FloorWriter,
    results: ResultsFiles,
    counts: dict,
    logs: dict,
    every_log: int,
    row: dict | None = None,
) -> None:
    """The run's latest snapshot: into the floor and Results' records, and measured."""
    snapshot = event.snapshot
    floor.add(row or event_row(event))
    counts["raw_json_bytes"] += results.add(snapshot)
    if counts["runs_seen"] % every_log == 0:
        text, gz = _log_sample(snapshot)
        logs["runs"] += 1
        logs["text_bytes"] += text
        logs["gzip_bytes"] += gz
    counts["runs_seen"] += 1


def _cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _say(text: str) -> None:
    print(f"[history] {text}", file=sys.stderr, flush=True)
