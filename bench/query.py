"""Query latency: runlake (DuckDB over Parquet) against Tekton Results' design (PostgreSQL,
jsonb rows), on the same demo history and the same five questions; plus the storage each
takes and the query process's peak memory.

    .venv/bin/python -m bench.query --runs 100000 [--no-postgres] [--data-dir DIR]

The history comes from the demo generator (one final snapshot per run, spread over 30 days
before a fixed `now`), written through `ingest.archive.import_objects` into a local store,
and, in the same pass, as COPY files of Results' `results` and `records` tables. Warm: one
process (one Engine, one connection) repeats each query; cold: a new process (runlake) or a
new connection, hence a new backend process (PostgreSQL), for each run. Writes
bench/out/query_<runs>.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import report
from layout.schema import KINDS, PIPELINE_RUN

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench/out"
# A fixed clock, so every size and every run of the benchmark asks about the same window.
NOW = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 30
SEED = 7
NAMESPACE = "ci"
PIPELINE = "go-service-ci"
SUMMARY_COLUMNS = (
    "uid, namespace, name, kind, api_version, status, reason, message, "
    "pipeline, pipeline_run, task, pipeline_task, created_at, started_at, "
    "completed_at, duration_seconds, labels, annotations, resource_version, "
    "event_type, event_id, source, received_at"
)
# Logs: every run's step logs would be hundreds of thousands of small objects; their size
# per run is measured on a sample instead (logs are plain gzip objects either way).
LOG_SAMPLES = 2000


@dataclass(frozen=True)
class Question:
    sql: str
    params: tuple
    # (kinds, first day, last day) the service would read, or None for every partition
    partitions: tuple | str | None = None
    widen: bool = False  # a first page: widen the window from one day until a page is full


def questions(uid: str, now: datetime = NOW) -> dict[str, Question]:
    """The five questions in runlake's SQL over its views, with the partitions the query
    service narrows each to (DESIGN: object layout, `date` is the creation day)."""
    week_ago, month_ago = now - timedelta(days=7), now - timedelta(days=30)
    every_kind = tuple(KINDS)
    return {
        # GET /v1/runs?namespace=ci: newest partitions first (query/runs.py widens from one
        # day back while they hold less than a page)
        "first_page_namespace": Question(
            f"SELECT {SUMMARY_COLUMNS} FROM runs WHERE namespace = ? "
            "ORDER BY created_at DESC, uid DESC LIMIT 51",
            (NAMESPACE,),
            (every_kind, (now - timedelta(days=1)).date(), now.date()),
            widen=True,
        ),
        # GET /v1/runs/<uid>: find the partition from the uid column, then read that one
        "run_by_uid": Question("SELECT * FROM runs WHERE uid = ?", (uid,), "locate"),
        "pipeline_last_7_days": Question(
            f"SELECT {SUMMARY_COLUMNS} FROM pipelineruns WHERE pipeline = ? AND created_at > ? "
            "ORDER BY created_at DESC, uid DESC",
            (PIPELINE, week_ago),
            ((PIPELINE_RUN,), week_ago.date(), now.date()),
        ),
        "failure_rate_per_pipeline_day": Question(
            "SELECT pipeline, date_trunc('day', created_at) AS day, count(*) AS total, "
            "count(*) FILTER (WHERE status = 'Failed') AS failed, "
            "count(*) FILTER (WHERE status = 'Failed') / count(*) AS failure_rate "
            "FROM pipelineruns WHERE created_at > ? GROUP BY ALL ORDER BY 1, 2",
            (month_ago,),
            ((PIPELINE_RUN,), month_ago.date(), now.date()),
        ),
        "p95_duration_per_task": Question(
            "SELECT task, quantile_cont(duration_seconds, 0.95) AS p95_seconds "
            "FROM taskruns GROUP BY task ORDER BY task",
            (),
        ),
    }


def ask(engine: Any, question: Question) -> list[dict]:
    """One question the way the query service asks it."""
    from query.views import Partitions

    if question.partitions == "locate":
        found = engine.locate(question.params[0])
        if found is None:
            return []
        kind, day = found[0], date.fromisoformat(found[1])
        return engine.query(question.sql, question.params, partitions=Partitions((kind,), day, day))
    if question.partitions is None:
        return engine.query(question.sql, question.params)
    kinds, first, last = question.partitions
    if question.widen:
        for days in (1, 7, 35):
            rows = engine.query(
                question.sql,
                question.params,
                partitions=Partitions(kinds, last - timedelta(days=days), last),
            )
            if len(rows) > 50:
                return rows
        return engine.query(question.sql, question.params)
    return engine.query(question.sql, question.params, partitions=Partitions(kinds, first, last))


# --- the data set ----------------------------------------------------------------------------


def _copy_text(value: str | None) -> str:
    """A value in PostgreSQL's COPY text format (json.dumps leaves no raw tab or newline)."""
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def build_dataset(runs: int, data_dir: Path, postgres_files: bool = True) -> dict:
    """Write the history into data_dir/store (runlake) and data_dir/*.tsv (Results' tables),
    once: a data_dir holding a manifest for the same size is reused."""
    manifest_path = data_dir / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["runs"] == runs and (manifest["postgres_files"] or not postgres_files):
            return manifest
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    from ingest.archive import BATCH_ROWS, import_objects
    from layout.store import open_store
    from runlake.demo import demo_step_log, generate

    store = open_store(str(data_dir / "store"))
    raw_json_bytes = 0
    log_runs = log_text = log_gz = 0
    every = max(runs // LOG_SAMPLES, 1)
    results: dict[tuple[str, str], str] = {}  # (namespace, top-level run uid) -> result id
    sample_uid = None
    started = time.perf_counter()
    write_s = 0.0
    records_tsv = (data_dir / "records.tsv").open("w") if postgres_files else None
    results_tsv = (data_dir / "results.tsv").open("w") if postgres_files else None
    batch: list[dict] = []

    def flush() -> None:
        nonlocal write_s
        began = time.perf_counter()
        import_objects(store, batch)
        write_s += time.perf_counter() - began
        batch.clear()

    for n, obj in enumerate(generate(runs, seed=SEED, now=NOW, days=DAYS)):
        text = json.dumps(obj, separators=(",", ":"))
        raw_json_bytes += len(text)
        meta = obj["metadata"]
        if n == runs // 2:
            sample_uid = meta["uid"]
        if n % every == 0:
            log_runs += 1
            for step in obj.get("status", {}).get("steps", []):
                if "terminated" in step:
                    log = demo_step_log(obj, step["name"]).encode()
                    log_text += len(log)
                    log_gz += len(gzip.compress(log, compresslevel=6))
        if records_tsv is not None and results_tsv is not None:
            # Results groups a PipelineRun's TaskRuns under one Result named by its uid.
            owner = meta.get("labels", {}).get("tekton.dev/pipelineRunUID") or meta["uid"]
            result_key = (meta["namespace"], owner)
            if result_key not in results:
                results[result_key] = str(uuid.UUID(int=len(results) + 1))
                results_tsv.write(
                    "\t".join(
                        (
                            meta["namespace"],
                            results[result_key],
                            owner,
                            meta["creationTimestamp"],
                            meta["creationTimestamp"],
                        )
                    )
                    + "\n"
                )
            record_id = str(uuid.UUID(int=(1 << 64) + n))
            records_tsv.write(
                "\t".join(
                    (
                        meta["namespace"],
                        results[result_key],
                        owner,
                        record_id,
                        meta["uid"],
                        f"{obj['apiVersion']}.{obj['kind']}",
                        _copy_text(text),
                        meta["creationTimestamp"],
                        meta["creationTimestamp"],
                        record_id[-12:],
                    )
                )
                + "\n"
            )
        batch.append(obj)
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()
    from runlake.lifecycle import compact, materialize_once

    began = time.perf_counter()
    materialize_once(store)
    compact(store)
    write_s += time.perf_counter() - began
    for handle in (records_tsv, results_tsv):
        if handle is not None:
            handle.close()
    manifest = {
        "runs": runs,
        "seed": SEED,
        "now": NOW.isoformat(),
        "days": DAYS,
        "postgres_files": postgres_files,
        "sample_uid": sample_uid,
        "raw_json_bytes": raw_json_bytes,
        "results": len(results),
        "log_sample_runs": log_runs,
        "log_sample_text_bytes": log_text,
        "log_sample_gzip_bytes": log_gz,
        "build_s": round(time.perf_counter() - started, 1),
        "runlake_write_s": round(write_s, 1),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


# --- timing runlake --------------------------------------------------------------------------


def _child(store_path: str, names: list[str], uid: str, repeats: int) -> None:
    """In a fresh process: time `names` `repeats` times each on one Engine (the first run of
    each, which opens the engine and binds the views, reported as `first_s`), and the
    process's peak RSS. Prints one JSON line."""
    from layout.store import open_store
    from query.engine import Engine

    engine = Engine(open_store(store_path))
    all_questions = questions(uid)
    out: dict[str, Any] = {}
    for name in names:
        started = time.perf_counter()
        rows = len(ask(engine, all_questions[name]))
        out[name] = {"rows": rows, "first_s": time.perf_counter() - started, "warm_s": []}
        for _ in range(repeats):
            started = time.perf_counter()
            ask(engine, all_questions[name])
            out[name]["warm_s"].append(time.perf_counter() - started)
    engine.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"timings": out, "peak_rss_bytes": peak_kib * 1024}))


