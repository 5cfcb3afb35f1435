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
  waits for announced requests and a quiet gap, no longer. On threads the gap is one GIL
  switch interval (5 ms: under load a ready thread can wait that long for the GIL, and with
  2 ms files per event swung with the machine's load). On gevent, greenlets do not queue for
  the GIL behind each other, and the gap is 2 ms: in 3 rounds of 15 s each, 5 ms gave ratios
  0.56/0.50/0.57 at 33-34 files per 1,000 events, 2 ms 0.65/0.53/0.71 at 35-36 (1 ms was
  measured only before the benchmark waited for every worker, below: 0.51/0.52/0.45, and 185
  files per 1,000 in a round with uneven workers). RUNLAKE_FLUSH_MS (the bound on any wait)
  was left at 200 ms: under load the waits end long before it.
- Parallel flushes beside a running one once 16 rows wait: no clear gain in these rounds,
  so not kept.
- Worker class, measured for both apps: gthread's 32 threads spend a large share of their
  GIL-holding time waking the waiting request threads (threading.Condition.notify, GIL
  hand-offs: "group commit" in the profile), and 16 threads made files per 1,000 events
  approach 100. gevent does the same requests on greenlets (ingest's store writes on
  gevent's thread pool, ingest/context.py) at less CPU per event, and at 1.3-1.6 times
  gthread's rate, so gunicorn.conf.py runs ingest on gevent (the query app stays on gthread:
  a DuckDB query holds its thread). Earlier rounds had measured gevent no faster than
  gthread; that came from the benchmark, not from gevent: wrk started as soon as one worker
  answered /healthz, and wrk's 64 keep-alive connections stay with the worker that accepted
  them, so a worker still importing the app got few or none of them (workers' CPU 0.99 /
  0.01 in one round: one core idle, and small files in the worker with few connections).
  The benchmark now waits until no worker has used CPU for half a second before loading. A
  real sender's keep-alive connections can fall unevenly too (0.55 / 0.45 is common here);
  the per-round table shows each worker's share.

What is left per request is mostly what the bare app pays too (gunicorn and Flask, ~0.4 ms
between them here); ingest adds decode and normalize (~0.08 ms), its view (~0.04 ms), group
commit (waking the waiting request: ~0.03 ms on gevent, ~0.11 ms on gthread) and the
kernel's share of sockets and fsyncs (~0.05 ms of system time per event on gevent, where the
bare app's sync worker spends ~0.09 ms).

On S3 the moto server (Python, on the same two cores as wrk and both workers) is what
limits the rate: it spends ~0.5 ms of CPU per event, i.e. ~13 ms per PUT at ~27 events per
object, on top of the workers' ~1 ms (pyarrow's S3 client included) and wrk's. Against the
bare app's ~0.5 ms per event that bounds the ratio near 0.3-0.4 whatever ingest does; real S3
costs this machine nothing per PUT but latency, which group commit absorbs."""

STORAGE_NOTES = """\
How it is measured. The history: every demo run as the CloudEvents Tekton sends (started; running
for 60 % of finished runs, 5 % of those after the final one; final; 2 % of all events sent twice
with the same ce-id), each with its own ce-id and resourceVersion, in arrival order
(bench/history.py). Everything before the last hour went through `inbox/` in objects of 50-500
rows (group commit under load) and one materializer cycle per 100,000 waiting rows, then
`runlake compact` once; the last hour is left as one inbox object per event, each with its arrival
time as its mtime. runlake: `gunicorn -c gunicorn.conf.py -w 1 'query.http.app:create_app()'`
(gthread, 32 threads) under libfaketime, its clock starting at the history's end, asked over HTTP
with keep-alive from the benchmark process. Warm: the median of the repeats after a first answer,
one server. Fresh: a new server per round (the time until /healthz answers is listed apart), each
question's first answer in the order of the table, so the first question also pays for opening
the engine. Peak RSS: VmHWM of the worker after the warm runs. The floor: DuckDB in-process over
one Parquet file of the same runs (one row per run, its latest snapshot, sorted by namespace,
created_at), the SQL runlake runs for each question, fetched to Python; "first" is a new
connection (OS page cache warm). PostgreSQL: Tekton Results' schema and jsonb queries
(bench/postgres.py), warm on one connection, cold on a new connection per run; its summary
groups by the pipeline alone and computes the percentiles runlake gives, which Results' own
aggregator cannot. Ratios are runlake's time over the floor's, from the same run."""


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
        lines += [
            "",
            "Each round (load: the 1-minute load average before and after; workers' CPU: each "
            "worker's share, which shows how evenly the keep-alive connections fell):",
            "",
        ]
        lines += _table(
            [
                "round",
                "load",
                "server",
                "events/s",
                "p50",
                "p99",
                "ratio",
                "files/1,000",
                "workers' CPU",
            ],
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
                    " / ".join(f"{share:.2f}" for share in run.get("worker_cpu_shares", [])) or "-",
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


def _rows_cell(*counts: Any) -> str:
    return " / ".join("-" if c is None else str(c) for c in counts)


def _times(name: str, data: dict) -> tuple:
    warm = data["runlake_warm"]["questions"][name]
    fresh = data["runlake_fresh"]["questions"][name]
    floor = data["floor"][name]
    pg = data.get("postgres", {}).get("timings", {}).get(name, {})
    return warm, fresh, floor, pg


def row_read_lines(data: dict) -> list[str]:
    """The lookup's other bound: DuckDB alone reading the run's row from its file."""
    bound = data["row_read_floor"]
    answer = data["runlake_warm"]["questions"]["run_by_uid"]["warm_median_s"]
    return [
        "One run by uid, the other bound: DuckDB alone reading the run's row from the one "
        f"runs file that holds it ({bound['file_row_groups']} row groups of up to "
        f"{bound['row_group_rows']:,} rows; file statistics cached, as the engine's are; no "
        "inbox, steps, logs or HTTP) took "
        f"**{_ms(bound['warm_median_s'])}** (median of {len(bound['warm_s'])}), against "
        f"runlake's whole answer of {_ms(answer)}.",
        "",
    ]


def storage_section(data: dict) -> list[str]:
    runs, built, shape = data["runs"], data["history"], data["shape"]
    labels = {q["name"]: q for q in data.get("questions", [])}
    load = data.get("load_average", {})
    materializer = built["materializer"]
    lines = [
        f"## Storage engine (layout 2), {runs:,} runs",
        "",
        _machine_line(data.get("machine")),
        "Load average (1, 5, 15 min; other engineers share the 2 cores): "
        + "; ".join(f"{when} {' '.join(str(x) for x in values)}" for when, values in load.items())
        + ".",
        "",
        f"`.venv/bin/{data['command']}` (whole run {data.get('elapsed_s', '?')} s). History: "
        f"seed {built['seed']}, {built['days']} days up to {built['now']}; "
        f"{built['snapshots']:,} snapshots ({built['snapshots_per_run']} per run, "
        f"{built['duplicate_events']:,} duplicate events); {built['history_inbox_objects']:,} "
        f"batched inbox objects materialized in {materializer['cycles']} cycles; "
        f"{built['live_inbox_objects']:,} single-event objects of the last hour left in the inbox. "
        f"Tables after compaction: runs {shape['runs']['files']:,} files in "
        f"{shape['runs']['partitions']} partitions ({_mib(shape['runs']['bytes'])}, "
        f"{shape['runs']['rows']:,} rows), snapshots {shape['snapshots']['files']:,} files "
        f"({_mib(shape['snapshots']['bytes'])}, {shape['snapshots']['rows']:,} rows), uid index "
        f"{shape['index']['files']} file(s); floor {_mib(data['floor_bytes'])}.",
        "",
        "Build"
        + (" (reused from an earlier run; its times are that run's)" if built.get("reused") else "")
        + f": {built['build_s']:,} s in all"
        + (f" ({built['build_cpu_s']:,} s of CPU)" if "build_cpu_s" in built else "")
        + f". Materializer {materializer['seconds']:,} s for "
        f"{materializer['rows_read']:,} snapshots = **{materializer['snapshots_per_s']:,} "
        f"snapshots/s** (slowest cycle {materializer['slowest_cycle_s']} s; by step, s: "
        + ", ".join(f"{k} {v}" for k, v in materializer["step_seconds"].items())
        + f"); `runlake compact` {built['compact_s']} s ({built['compact_output']}); the "
        f"generator, events and rows for the rest of the {built['history_s']:,} s of the "
        f"history; floor sort {built['floor_s']} s.",
        "",
    ]
    rows = []
    for name, warm in data["runlake_warm"]["questions"].items():
        warm, fresh, floor, pg = _times(name, data)
        target = labels.get(name, {}).get("target_ms")
        rows.append(
            [
                labels.get(name, {}).get("label", name),
                f"{target:g} ms" if target else "-",
                _ms(warm["warm_median_s"]),
                _ms(warm.get("warm_received_median_s")),
                _ms(floor["warm_median_s"]),
                _ratio(warm["warm_median_s"] / floor["warm_median_s"]),
                _ms(fresh["median_s"]),
                _ms(floor["first_s"]),
                _ms(pg.get("warm_median_s")),
                _ms(pg.get("cold_median_s")),
                _rows_cell(warm["rows"], floor["rows"], pg.get("rows")),
            ]
        )
    lines += _table(
        [
            "question",
            "target (warm)",
            "runlake warm",
            "runlake warm, to the last byte",
            "floor warm",
            "runlake / floor",
            "runlake fresh process",
            "floor new connection",
            "PostgreSQL warm",
            "PostgreSQL cold",
            "rows runlake / floor / PG",
        ],
        rows,
    )
    fresh = data["runlake_fresh"]
    peak = data["runlake_warm"]["worker_peak_rss_bytes"]
    lines += [
        "",
        f"Warm: the median of {data['repeats']} answers after each question's first. "
        f"Fresh process: {len(fresh['server_up_s'])} rounds; gunicorn took "
        + ", ".join(f"{s:.1f}" for s in fresh["server_up_s"])
        + " s to answer /healthz (not counted above); target for each first answer: under "
        '1 s. "runlake warm" is until the client has parsed the answer (as before); "to the '
        "last byte\" leaves out the client's own JSON parsing. Query worker peak RSS after the "
        "warm runs: "
        f"**{_mib(peak)}** (target under 1 GiB). The floor fetches `LIMIT page_size + 1` rows, "
        "as runlake's SQL does, hence one row more on paged questions.",
        "",
    ]
    if "row_read_floor" in data:
        lines += row_read_lines(data)
    if "stalled" in data:
        lines += stalled_lines(data)
    if "lag" in data:
        lines += lag_lines(data["lag"])
    return lines


def stalled_lines(data: dict) -> list[str]:
    stalled = data["stalled"]
    labels = {q["name"]: q["label"] for q in data.get("questions", [])}
    inbox = stalled["readyz"].get("inbox", {})
    lines = [
        f"### Stopped materializer: {stalled['objects_added']:,} more single-event objects",
        "",
        f"The next {stalled['objects_added']:,} events after the history (other runs, the "
        f"same rate), each its own inbox object, on top of the last hour's; the server's clock "
        f"at the last one ({stalled['clock']}). /readyz said: `materializer: "
        f"{inbox.get('materializer')}`, {inbox.get('objects'):,} objects, "
        f"{_mib(inbox.get('bytes'))}, oldest {inbox.get('oldest_age_seconds'):,} s"
        + (f' ("{inbox["problem"]}")' if inbox.get("problem") else "")
        + ". Ingest's /metrics on the same store: "
        + ", ".join(f"`{k} {v:,.0f}`" for k, v in stalled["metrics"].items())
        + f". Worker peak RSS: **{_mib(stalled['worker_peak_rss_bytes'])}**.",
        "",
    ]
    rows = []
    for name, timing in stalled["questions"].items():
        base = data["runlake_warm"]["questions"].get(name, {})
        rows.append(
            [
                labels.get(name, name),
                _ms(timing["first_s"]),
                _ms(timing["warm_median_s"]),
                _ms(base.get("warm_median_s")),
                _ms(data["floor"][name]["warm_median_s"]),
                timing["rows"],
            ]
        )
    lines += _table(
        ["question", "first answer", "warm", "warm, last hour only", "floor warm", "rows"], rows
    )
    return lines + [""]


def lag_lines(lag: dict) -> list[str]:
    wrk = lag["wrk"]
    return [
        "### Materializer behind ingest",
        "",
        f"Ingest on `gunicorn -c gunicorn.conf.py` (2 {lag.get('worker_class', 'gthread')} "
        "workers) on a new local store, "
        f"loaded by `wrk -t2 -c{lag['connections']} -d{lag['load_s']}s` (bench/post_event.lua, a "
        f"2 KB TaskRun event each) while `runlake materialize` (5 s interval) runs beside it; "
        f"the inbox listed every second. Accepted **{wrk['events_per_s']:,.0f} events/s** "
        f"(p50 {wrk['p50']}, p99 {wrk['p99']}, {wrk['non_2xx']} non-2xx). Oldest inbox object "
        f"during the load: median {lag['lag_during_median_s']:.2f} s, max "
        f"**{lag['lag_during_max_s']} s** (at most {lag['inbox_objects_during_max']} objects "
        f"waiting); the inbox was empty **{lag['inbox_empty_after_load_s']} s** after the load "
        f"ended (limit {lag['drain_limit_s']:g} s). The materializer ran "
        f"{lag['materializer_cycles']} cycles, {lag['materializer_rows']:,} snapshots in "
        f"{lag['materializer_busy_s']} s of cycles = {lag['materializer_rows_per_busy_s']} "
        "snapshots/s.",
        "",
    ]


def storage_per_run_section(results: list[dict]) -> list[str]:
    lines = [
        "## Storage per run",
        "",
        "Bytes per run after compaction. runlake: the `runs` and `snapshots` tables' current "
        "files, plus their Delta logs and the uid index; step logs are gzip objects measured on "
        "a sample of runs (`runlake demo`'s logs). Floor: the one deduplicated Parquet file. "
        "Raw JSON: each run's latest object as compact JSON. PostgreSQL: "
        "`pg_total_relation_size('records')` (heap + TOAST + indexes, one record per run); "
        "Tekton Results keeps logs outside PostgreSQL too.",
        "",
    ]
    rows = []
    for data in results:
        s = data["storage"]
        rows.append(
            [
                f"{data['runs']:,}",
                f"{s['runs_table_bytes_per_run']:,.0f}",
                f"{s['snapshots_table_bytes_per_run']:,.0f}",
                f"{s['tables_bytes_per_run']:,.0f}",
                f"{s['logs_gzip_bytes_per_run']:,.0f}",
                f"{s['runlake_bytes_per_run']:,.0f}",
                f"{s['floor_bytes_per_run']:,.0f}",
                f"{s['raw_json_bytes_per_run']:,.0f}",
                f"{s['postgres_bytes_per_run']:,.0f}" if "postgres" in s else "-",
            ]
        )
    lines += _table(
        [
            "runs",
            "runs table",
            "snapshots table",
            "all tables (with Delta logs, uid index)",
            "step logs (gzip)",
            "runlake total",
            "floor",
            "raw JSON",
            "PG records",
        ],
        rows,
    )
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
Where the time goes: per batch, reading the records from PostgreSQL and normalizing each
object (its compact JSON and the content hash that is the snapshot's id), then one inbox
object per batch (JSON lines, fsynced; the materializer moves them into the tables later:
not counted). On layout 1 each batch wrote one Parquet file per (kind, day) it touched
(1,594 records/s without logs, 268 with). With logs, each step log is its own gzip object
written atomically (a temp file, fsync, rename), which dominates."""


