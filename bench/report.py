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
What was tried, each measured this way (several interleaved rounds, CPU ms per event from
/proc, py-spy --gil profiles of the workers), and kept where it measured faster:

- The inbox as JSON lines (layout/inbox.py) instead of 24-column Parquet files: an object
  costs ~0.6 ms of CPU (encode, temp file, two fsyncs, rename) instead of 3-5 ms.
- orjson for the body and for the stored `object` text (json: ~26 us and ~76 us per 2 KB
  event; orjson: ~8 and ~3). Whatever orjson refuses is read again by json, whose answer
  stands (its problem messages, and what it admits that orjson does not: a byte order mark,
  a lone surrogate that normalize then names); a body with 19 or more digits in a row goes
  to json (orjson reads integers past 64 bits as floats); an object text with a null is
  checked for NaN and Infinity, which orjson would write as null.
- A leaner `POST /`: headers read from the WSGI environ, the body in one read of its
  Content-Length, metric label children bound once, the query string parsed only when
  there is one, the 202 written by orjson; errors still leave through ApiError. In process
  (min of many runs) the request went from ~210 to ~195 us, the bare app's being ~85 us:
  decode and normalize ~45-65 us, the body ~20 us, group commit without I/O ~15 us.
- Group commit: the flush waited for a quiet gap as long as the previous flush took, so a
  worker whose every request was already queued idled for a whole fsync's length. Requests
  now announce themselves (`GroupCommitWriter.arriving`) once their body is read; a flush
  waits for announced requests and a fixed 2 ms gap, no longer. RUNLAKE_FLUSH_MS (the
  bound on any wait) was left at 200 ms: under load the waits end long before it.
- Parallel flushes beside a running one once 16 rows wait: no clear gain in these rounds,
  so not kept.