def _run_child(store_path: Path, names: list[str], uid: str, repeats: int) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.query",
            "--child",
            str(store_path),
            "--uid",
            uid,
            "--repeats",
            str(repeats),
            *[f"--question={name}" for name in names],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def time_runlake(store_path: Path, uid: str, warm_repeats: int, cold_repeats: int) -> dict:
    """Warm: one child process runs every question `warm_repeats` times (its peak RSS is the
    query process's memory on this store). Cold: one new process per question and run."""
    names = list(questions(uid))
    warm = _run_child(store_path, names, uid, warm_repeats)
    timings: dict[str, dict] = {}
    for name in names:
        cold = [
            _run_child(store_path, [name], uid, 0)["timings"][name]["first_s"]
            for _ in range(cold_repeats)
        ]
        entry = warm["timings"][name]
        timings[name] = {
            "rows": entry["rows"],
            "warm_s": entry["warm_s"],
            "cold_s": cold,
            "warm_median_s": statistics.median(entry["warm_s"]),
            "cold_median_s": statistics.median(cold),
        }
    return {"timings": timings, "peak_rss_bytes": warm["peak_rss_bytes"]}


# --- storage ---------------------------------------------------------------------------------


def storage(manifest: dict, store_path: Path, pg_sizes: dict | None) -> dict:
    runs = manifest["runs"]
    parquet = [
        p.stat().st_size
        for p in (store_path / "tables").rglob("*.parquet")
        if "_delta_log" not in p.parts
    ]
    logs_per_run = manifest["log_sample_gzip_bytes"] / max(manifest["log_sample_runs"], 1)
    out = {
        "runs": runs,
        "runlake_records_bytes": sum(parquet),
        "runlake_records_files": len(parquet),
        "runlake_records_bytes_per_run": sum(parquet) / runs,
        "logs_gzip_bytes_per_run": logs_per_run,
        "logs_text_bytes_per_run": manifest["log_sample_text_bytes"]
        / max(manifest["log_sample_runs"], 1),
        "raw_json_bytes_per_run": manifest["raw_json_bytes"] / runs,
    }
    out["runlake_bytes_per_run"] = out["runlake_records_bytes_per_run"] + logs_per_run
    if pg_sizes:
        out["postgres"] = pg_sizes
        out["postgres_bytes_per_run"] = pg_sizes["total"] / runs
        out["postgres_with_results_bytes_per_run"] = (
            pg_sizes["total"] + pg_sizes["results_table_total"]
        ) / runs
    return out