def _insights_source(data: dict) -> str:
    history = data["history"]
    if history.get("built_by") == "bench.storage":
        return (
            f"`.venv/bin/python -m bench.insights --history bench/data/storage_{data['runs']} "
            f"--repeat {data['repeat']}`: the storage benchmark's history "
            f"({history['snapshots']:,} snapshots as Tekton sends them), the server's clock at "
            "its end"
        )
    return (
        f"`.venv/bin/python -m bench.insights --runs {data['runs']} --repeat {data['repeat']}`: "
        f"demo history (seed 7, 30 days) written in {history['write_s']} s "
        f"({history['demo']}; {history['logs']:,} failed-step logs, "
        f"{_mib(history['store_bytes'])})"
    )


def insights_section(data: dict) -> list[str]:
    """bench/insights.py: each insight through the API beside the runs list's first page."""
    lines = [
        f"## Insights through the API, {data['runs']:,} runs",
        "",
        _machine_line(data.get("machine")),
        "",
        _insights_source(data)
        + ", served by `runlake serve`, timed over HTTP on loopback. `first` is each "
        "request's first run (engine open, views bound); `warm` "
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
        if "error" not in t
        else [name, f"`{t['path']}`", f"**{t['status']}**: {t['error']}", "-", "-", "-"]
        for name, t in data["timings"].items()
    ]
    table = _table(["request", "path", "rows", "first", "warm", "warm best"], rows)
    return lines + table + ["", INSIGHTS_NOTES, ""]


