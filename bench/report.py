"""Write bench/RESULTS.md from the raw JSON the benchmarks left in bench/out/.

    .venv/bin/python -m bench.report [--out-dir bench/out] [--results bench/RESULTS.md]

A table per benchmark, each with the machine (cores, memory, date) it ran on. JSON files this
module does not know are still listed, as a generic table, so a new benchmark shows up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench/out"
RESULTS = ROOT / "bench/RESULTS.md"

QUESTIONS = {
    "first_page_namespace": "first page of runs in one namespace (50 newest)",
    "run_by_uid": "one run by uid",
    "pipeline_last_7_days": "runs of one pipeline, last 7 days",
    "failure_rate_per_pipeline_day": "failure rate per pipeline per day, 30 days",
    "p95_duration_per_task": "p95 duration per task",
}

# Findings from profiling, which no JSON holds: kept here so regenerating keeps them.
INGEST_NOTES = """\
Where the time goes (one worker, `wrk -c32`, CPU time of the worker per request, read from
/proc): bare app 0.54-0.67 ms, of which gunicorn's gthread worker is ~0.5 ms (the same Flask
app called in-process takes 0.09 ms); ingest without the write 0.83-0.88 ms (decode and
normalize 0.06 ms, Flask and JSON the rest); ingest with the write 1.15 ms. Each Parquet
file costs ~3-5 ms of CPU whatever its size (24 columns; from_pylist, Parquet encoding, temp
file, fsync, rename), which is why the writer lets a file fill while rows keep arriving.
On S3 the moto server (Python, on the same cores) is the bottleneck: a PUT costs it more
than the whole ingest request."""

QUERY_NOTES = """\
How it is measured: runlake runs each question through `query.engine.Engine.query` over a
local store the way the query service asks it (a first page reads the newest partitions
first, widening from 1 to 7 to 35 days; a run by uid is located from the `uid` column, then
its one partition is read; date-bounded questions read only their partitions). Warm: one
process, one Engine, the median of the repeats after a first run. Cold: a new Python process
per run, timed from creating the Engine (DuckDB opened, views bound) to the last row; the
interpreter's start and imports (~0.2-0.4 s) are not counted. PostgreSQL: Tekton Results'
schema (`results`, `records` with jsonb `data`, only the primary-key and unique indexes),
queries as Results' lister, CEL-to-SQL and summary aggregator write them (jsonb paths such as
`data->'metadata'->>'namespace'`); warm is one connection repeating, cold a new connection
(a new backend process) per run. PostgreSQL's shared buffers (1 GB) and the OS page cache
stay warm between "cold" runs for both systems. The ratio is PostgreSQL's median over
runlake's: above 1, runlake is faster."""


def machine() -> dict[str, Any]:
    """Cores, memory, Python and date of this machine, recorded next to each measurement."""
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total_kib / 2**20, 1),
        "python": sys.version.split()[0],
        "date": date.today().isoformat(),
    }


def _machine_line(info: dict | None) -> str:
    if not info:
        return "Machine: not recorded."
    return (
        f"Machine: {info['cores']} cores, {info['memory_gib']:g} GiB, Python "
        f"{info['python']}, {info['date']}."
    )


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def _mib(size: float | None) -> str:
    return "-" if size is None else f"{size / 2**20:,.0f} MiB"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def ingest_section(data: dict) -> list[str]:
    lines = [
        "## Ingest rate",
        "",
        _machine_line(data.get("machine")),
        "",
        f"`.venv/bin/python -m bench.ingest_rate --seconds {data['seconds']} "
        f"--connections {data['connections']}`: `gunicorn -c gunicorn.conf.py -w 2` "
        f"(gthread), `wrk -t2 -c{data['connections']}`, each request a binary-mode TaskRun "
        "event of 2 KB with its own ce-id and uid (bench/post_event.lua). Peak RSS is "
        "each gunicorn worker's VmHWM after the load.",
        "",
    ]
    rows = []
    for result in data["results"]:
        workers = result.get("worker_peak_rss_bytes") or []
        rows.append(
            [
                result["name"],
                f"{result['events_per_s']:,.0f}",
                result["p50"],
                result["p99"],
                _ratio(result.get("ratio_to_bare", 1.0)),
                result.get("files_per_1000_events", "-"),
                result.get("non_2xx", 0),
                " / ".join(_mib(w) for w in workers) or "-",
            ]
        )
    lines += _table(
        [
            "server",
            "events/s",
            "p50",
            "p99",
            "ratio to bare",
            "files per 1,000 events",
            "non-2xx",
            "worker peak RSS",
        ],
        rows,
    )
    return lines + ["", INGEST_NOTES, ""]