- Worker class, measured for both apps: gthread's 32 threads spend a large share of their
  GIL-holding time waking the waiting request threads (threading.Condition.notify, GIL
  hand-offs: "group commit" in the profile), and 16 threads made files per 1,000 events
  approach 100. gevent does the same requests on greenlets (ingest's store writes on
  gevent's thread pool, ingest/context.py) at less CPU per event, but not at a higher rate
  in these rounds (its workers idle more between flushes), so gunicorn.conf.py keeps gthread
  (RUNLAKE_WORKER_CLASS=gevent chooses the other). The bare app is fastest on gevent.

What is left per request is mostly what the bare app pays too (gunicorn and Flask, ~0.4 ms
between them here); ingest adds decode and normalize (~0.08 ms), group commit (waking the
waiting thread: ~0.17 ms on gthread, ~0.02 ms on gevent), its view (~0.04 ms) and the
kernel's share of sockets and fsyncs.

On S3 the moto server (Python, on the same two cores as wrk and both workers) is what
limits the rate: it spends ~0.5 ms of CPU per event, i.e. ~9 ms per PUT at ~19 events per
object, on top of the workers' ~0.9 ms (pyarrow's S3 client included) and wrk's. Against the
bare app's ~0.45 ms per event that bounds the ratio near 0.3 whatever ingest does; real S3
costs this machine nothing per PUT but latency, which group commit absorbs."""

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
    if "summary" not in data:  # a result written before the rounds existed
        data = {**data, "summary": data["results"], "runs": [], "profiles": []}
    connections = data["connections"]
    lines = [
        "## Ingest rate",
        "",
        _machine_line(data.get("machine")),
        "",
        f"`{data.get('command', 'python -m bench.ingest_rate')}`: each server in turn, "
        f"{data.get('rounds', 1)} round(s) of {data['seconds']} s each, loaded by `wrk -t2 "
        f"-c{connections} --latency -s bench/post_event.lua` (one binary-mode TaskRun event "
        f"of {data.get('body_bytes') or 2000:,} bytes per request, each with its own ce-id "
        "and uid). The ratio is to the bare app on gunicorn's defaults in the same round; "
        "files are inbox objects; CPU per event is the workers' user + system time over the "
        "events (from /proc); peak RSS is each worker's VmHWM.",
        "",
        "Median over the rounds:",
        "",
    ]
    rows = []
    for result in data["summary"]:
        workers = result.get("worker_peak_rss_bytes") or []
        cpu = _cpu(result)
        rows.append(
            [
                result["name"],
                f"{result['events_per_s']:,.0f}",
                _ratio(result.get("ratio_to_bare", 1.0)),
                result.get("files_per_1000_events", "-"),
                cpu,
                _float(result.get("wrk_cpu_ms_per_event")),
                _float(result.get("moto_cpu_ms_per_event")),
                result.get("non_2xx", 0),
                " / ".join(_mib(w) for w in workers) or "-",
            ]
        )
    lines += _table(
        [
            "server",
            "events/s",
            "ratio to bare",
            "files per 1,000 events",
            "worker CPU ms/event (user + sys)",
            "wrk CPU ms/event",
            "moto CPU ms/event",
            "non-2xx",
            "worker peak RSS",
        ],
        rows,
    )
    if data["runs"]:
        lines += ["", "Each round (load: the 1-minute load average before and after):", ""]
        lines += _table(
            ["round", "load", "server", "events/s", "p50", "p99", "ratio", "files/1,000"],
            [
                [
                    run["round"],
                    f"{run['load_before']:.1f} → {run['load_after']:.1f}",
                    run["name"],
                    f"{run['events_per_s']:,.0f}",
                    run["p50"],
                    run["p99"],
                    _ratio(run.get("ratio_to_bare")),
                    run.get("files_per_1000_events", "-"),
                ]
                for run in data["runs"]
            ],
        )
        lines += ["", "Command lines (`-b` takes a free port each time):", ""]
        lines += [f"- {row['name']}: `{row['command']}`" for row in data["summary"]]
        lines += [f"- load: `{data['runs'][0]['wrk_command']}`"]
    lines += _profile_table(data.get("profiles") or [], data.get("profile_rate_hz", 100))
    return lines + ["", INGEST_NOTES, ""]


def _cpu(result: dict) -> str:
    user, system = result.get("worker_user_ms_per_event"), result.get("worker_system_ms_per_event")
    if user is None or system is None:
        return "-"
    return f"{user + system:.3f} ({user:.3f} + {system:.3f})"


def _float(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _profile_table(profiles: list[dict], rate_hz: int) -> list[str]:
    """Where a worker's time goes per event: its user CPU split by py-spy's GIL-holding
    samples, and its system CPU (the kernel: sockets, fsync, rename) beside."""
    if not profiles:
        return []
    categories = list(dict.fromkeys(name for p in profiles for name in p["user_ms_per_event"]))
    rows = [
        [name, *(_float(p["user_ms_per_event"].get(name, 0.0)) for p in profiles)]
        for name in categories
    ]
    rows.append(
        ["kernel (system time)", *(_float(p["worker_system_ms_per_event"]) for p in profiles)]
    )
    rows.append(
        [
            "**total CPU ms per event**",
            *(
                _float(p["worker_user_ms_per_event"] + p["worker_system_ms_per_event"])
                for p in profiles
            ),
        ]
    )
    loads = ", ".join(f"{p['name']} {p['load_before']:.1f}" for p in profiles)
    return [
        "",
        "Where the time goes per request, CPU ms per event of the workers in one more run of "
        f"each, profiled with `py-spy record --gil -r {rate_hz}` on every worker "
        "(user time split by the share of GIL-holding samples whose innermost known frame is "
        f"in each part; py-spy slows the workers a little). Load before each: {loads}.",
        "",
        *_table(["part", *(p["name"] for p in profiles)], rows),
    ]


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
    ingest = ingest or {}
    for result in ingest.get("summary") or ingest.get("results", []):
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