INSIGHTS_NOTES = """\
Each insight is a view over `runs`/`taskruns`/`pipelineruns`/`steps` that parses the objects'
JSON (retries, steps, the task graph) of every run in its window on each request: a month of
1,000,000 runs is ~850,000 TaskRun objects, hence seconds. `critical_path` over that month
needs more than the engine's 768 MB (its recursive walk over ~1.5 million run, task and
ancestor rows): a 503 that says so, while 7 days answer. Computing per-run insight rows once,
when the materializer writes the run, would make these views plain reads."""


def rowgroups_section(data: dict[str, Any]) -> list[str]:
    """bench.rowgroups: each question's SQL over the runs table written at each row-group
    size, DuckDB alone."""
    sizes = [str(size) for size in data["sizes"]]
    lines = [
        f"## Row-group size of the `runs` table, {data['runs']:,} runs",
        "",
        _machine_line(data.get("machine")),
        "",
        f"`{data['command']}`: the runs table's current files, written again one per partition "
        "as compaction leaves them (sorted by uid, snappy) with row groups of each size, and "
        "each question's SQL (the floor's) asked of DuckDB over them in process: no inbox, no "
        "engine views, no HTTP. A run by uid reads its own partition only. Median of "
        f"{data['repeats']} repeats in each of {data['rounds']} rounds that alternate the "
        "sizes. runlake writes 1,024-row groups (layout/tables.py).",
        "",
    ]
    rows = []
    for q in data["questions"]:
        target = "-" if q["target_ms"] is None else f"{q['target_ms']:g} ms"
        cells = [f"{data['by_size'][s][q['name']]['median_ms']:,.1f} ms" for s in sizes]
        rows.append([q["label"], target, *cells])
    return lines + _table(["question", "target", *(f"{s}-row groups" for s in sizes)], rows) + [""]


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
    storage = sorted(
        (files.pop(name) for name in list(files) if name.startswith("storage_")),
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
    for data in storage:
        lines += storage_section(data)
    if storage:
        lines += [STORAGE_NOTES, ""]
        lines += storage_per_run_section(storage)
    for name in sorted(
        (n for n in files if n.startswith("rowgroups_")), key=lambda n: files[n]["runs"]
    ):
        lines += rowgroups_section(files.pop(name))
    if ingest:
        lines += ingest_section(ingest)
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
## What is slow in the storage code (found while measuring, 2026-12-01)

Measured on the 100,000-run history with the storage branch at 1d808b3, in-process through
the same query functions the endpoints call (each `Engine.query` timed; the query split into
its shadow views, DuckDB's execution with its JSON profiler, and `fetchall`), under libfaketime
like the server, and with `py-spy dump` on the build. This machine's load average was 10-19
throughout: read the figures as ratios. Changed since, and measured in the tables above:
list pages are built as JSON by DuckDB and sent as that text, unparsed (2); TaskRuns name
their PipelineRun's uid, a label equality reads its column, a records page is chosen without
the objects, and the ASOF join by label is left out where no stored run lacks its
ownerReferences (5); the inbox is
spooled in bounded steps, so the stopped materializer's first answer is 3.5 s at 1,000,000
runs, not a minute (7); compaction rewrites a quiet `runs` partition whose row groups are out
of uid order, sorted by uid and still snappy (9; the Results list at 1,000,000 runs went from
246-294 ms to 88-92 ms in process). The other items stand as found.

1. **Every request looks at the whole inbox before it knows nothing changed.** `_sync` lists
   the inbox (`LocalStore.list`: a pyarrow FileSelector, a stat per object) and loads three
   table states on every query outside `pinned()`: 8-80 ms with 385 objects (78 ms of a
   212 ms run-by-uid), 488 ms with 20,000 (measured on its own), which is most of what the
   stopped-materializer case adds to each warm answer (first page 0.43 -> 0.87 s). A listing
   kept for a second, or one that asks only for keys after the newest seen, would take it off
   the request.
2. **List pages pay for wide rows in Python.** Runs of one pipeline over 7 days (814 rows):
   DuckDB executes in 42-88 ms, then `fetchall` takes 116-138 ms building Python dicts of the
   `labels` and `annotations` maps and tz-aware datetimes, then `summary()` and Flask's JSON
   again. The first page of a namespace without the two maps: 17-50 ms against 58-180 ms with
   them. Arrow (or DuckDB's own JSON) straight to the response, or list pages without the maps,
   would cut most of it.
3. **Each partition-narrowed query rebinds its views.** `_shadow` creates the temp views of its
   partitions anew for every query (13-54 ms for the first page's two days, 4-24 ms for a
   pipeline's week): a cache keyed by the partition set and the picture would spare it.
4. **A run by uid reads two whole files.** `locate` reads `_run_index` (one 100,000-row file:
   89 ms), then the row is read from its partition with `object` (114 ms); its steps, now from
   the object, are 8.5 ms. A point lookup that reads one row group of each (the bloom filters
   are written; the uid index is one file sorted by uid) is what the 10 ms target needs.
5. **The Results records list is its SQL.** 2.4 s warm at 100,000 runs; the floor, running the
   same SQL over one deduplicated file, takes 4.5 s. `records_cte` scans `runs` twice (scoped,
   owners), ASOF-joins them, parses `ownerReferences` JSON for runs whose
   `tekton.dev/pipelineRun` matches no archived PipelineRun, and the label filter is a map
   lookup DuckDB cannot push into the scan. Translating `data.metadata.labels
   ["tekton.dev/pipeline"]` (and the other label columns) to the `pipeline` column, and storing
   each run's result uid at materialize time, would make it a filtered top-N.
6. **A fresh process's first answer is the first sync.** 1.5-3.2 s for the first question
   (the first page) at 100,000 runs: opening DuckDB, reading the 385 inbox objects with
   `read_json`, defining the sources and working out the inbox's runs; gunicorn itself took
   3-6 s to answer /healthz (imports on a loaded machine). Later first answers: 0.05-1.4 s.
7. **A stopped materializer's first answer takes a minute.** With 20,385 inbox objects the
   first query after the server started took 65 s (all of them read into `_inbox_rows` in one
   transaction); later answers 0.26-2.8 s; the worker peaked at 664 MiB (target 1 GiB). /readyz
   and ingest's /metrics said what was wrong. Loading the inbox in bounded steps (and answering
   from what is loaded) would keep the first answer short.
8. **The materializer spends half its time reading JSON.** Building 100,000 runs (3 cycles of
   ~100,000 snapshots, 2,535 snapshots/s): read 50 s (`read_json` of the objects, event_id
   dedup, placing), snapshots append 30 s, runs MERGE 22 s, delete 2 s, index 1 s of 104 s.
   `max_rows` (MAX_ROWS) is never used by `_take`, which limits only files: a backlog of 5,000
   objects of 500 rows is one 2.5-million-row cycle.
9. **Compaction leaves one-file partitions as the materializer wrote them.** `_ripe` takes
   partitions of two or more small files; a partition a cycle wrote in one file keeps its
   snappy, 1,024-row-group file and is never z-ordered. At 100,000 runs (cycles of ~11 days)
   only 4 partitions were compacted and the runs table is 682 bytes per run against the floor's
   ~300 (zstd).
10. **A duplicate event rewrites its run.** An event sent again (same ce-id) in a later cycle
    adds no snapshot (anti-joined on event_id), but `_commit_runs` still ranks it and its later
    `received_at` beats the stored row: a MERGE (a new `runs` version, the partition's file
    rewritten) for nothing, after which `runs.received_at` differs from the snapshot's
    (reproduced on a one-run store). Anti-joining the candidates against the stored events, as
    `_commit_snapshots` does, would skip it.
11. Small: the materializer's DuckDB connection keeps the progress bar, so `runlake
    materialize` prints progress bars into its log during long cycles; `list_inbox` sorts by
    key, whose first part is the writer (host-pid), so "oldest first" holds per writer only
    and a backlog larger than `max_files` takes one writer's objects first.

Found on the storage branch as it was when this benchmark began (11c473e) and fixed since by
12bca70: the `runs` view's materialized `WITH inbox AS (...)` CTE stopped DuckDB from pruning
the runs-table scan's columns, so every query read `object` (count(*) over runs 5.4 s against
0.56 s over the table alone); with 1d808b3 the summary by pipeline went from 1,608 to 83 ms and
p95 per task from 3,652 to 171 ms warm at 100,000 runs, both now faster than the floor (which
runs runlake's own SQL).

PostgreSQL's slowest (run by uid, p95 per task, the summary) are sequential scans that detoast
and parse every row's jsonb `data`: only expression indexes or generated columns would help,
and Tekton Results creates neither.

## Reproducing

`make bench` (100,000 and 1,000,000 runs; the 1,000,000-run history takes about an hour to
build on this shared machine, ~8 GB of disk under bench/data/, reused by later runs), `make
bench RUNS=100000` for one size, `make bench QUICK=1` for a smoke run into bench/out/quick/.
One size alone: `.venv/bin/python -m bench.storage --runs 1000000 [--data-dir DIR]`, then
`.venv/bin/python -m bench.report`. PostgreSQL (Debian's), wrk and libfaketime must be
installed (`make bench` installs them); the benchmark starts and removes its own servers.
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