def query_section(data: dict) -> list[str]:
    runs = data["runs"]
    dataset = data["dataset"]
    timings = data["runlake"]["timings"]
    postgres = data.get("postgres", {}).get("timings", {})
    lines = [
        f"## Query latency, {runs:,} runs",
        "",
        _machine_line(data.get("machine")),
        "",
        f"`.venv/bin/python -m bench.query --runs {runs} --warm {data['warm_repeats']} "
        f"--cold {data['cold_repeats']}`: demo history (`runlake.demo.generate`, seed "
        f"{dataset['seed']}, {dataset['days']} days up to {dataset['now'][:10]}), written "
        f"through `ingest.archive.import_objects` in {dataset['runlake_write_s']} s"
        + (
            f"; COPY into PostgreSQL and VACUUM ANALYZE took {data['postgres']['load_s']} s"
            if "postgres" in data
            else ""
        )
        + f". The whole benchmark took {data.get('elapsed_s', '?')} s.",
        "",
    ]
    rows = []
    for name, timing in timings.items():
        pg = postgres.get(name, {})
        rows.append(
            [
                QUESTIONS.get(name, name),
                timing["rows"],
                _ms(timing["warm_median_s"]),
                _ms(timing["cold_median_s"]),
                _ms(pg.get("warm_median_s")),
                _ms(pg.get("cold_median_s")),
                _ratio(timing.get("postgres_over_runlake_warm")),
                _ratio(timing.get("postgres_over_runlake_cold")),
            ]
        )
    lines += _table(
        [
            "question",
            "rows",
            "runlake warm",
            "runlake cold",
            "PostgreSQL warm",
            "PostgreSQL cold",
            "PG / runlake warm",
            "PG / runlake cold",
        ],
        rows,
    )
    mismatched = [
        name
        for name, timing in timings.items()
        if name in postgres and postgres[name]["rows"] != timing["rows"]
    ]
    if mismatched:
        lines += [
            "",
            "Row counts differ between the two systems for: " + ", ".join(mismatched) + ".",
        ]
    return lines + [""]


def storage_section(results: list[dict]) -> list[str]:
    lines = [
        "## Storage per run",
        "",
        "Bytes on disk per run. runlake: records Parquet (zstd, one file per partition "
        "and batch) plus step logs (gzip objects; measured on a sample of runs, "
        "`runlake demo`'s logs). Raw JSON: each object as compact JSON. PostgreSQL: "
        "`pg_total_relation_size('records')` (heap + TOAST + indexes); logs live outside "
        "PostgreSQL in Tekton Results too (S3/GCS/PVC), so add the same log bytes to "
        "compare whole archives.",
        "",
    ]
    rows = []
    for data in results:
        s = data["storage"]
        pg = s.get("postgres", {})
        rows.append(
            [
                f"{s['runs']:,}",
                f"{s['runlake_records_bytes_per_run']:,.0f}",
                f"{s['logs_gzip_bytes_per_run']:,.0f}",
                f"{s['runlake_bytes_per_run']:,.0f}",
                f"{s['raw_json_bytes_per_run']:,.0f}",
                f"{pg['heap'] / s['runs']:,.0f}" if pg else "-",
                f"{pg['toast'] / s['runs']:,.0f}" if pg else "-",
                f"{pg['indexes'] / s['runs']:,.0f}" if pg else "-",
                f"{s['postgres_bytes_per_run']:,.0f}" if pg else "-",
                _ratio(s["postgres_bytes_per_run"] / s["runlake_records_bytes_per_run"])
                if pg
                else "-",
            ]
        )
    lines += _table(
        [
            "runs",
            "runlake records",
            "logs (gzip)",
            "runlake total",
            "raw JSON",
            "PG heap",
            "PG TOAST",
            "PG indexes",
            "PG records total",
            "PG / runlake records",
        ],
        rows,
    )
    return lines + [""]


def memory_section(results: list[dict], ingest: dict | None) -> list[str]:
    lines = [
        "## Memory",
        "",
        "Peak RSS (`getrusage` ru_maxrss of the process) of the query process (one "
        "Engine running the whole question set, warm repeats included) on each store; "
        "ingest: VmHWM of each gunicorn worker after the ingest-rate load.",
        "",
    ]
    rows = [
        [f"query process, {data['runs']:,} runs", _mib(data["runlake"]["peak_rss_bytes"])]
        for data in results
    ]
    for result in (ingest or {}).get("results", []):
        if result.get("worker_peak_rss_bytes"):
            rows.append(
                [
                    f"gunicorn worker, {result['name']}",
                    " / ".join(_mib(w) for w in result["worker_peak_rss_bytes"]),
                ]
            )
    lines += _table(["process", "peak RSS"], rows)
    return lines + [""]