# --- the whole benchmark ---------------------------------------------------------------------


def run(
    runs: int,
    data_dir: Path | None,
    with_postgres: bool,
    warm_repeats: int,
    cold_repeats: int,
    out_dir: Path = OUT,
) -> dict:
    began = time.perf_counter()
    temporary = data_dir is None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="runlake-bench-query-"))
    try:
        manifest = build_dataset(runs, data_dir, postgres_files=with_postgres)
        print(
            f"[query {runs}] data set ready ({manifest['build_s']} s)", file=sys.stderr, flush=True
        )
        store_path = data_dir / "store"
        uid = manifest["sample_uid"]
        runlake = time_runlake(store_path, uid, warm_repeats, cold_repeats)
        print(f"[query {runs}] runlake timed", file=sys.stderr, flush=True)
        result: dict[str, Any] = {
            "machine": report.machine(),
            "runs": runs,
            "dataset": manifest,
            "warm_repeats": warm_repeats,
            "cold_repeats": cold_repeats,
            "runlake": runlake,
        }
        pg_sizes = None
        if with_postgres:
            from bench import postgres

            with postgres.running() as server:
                load_s = postgres.load(server, data_dir / "results.tsv", data_dir / "records.tsv")
                pg_sizes = postgres.sizes(server)
                pg_timings = postgres.time_queries(
                    server,
                    postgres.queries(NAMESPACE, uid, PIPELINE, NOW),
                    warm_repeats,
                    cold_repeats,
                )
            print(f"[query {runs}] postgres timed", file=sys.stderr, flush=True)
            result["postgres"] = {"load_s": round(load_s, 1), "timings": pg_timings}
            for name, timing in runlake["timings"].items():
                pg = pg_timings[name]
                timing["postgres_over_runlake_warm"] = pg["warm_median_s"] / timing["warm_median_s"]
                timing["postgres_over_runlake_cold"] = pg["cold_median_s"] / timing["cold_median_s"]
        result["storage"] = storage(manifest, store_path, pg_sizes)
        result["elapsed_s"] = round(time.perf_counter() - began, 1)
    finally:
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"query_{runs}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep (and reuse) the generated data here instead of a temp dir",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--warm", type=int, default=5, help="warm repeats per question")
    parser.add_argument("--cold", type=int, default=3, help="cold runs per question")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--uid", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--question", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.question, args.uid, args.repeats)
        return
    result = run(args.runs, args.data_dir, not args.no_postgres, args.warm, args.cold, args.out_dir)
    for name, timing in result["runlake"]["timings"].items():
        print(
            f"{name:32} warm {timing['warm_median_s'] * 1000:8.1f} ms  "
            f"cold {timing['cold_median_s'] * 1000:8.1f} ms  rows {timing['rows']}  "
            f"pg/runlake warm {timing.get('postgres_over_runlake_warm', float('nan')):.2f} "
            f"cold {timing.get('postgres_over_runlake_cold', float('nan')):.2f}"
        )
    print(f"elapsed {result['elapsed_s']} s")


if __name__ == "__main__":
    main()
