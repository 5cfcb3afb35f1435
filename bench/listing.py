"""A store of many single-event files (what Lambda ingest leaves): how long listing and
queries take, before and after `runlake compact`, and what `--latest-only-after` saves.

    .venv/bin/python -m bench.listing [--files 100000] [--s3-files 0] [--dir PATH] [--keep]

Each run gets two snapshots (running, then finished), each in its own file, so `--files`
files hold `--files / 2` runs over 30 days. Timed: one full listing of records/; `SELECT
count(*) FROM runs`; a one-day read (through the views with a date filter, which still lists
every file, and over that day's partitions alone, which is what partition pruning gives);
`GET /v1/summary?group_by=pipeline` over the history's 30 days. Then compaction, the same again, and
compaction with `--latest-only-after 7d` with the bytes before and after. `--s3-files N`
repeats the listing and count over N files in S3 behind a moto server. Writes
bench/out/listing.json. The data is written to a temporary directory and removed unless
`--keep`; it is never part of the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import machine

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SINCE = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")  # the history's 30 days


def _timed(fn: Callable[[], Any], repeat: int = 3) -> dict[str, Any]:
    """Cold (first) and best warm time, in seconds, and the answer."""
    times, answer = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - start)
    return {
        "cold_s": round(times[0], 3),
        "warm_s": round(min(times[1:] or times), 3),
        "answer": answer,
    }


def _write_chunk(args: tuple[str, str | None, int, int]) -> int:
    """Write end - start runs, each snapshot as a file of its own (in a worker process)."""
    url, endpoint, start, end = args
    from layout.records import partition_of, rows_to_table, table_to_parquet, write_records

    from layout.keys import records_key
    from layout.store import LocalStore, open_store
    from runlake.demo import generate
    from tests.helpers.history import running_snapshot
    from webhooks.snapshots import objects_to_rows

    store = open_store(url, endpoint)
    if isinstance(store, LocalStore):
        # Filling only: skip the store's fsyncs, which would make 100,000 files take an hour.
        def write_records(_store, rows):  # noqa: ANN001, ANN202, F811
            path = Path(store.path(records_key(*partition_of(rows[0]))))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(table_to_parquet(rows_to_table(rows)))

    # A seed per chunk: uids come from the seeded generator, so chunks never share one.
    runs = generate(end - start, seed=start + 1, now=NOW, days=30)
    written = 0
    for obj in runs:
        for snapshot in (running_snapshot(obj), obj):
            rows = objects_to_rows(snapshot, datetime.now(UTC), source="cloudevent")
            write_records(store, rows)
            written += 1
    return written


def fill(url: str, endpoint: str | None, files: int, workers: int) -> float:
    runs = files // 2
    step = max(1, -(-runs // (workers * 8)))
    chunks = [(url, endpoint, a, min(a + step, runs)) for a in range(0, runs, step)]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        total = sum(pool.map(_write_chunk, chunks))
    assert total == runs * 2, total
    return time.perf_counter() - start


def busiest_day(store) -> date:
    """The day with the most files, so the one-day read has something to read."""
    days = Counter(info.key.split("/")[2][5:] for info in store.list("records"))
    return date.fromisoformat(days.most_common(1)[0][0]) if days else NOW.date()


def measure(store, day: date, with_api: bool) -> dict[str, Any]:
    from query.engine import Engine

    out: dict[str, Any] = {}
    infos = store.list("records")
    out["files"] = len(infos)
    out["bytes"] = sum(info.size for info in infos)
    out["list_records"] = _timed(lambda: len(store.list("records")))
    engine = Engine(store, sql_timeout_s=600)
    try:
        out["count_runs"] = _timed(lambda: engine.query("SELECT count(*) AS n FROM runs")[0]["n"])
        out["one_day_through_views"] = _timed(
            lambda: engine.query(
                "SELECT count(*) AS n FROM runs WHERE created_at >= $1 AND created_at < $2",
                [
                    datetime(day.year, day.month, day.day, tzinfo=UTC),
                    datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1),
                ],
            )[0]["n"]
        )
        out["one_day_partitions_only"] = _one_day(engine, store, day)
    finally:
        engine.close()
    if with_api:
        out["summary_by_pipeline_30d"] = _summary(store)
    return out


def _one_day(engine, store, day) -> dict[str, Any]:
    try:
        from query.views import Partitions
    except ImportError:  # before partition pruning: read that day's globs directly
        Partitions = None  # noqa: N806
    if Partitions is not None:
        wanted = Partitions(kinds=("taskrun", "pipelinerun", "customrun"), first=day, last=day)
        return _timed(
            lambda: engine.query("SELECT count(*) AS n FROM runs", partitions=wanted)[0]["n"]
        )
    import duckdb

    glob = store.uri(f"records/kind=*/date={day.isoformat()}/*.parquet")
    return _timed(
        lambda: duckdb.sql(f"SELECT count(DISTINCT uid) FROM read_parquet('{glob}')").fetchone()[0]
    )


def _summary(store) -> dict[str, Any]:
    from query.http.app import create_app

    app = create_app({"RUNLAKE_STORE": store.url, "RUNLAKE_SQL_TIMEOUT_S": "600"})
    client = app.test_client()

    def ask() -> Any:
        answer = client.get(f"/v1/summary?group_by=pipeline&since={SINCE}")
        if answer.status_code != 200:
            return f"HTTP {answer.status_code}: {answer.get_data(as_text=True)[:200]}"
        return sum(group["total"] for group in answer.get_json()["groups"])

    return _timed(ask)


def compact_timed(store, **options: Any) -> dict[str, Any]:
    from layout.compaction import compact

    start = time.perf_counter()
    report = compact(store, now=NOW if "latest_only_after" in options else None, **options)
    return {"seconds": round(time.perf_counter() - start, 2), "summary": report.summary()}


def run_local(files: int, directory: str, workers: int) -> dict[str, Any]:
    from layout.store import open_store

    store = open_store(directory)
    result: dict[str, Any] = {"fill_s": round(fill(directory, None, files, workers), 1)}
    day = busiest_day(store)
    result["before"] = measure(store, day, with_api=True)
    result["compact"] = compact_timed(store)
    result["after_compact"] = measure(store, day, with_api=True)
    result["latest_only"] = compact_timed(store, latest_only_after=timedelta(days=7))
    result["after_latest_only"] = {
        "files": len(store.list("records")),
        "bytes": sum(i.size for i in store.list("records")),
    }
    return result


def run_s3(files: int, workers: int) -> dict[str, Any]:
    import boto3
    from moto.server import ThreadedMotoServer

    from layout.store import open_store

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
        url = "s3://bench/archive"
        # The moto server lives in this process: fill from threads of it, not other processes.
        start = time.perf_counter()
        total = _write_chunk((url, endpoint, 0, files // 2))
        result: dict[str, Any] = {
            "fill_s": round(time.perf_counter() - start, 1),
            "files_written": total,
        }
        store = open_store(url, endpoint)
        day = busiest_day(store)
        result["before"] = measure(store, day, with_api=False)
        result["compact"] = compact_timed(store)
        result["after_compact"] = measure(store, day, with_api=False)
        return result
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--s3-files", type=int, default=0)
    parser.add_argument("--dir", default=None, help="where to build the local store")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the local store")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke size (2,000 files, no S3) whose figures mean nothing",
    )
    args = parser.parse_args()
    if args.quick:
        args.files, args.s3_files = 2000, 0
    directory = args.dir or tempfile.mkdtemp(prefix="runlake-listing-")
    result: dict[str, Any] = {"machine": machine(), "files": args.files}
    try:
        result["local"] = run_local(args.files, directory, args.workers)
        if args.s3_files:
            result["s3"] = run_s3(args.s3_files, args.workers)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    out = ROOT / "bench/out/listing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