def _flatten(data: Any, prefix: str = "") -> list[list[Any]]:
    if isinstance(data, dict):
        return [
            row
            for key, value in data.items()
            for row in _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return [
            row
            for n, item in enumerate(data)
            for row in _flatten(item, f"{prefix}[{item.get('name', n)}]")
        ]
    return [[f"`{prefix}`", data]]


def results_import_section(results: list[dict]) -> list[str]:
    """`runlake import --from-results`: records per second out of a Results database."""
    lines = ["## Import from Tekton Results", "", _machine_line(results[0].get("machine")), ""]
    lines += [
        "`.venv/bin/python -m bench.results_import --records N [--logs]`: PostgreSQL (Debian's) "
        "with Results' schema, loaded with the demo history as Results' watcher writes it "
        "(bench/results_db.py: a record per run, and with `--logs` a Log record per finished "
        "run with its log file in Results' File layout), then `runlake.results_import."
        "import_results` into a local store, batches of 5,000. Loading PostgreSQL is not "
        "counted.",
        "",
    ]
    rows = [
        [
            f"{data['runs']:,}",
            f"{data['logs']:,}" if data["logs"] else "-",
            f"{data['records']:,}",
            f"{data['import_s']:.1f} s",
            f"{data['records_per_s']:,.0f}",
            f"{data['runs_per_s']:,.0f}",
        ]
        for data in sorted(results, key=lambda d: (d["logs"] > 0, d["records"]))
    ]
    header = ["run records", "logs", "records read", "import", "records/s", "runs/s"]
    return lines + _table(header, rows) + [IMPORT_NOTES, ""]


IMPORT_NOTES = """
Where the time goes: per batch, normalizing each object (~0.2 ms: its compact JSON and the
content hash that is the snapshot's id) and one Parquet file per (kind, day) the batch
touches, each fsynced; bigger batches share those files among more records (1,000: ~800
records/s, 5,000: ~1,200 at 20,000 records). With logs, each step log is its own gzip
object written atomically (a temp file, fsync, rename), which dominates."""


def insights_section(data: dict) -> list[str]:
    """bench/insights.py: each insight through the API beside the runs list's first page."""
    history = data["history"]
    lines = [
        f"## Insights through the API, {data['runs']:,} runs",
        "",
        _machine_line(data.get("machine")),
        "",
        f"`.venv/bin/python -m bench.insights --runs {data['runs']} --repeat {data['repeat']}`: "
        f"demo history (seed 7, 30 days) written in {history['write_s']} s "
        f"({history['demo']}; {history['logs']:,} failed-step logs, "
        f"{_mib(history['store_bytes'])}), served by `runlake serve`, timed over HTTP on "
        "loopback. `first` is each request's first run (engine open, views bound); `warm` "
        f"the median and best of {data['repeat']} more."
        + (
            f" Load average when timing ended: {', '.join(map(str, data['load_average']))}."
            if data.get("load_average")
            else ""
        ),
        "",
    ]
    rows = [
        [
            name,
            f"`{t['path']}`",
            t["rows"],
            _ms(t["first_s"]),
            _ms(t["warm_median_s"]),
            _ms(t["warm_best_s"]),
        ]
        for name, t in data["timings"].items()
    ]
    table = _table(["request", "path", "rows", "first", "warm", "warm best"], rows)
    return lines + table + ["", INSIGHTS_NOTES, ""]


INSIGHTS_NOTES = """\
Each insight is a view over `runs`/`taskruns`/`pipelineruns`/`steps`, so on the layout-1
store every request pays the `runs` view's ranking of all snapshots (carrying the `object`
column) once per view it reads, and then parses the objects' JSON; `EXPLAIN ANALYZE` at
50,000 runs puts most of `retries` in that ranking and the Parquet read of `object`. The
Delta `runs` table (one row per run, nothing ranked at read time) removes the first part."""


def generic_section(name: str, data: Any) -> list[str]:
    """A benchmark this module has no table for: each value under its path."""
    lines = [f"## {name}", ""]
    if isinstance(data, dict) and data.get("machine"):
        lines += [_machine_line(data["machine"]), ""]
        data = {key: value for key, value in data.items() if key != "machine"}
    return lines + _table(["measure", "value"], _flatten(data)) + [""]


def render(out_dir: Path, profile_notes: str = "") -> str:
    files = {path.name: json.loads(path.read_text()) for path in sorted(out_dir.glob("*.json"))}
    ingest = files.pop("ingest_rate.json", None)
    queries = sorted(
        (files.pop(name) for name in list(files) if name.startswith("query_")),
        key=lambda data: data["runs"],
    )
    lines = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (`python -m bench.report` rewrites this file from the "
        "raw JSON in bench/out/, which is not committed). Every process (load "
        "generator, servers, PostgreSQL, DuckDB) shares the machine's cores, and on a "
        "shared machine repeated runs vary by ±25 % or more: compare figures of one run "
        "with each other.",
        "",
    ]
    if ingest:
        lines += ingest_section(ingest)
    for data in queries:
        lines += query_section(data)
    if queries:
        lines += [QUERY_NOTES, ""]
        lines += storage_section(queries)
    if queries or ingest:
        lines += memory_section(queries, ingest)
    imports = [files.pop(name) for name in list(files) if name.startswith("results_import")]
    if imports:
        lines += results_import_section(imports)
    for name in sorted(
        (n for n in files if n.startswith("insights_")), key=lambda n: files[n]["runs"]
    ):
        lines += insights_section(files.pop(name))
    for name, data in files.items():
        lines += generic_section(name.removesuffix(".json"), data)
    if profile_notes:
        lines += [profile_notes.rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"


PROFILE_NOTES = """\
## Profiles: the slowest things found (100,000 runs)

Measured with py-spy (`py-spy record -f raw` around `bench.query.ask`) and DuckDB's
`EXPLAIN ANALYZE`, 2026-11-25.

1. **The `runs` view's de-duplication over the whole store** (p95 per task, and any question
   the service cannot narrow to a few partitions). The `snapshots` QUALIFY becomes a hash
   group-by on `event_id` carrying a struct of every column (0.15 s), the `runs` window then
   sorts all 100,000 rows by uid (0.26 s), and only after both is `kind = 'TaskRun'` applied.
   The same p95 straight over `_records` takes 21 ms; de-duplicated with `arg_max` on the
   few columns it needs, 67 ms. Carrying wide columns through these operators is also what
   makes the query process peak at ~600 MiB on a 32 MB store. Without partition pruning,
   "runs of one pipeline" takes 4.1 s (0.6 s selecting only `uid`). What would speed it up:
   de-duplicate on the narrow key columns (uid, event_id, status, resource_version,
   received_at) and fetch the wide columns only for the surviving rows (late
   materialization); let `taskruns`/`pipelineruns` read only their `kind=` directory and
   apply filters on columns that every snapshot of a uid shares (namespace, kind, pipeline,
   created_at) before the window; and let the views skip the window for files that
   compaction has already reduced to the latest snapshot of each uid (`--latest-only-after`).
2. **Turning rows into Python values.** On "runs of one pipeline, last 7 days" (845 rows,
   7 partitions) about half of the warm time is `fetchall()` building dicts for the MAP
   columns (labels, annotations) and tz-aware datetimes (pytz `localize`) for every
   TIMESTAMPTZ; over the whole store the query takes 4.1 s with the maps, 1.6 s without.
   What would speed it up: list pages that do not select the maps, or DuckDB rendering the
   answer (`to_json`, or Arrow serialized directly) instead of one Python object per value.

PostgreSQL's slowest (run by uid ~1 s, p95 per task ~2.6 s at 100,000 runs) are sequential
scans that detoast and parse every row's jsonb `data`: only expression indexes or generated
columns would help, and Tekton Results creates neither (its users' RDS-at-100 %-CPU issue).
A cold runlake process spends 0.2-0.4 s importing (not counted above) and 0.1-0.2 s opening
DuckDB and binding the views.

## Reproducing

`make bench` (both sizes, about half an hour for 1,000,000 runs on 2 cores, and ~6 GB of
temporary disk), `make bench RUNS=100000` for one size, `make bench QUICK=1` for a smoke run
into bench/out/quick/. One size alone: `.venv/bin/python -m bench.query --runs 1000000`, then
`.venv/bin/python -m bench.report`. PostgreSQL (Debian's) and wrk must be installed; the
benchmark starts and removes its own PostgreSQL.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="write bench/RESULTS.md from bench/out/")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.results.write_text(render(args.out_dir, PROFILE_NOTES))
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
