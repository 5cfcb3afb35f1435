"""How fast `runlake import --from-results` moves a Tekton Results database into a store.

    .venv/bin/python -m bench.results_import [--records 100000] [--logs] [--batch 1000]

PostgreSQL (Debian's, started here on loopback, removed at the end) with Results' schema,
loaded with the demo history as Results' watcher writes it (bench/results_db.py): one record
per run, and with --logs a Log record per finished TaskRun and PipelineRun with its log file.
Then the import runs in this process into a local store, and its wall time gives records
per second. Loading PostgreSQL is not counted.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench import postgres, results_db
from bench.report import machine
from layout.store import LocalStore
from runlake.demo import demo_step_log, generate
from runlake.results_import import LogSource, import_results

ROOT = Path(__file__).resolve().parents[1]


def _step_logs(obj: dict) -> dict[str, str] | None:
    texts = {s["name"]: demo_step_log(obj, s["name"]) for s in obj["status"].get("steps") or []}
    return {name: text for name, text in texts.items() if text} or None


def run(records: int, with_logs: bool, batch: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="runlake-bench-import-"))
    try:
        with postgres.running(shared_buffers="256MB") as server:
            with server.connect() as con:
                started = time.perf_counter()
                written = results_db.load(
                    con,
                    generate(records, seed=7),
                    logs_dir=work / "results-logs" if with_logs else None,
                    step_logs=_step_logs if with_logs else None,
                )
                con.execute("VACUUM ANALYZE")
                load_s = time.perf_counter() - started
                total = con.execute("SELECT count(*) FROM records").fetchone()[0]
            store = LocalStore(str(work / "store"))
            logs = LogSource(str(work / "results-logs")) if with_logs else None
            dsn = f"postgres://postgres@127.0.0.1:{server.port}/postgres"
            started = time.perf_counter()
            progress = import_results(dsn, store, logs, batch=batch)
            seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert progress.read == total and not progress.failures, progress.failures[:5]
    return {
        "records": total,
        "runs": progress.runs,
        "logs": progress.logs,
        "log_objects_in_results": len(written.logs),
        "batch": batch,
        "load_s": load_s,
        "import_s": seconds,
        "records_per_s": total / seconds,
        "runs_per_s": progress.runs / seconds,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.results_import")
    parser.add_argument("--records", type=int, default=100_000, help="run records")
    parser.add_argument("--logs", action="store_true", help="with Log records and log files")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out/results_import.json")
    args = parser.parse_args(argv)
    result = run(args.records, args.logs, args.batch)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(
        f"{result['records']} records ({result['runs']} runs, {result['logs']} logs) in "
        f"{result['import_s']:.1f} s: {result['records_per_s']:,.0f} records/s "
        f"(PostgreSQL loaded in {result['load_s']:.1f} s)"
    )


if __name__ == "__main__":
    main()
