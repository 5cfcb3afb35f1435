"""The storage engine (layout 2) as users meet it (issue 13's benchmark): a month of history
built the way it arrives, asked six questions through runlake's HTTP API on gunicorn, warm
and from a fresh process, side by side in one run with the floor (DuckDB over a deduplicated
plain-Parquet copy of the same runs, the same SQL, in-process) and PostgreSQL with Tekton
Results' schema; then the same questions with a stopped materializer's 20,000 inbox objects
waiting; then the materializer's lag behind a 64-connection ingest load.

    .venv/bin/python -m bench.storage --runs 1000000 [--data-dir DIR] [--quick] [--no-postgres]

The history (bench.history) is cached under --data-dir and reused while its recipe, size and
clock match. The query gunicorn runs under libfaketime (Debian's `libfaketime`), its clock
starting at the history's `now`: the history ends when the user asks, as it would, so the
first page reads the newest partitions first as in production. Writes
bench/out/storage_<runs>.json (bench/out/quick/ with --quick).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import history, report
from bench.ingest_rate import (
    body_template,
    children,
    free_port,
    peak_rss,
    run_wrk,
    wait_until_up,
    worker_class,
    wrk_command,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench/out"
VENV_BIN = Path(sys.executable).parent

NAMESPACE = "ci"
PIPELINE = "go-service-ci"
P95_SQL = (
    "SELECT task, quantile_cont(duration_seconds, 0.95) AS p95_seconds "
    "FROM taskruns GROUP BY task ORDER BY task"
)
RESULTS_FILTER = f'data.metadata.labels["tekton.dev/pipeline"]=="{PIPELINE}"'
RECORDS_PATH = "/apis/results.tekton.dev/v1alpha2/parents/-/results/-/records"
PIPELINE_PAGE = 1000


@dataclass
class Question:
    name: str
    label: str
    target_ms: float | None
    method: str
    path: str
    params: dict = field(default_factory=dict)
    body: dict | None = None
    all_pages: bool = False  # follow next_page_token to the end
    floor_sql: str = ""
    floor_params: list = field(default_factory=list)


class _Capture:
    """Stands in for query.engine.Engine to learn the SQL a query function runs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list]] = []

    def query(self, sql: str, params: Any = None, partitions: Any = None) -> list:
        self.calls.append((sql, list(params or [])))
        return []

    @contextlib.contextmanager
    def pinned(self) -> Iterator[None]:
        yield

    def newest_day(self, kinds: Any) -> None:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_limit(sql: str) -> str:
    """A listing's SQL without its page limit (its last parameter): every page at once."""
    head, limit, tail = sql.rpartition(" LIMIT ?")
    if not limit or "?" in tail:
        raise ValueError(f"no page limit as the last parameter in {sql!r}")
    return head + tail


def questions(uid: str, now: datetime, owned_by_label: bool = True) -> list[Question]:
    """The six questions (plus the pipeline's week on every page) as a user asks them at
    `now`, each with the SQL runlake runs for it, for the floor to run as well.
    `owned_by_label`: whether a run lacks ownerReferences but has the pipelineRun label
    (runlake then runs the records CTE's join by label, and so does the floor)."""
    from query.cel import RECORDS, Params, translate
    from query.filters import parse_filters
    from query.http.results_sql import record_columns, records_cte
    from query.runs import SUMMARY_COLUMNS, list_runs
    from query.summary import summarize

    week, month = _iso(now - timedelta(days=7)), _iso(now - timedelta(days=30))

    def listing_sql(params: dict) -> tuple[str, list]:
        capture = _Capture()
        list_runs(capture, parse_filters(params, now=now), None)
        return capture.calls[0]

    first_page = {"namespace": NAMESPACE}
    pipeline = {
        "pipeline": PIPELINE,
        "kind": "PipelineRun",
        "since": week,
        "page_size": str(PIPELINE_PAGE),
    }
    summary = {"group_by": "pipeline", "since": month}
    capture = _Capture()
    summarize(capture, "pipeline", parse_filters({"since": month}, now=now, paged=False), None)
    summary_sql, summary_params = capture.calls[0]
    cel = Params()
    where = translate(RESULTS_FILTER, RECORDS, cel)
    records_sql = (
        records_cte("true", owned_by_label=owned_by_label)
        + f" SELECT {record_columns(False)} FROM records WHERE true AND {where}"
        " ORDER BY uid ASC LIMIT 51"
    )
    select = ", ".join(f'"{c}"' for c in SUMMARY_COLUMNS)
    page_sql, page_params = listing_sql(first_page)
    week_sql, week_params = listing_sql(pipeline)
    return [
        Question(
            "first_page_namespace",
            "first page of a namespace (50 newest)",
            15,
            "GET",
            "/v1/runs",
            first_page,
            floor_sql=page_sql,
            floor_params=page_params,
        ),
        Question(
            "run_by_uid",
            "one run by uid",
            10,
            "GET",
            f"/v1/runs/{uid}",
            floor_sql=f'SELECT {select}, "object" FROM runs WHERE uid = ?',
            floor_params=[uid],
        ),
        Question(
            "pipeline_7d",
            f"runs of one pipeline, last 7 days (first page of {PIPELINE_PAGE})",
            30,
            "GET",
            "/v1/runs",
            pipeline,
            floor_sql=week_sql,
            floor_params=week_params,
        ),
        Question(
            "pipeline_7d_all_pages",
            f"the same, every page of {PIPELINE_PAGE}",
            None,
            "GET",
            "/v1/runs",
            pipeline,
            all_pages=True,
            floor_sql=_without_limit(week_sql),
            floor_params=week_params[:-1],
        ),
        Question(
            "summary_pipeline_30d",
            "/v1/summary?group_by=pipeline, 30 days",
            50,
            "GET",
            "/v1/summary",
            summary,
            floor_sql=summary_sql,
            floor_params=summary_params,
        ),
        Question(
            "p95_per_task_sql",
            "p95 duration per task (POST /v1/sql)",
            50,
            "POST",
            "/v1/sql",
            body={"sql": P95_SQL, "limit": 1000},
            floor_sql=P95_SQL,
        ),
        Question(
            "results_records_label",
            "Results records list, label filter, 50",
            100,
            "GET",
            RECORDS_PATH,
            {"filter": RESULTS_FILTER, "page_size": "50"},
            floor_sql=records_sql,
            floor_params=cel.values,
        ),
    ]


# --- asking runlake over HTTP ------------------------------------------------------------------


def _rows(question: Question, answer: dict) -> int:
    for key in ("runs", "groups", "rows", "records"):
        if key in answer:
            return len(answer[key])
    return 1 if "uid" in answer else 0


def ask(session: requests.Session, base: str, question: Question) -> tuple[float, int, float]:
    """Seconds to the whole answer parsed (every page, for all_pages), the rows in it, and
    the seconds of those until each page's last byte had arrived (the client's JSON parsing
    left out: 9 ms of a 1,000-run page's answer, and no work of the server's)."""
    params = dict(question.params)
    rows = 0
    received = 0.0
    started = time.perf_counter()
    while True:
        asked = time.perf_counter()
        response = session.request(
            question.method, base + question.path, params=params, json=question.body, timeout=900
        )
        received += time.perf_counter() - asked  # requests has read the whole body
        if response.status_code != 200:
            raise RuntimeError(
                f"{question.name}: HTTP {response.status_code}: {response.text[:300]}"
            )
        answer = response.json()
        rows += _rows(question, answer)
        token = answer.get("next_page_token")
        if not question.all_pages or not token:
            break
        params["page_token"] = token
    return time.perf_counter() - started, rows, received


def faketime_library() -> str:
    """Debian's libfaketime (multi-threaded flavour: gunicorn's gthread worker)."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not found:
        raise RuntimeError("libfaketime not found: apt-get install -y libfaketime")
    return found[0]


def faketime_env(clock: datetime) -> dict[str, str]:
    """The environment that starts a process's clock at `clock` (libfaketime)."""
    return {
        "LD_PRELOAD": faketime_library(),
        "FAKETIME": "@" + clock.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "FAKETIME_DONT_RESET": "1",
        # file times as they are: the inbox's age is its objects' mtimes against the clock
        "NO_FAKE_STAT": "1",
    }


class Server:
    """`gunicorn -c gunicorn.conf.py` (one worker) on a loopback port, its clock at `clock`."""

    def __init__(
        self,
        app: str,
        store: Path,
        clock: datetime,
        workers: int = 1,
        extra_env: dict | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.command = [
            str(VENV_BIN / "gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{self.port}",
            app,
        ]
        self.env = {
            **os.environ,
            "RUNLAKE_STORE": str(store),
            "RUNLAKE_SQL_TIMEOUT_S": "900",
            **faketime_env(clock),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(self.base + "/healthz", timeout=180)
        self.up_s = time.perf_counter() - started
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def worker_peak_rss(self) -> int:
        assert self.process is not None
        return max(peak_rss(children(self.process.pid)) or [0])


def warm(store: Path, clock: datetime, qs: list[Question], repeats: int) -> dict:
    """One server: each question's first answer, then `repeats` more (their median is the
    warm time); the worker's peak RSS after all of them."""
    out: dict[str, Any] = {}
    with Server("query.http.app:create_app()", store, clock) as server:
        session = requests.Session()
        for q in qs:
            first, rows, _ = ask(session, server.base, q)
            answers = [ask(session, server.base, q) for _ in range(repeats)]
            times = [seconds for seconds, _, _ in answers]
            received = [seconds for _, _, seconds in answers]
            out[q.name] = {
                "rows": rows,
                "first_s": first,
                "warm_s": times,
                "warm_median_s": statistics.median(times),
                "warm_received_median_s": statistics.median(received),
            }
            _say(f"  {q.name}: warm {out[q.name]['warm_median_s'] * 1000:.1f} ms, rows {rows}")
        readyz = session.get(server.base + "/readyz", timeout=60).json()
        peak = server.worker_peak_rss()
    return {"questions": out, "worker_peak_rss_bytes": peak, "readyz": readyz}


def fresh(store: Path, clock: datetime, qs: list[Question], times: int) -> dict:
    """`times` new servers: each question's first answer, in order (the first question also
    pays for opening the engine), and the time until /healthz answered."""
    out: dict[str, list] = {q.name: [] for q in qs}
    up = []
    for _ in range(times):
        with Server("query.http.app:create_app()", store, clock) as server:
            up.append(server.up_s)
            session = requests.Session()
            for q in qs:
                out[q.name].append(ask(session, server.base, q)[0])
    return {
        "order": [q.name for q in qs],
        "server_up_s": up,
        "questions": {
            name: {"first_s": values, "median_s": statistics.median(values)}
            for name, values in out.items()
        },
    }


# --- the floor ---------------------------------------------------------------------------------


def floor_connection(relation: str) -> Any:
    """A new DuckDB connection whose views (`runs` and the ones the questions' SQL names)
    read `relation`, one row per run: the floor's file, or another copy of the runs."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW runs AS SELECT * FROM {relation}")
    con.execute("CREATE VIEW _runs AS SELECT * FROM runs")
    for view, kind in (("taskruns", "TaskRun"), ("pipelineruns", "PipelineRun")):
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM runs WHERE kind = '{kind}'")
    return con


def _floor_connection(path: Path) -> Any:
    from layout.literals import sql_string

    return floor_connection(f"read_parquet({sql_string(str(path))})")


def floor_owned_by_label(path: Path) -> bool:
    """Whether a run of the floor's copy meets OWNED_BY_LABEL_SQL, as runlake asks of its
    tables before a Results query (Engine.may_hold)."""
    from query.http.results_sql import OWNED_BY_LABEL_SQL

    con = _floor_connection(path)
    try:
        sql = f"SELECT bool_or(coalesce({OWNED_BY_LABEL_SQL}, false)) FROM runs"
        return bool(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def floor(path: Path, qs: list[Question], repeats: int) -> dict:
    """The same SQL over the plain-Parquet copy, in-process: warm median, and the first run on
    a new connection (OS page cache warm, DuckDB's caches empty)."""
    out: dict[str, Any] = {}
    for q in qs:
        con = _floor_connection(path)
        started = time.perf_counter()
        rows = len(con.execute(q.floor_sql, q.floor_params).fetchall())
        first = time.perf_counter() - started
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            con.execute(q.floor_sql, q.floor_params).fetchall()
            times.append(time.perf_counter() - started)
        con.close()
        out[q.name] = {
            "rows": rows,
            "first_s": first,
            "warm_s": times,
            "warm_median_s": statistics.median(times),
        }
    return out


def row_read_floor(store_dir: Path, uid: str, repeats: int) -> dict:
    """The least a run-by-uid lookup through the runs table's Parquet costs: DuckDB alone
    reading the run's row from the one file that holds it, file statistics cached (as the
    engine's are), no inbox, steps, logs or HTTP. The floor above reads one big file without
    an index; this is the other bound, beside runlake's answer in the report."""
    import duckdb

    from layout.literals import sql_string
    from layout.store import open_store
    from layout.tables import RUNS, Tables

    state = Tables(open_store(str(store_dir))).state(RUNS)
    con = duckdb.connect()
    try:
        con.execute("SET parquet_metadata_cache = true")
        listed = ", ".join(sql_string(f.uri) for f in state.files)
        holder = con.execute(
            f"SELECT filename FROM read_parquet([{listed}], filename = true) WHERE uid = ?",
            [uid],
        ).fetchone()[0]
        source = f"read_parquet({sql_string(holder)})"
        row_groups, rows = con.execute(
            f"SELECT count(DISTINCT row_group_id), max(row_group_num_rows) "
            f"FROM parquet_metadata({sql_string(holder)})"
        ).fetchone()
        sql = f"SELECT * FROM {source} WHERE uid = ?"
        con.execute(sql, [uid]).fetchall()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            con.execute(sql, [uid]).fetchall()
            times.append(time.perf_counter() - started)
    finally:
        con.close()
    return {
        "file_row_groups": row_groups,
        "row_group_rows": rows,
        "warm_s": times,
        "warm_median_s": statistics.median(times),
    }


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_figures(data_dir: Path, uid: str, now: datetime, repeats: int, cold: int) -> dict:
    from bench import postgres

    with postgres.running() as server:
        load_s = postgres.load(server, data_dir / "results.tsv", data_dir / "records.tsv")
        sizes = postgres.sizes(server)
        timings = postgres.time_queries(
            server, postgres.queries(NAMESPACE, uid, PIPELINE, now, PIPELINE_PAGE), repeats, cold
        )
    return {"load_s": round(load_s, 1), "sizes": sizes, "timings": timings}


# --- the stopped materializer ------------------------------------------------------------------


def stalled_events(runs: int, count: int) -> list[history.Event]:
    """The first `count` events after the history's `now`, at the history's own rate: what
    piles up in the inbox once the materializer stops."""
    per_day = max(runs * 2.5 / history.DAYS, 1)
    days = int(count / per_day * 1.6) + 2
    later = history.NOW + timedelta(days=days)
    after = history.NOW.timestamp()
    picked = []
    for event in history.arrivals(
        int(runs / history.DAYS * days) + 10, seed=history.SEED + 1, now=later, days=days
    ):
        if event.at > after:
            picked.append(event)
            if len(picked) == count:
                break
    return picked


def stalled(store_dir: Path, runs: int, count: int, qs_at: Callable, repeats: int) -> dict:
    """The questions with `count` more single-event objects waiting (a materializer stopped at
    the history's last hour); the objects are removed afterwards, so the cached history is
    left as it was."""
    from layout.inbox import write_inbox
    from layout.store import open_store

    store = open_store(str(store_dir))
    events = stalled_events(runs, count)
    keys = []
    started = time.perf_counter()
    try:
        for event in events:
            key = write_inbox(store, [history.event_row(event)])
            os.utime(store.path(key), (event.at, event.at))
            keys.append(key)
        write_s = time.perf_counter() - started
        clock = datetime.fromtimestamp(events[-1].at + 1, UTC)
        qs = qs_at(clock)
        result = warm(store_dir, clock, qs, repeats)
        with Server("ingest.app:create_app()", store_dir, clock) as ingest:
            metrics = requests.get(ingest.base + "/metrics", timeout=120).text
        result["metrics"] = {
            line.split()[0]: float(line.split()[1])
            for line in metrics.splitlines()
            if line.startswith("runlake_inbox_")
        }
        result["objects_added"] = len(keys)
        result["write_s"] = round(write_s, 1)
        result["clock"] = clock.isoformat()
        return result
    finally:
        for key in keys:
            store.delete(key)


# --- the materializer behind ingest ------------------------------------------------------------


def _inbox_now(inbox: Path) -> tuple[int, float]:
    """(objects, age of the oldest in seconds) of an inbox directory, listed now."""
    now, count, oldest = time.time(), 0, None
    with os.scandir(inbox) if inbox.exists() else _empty() as entries:
        for entry in entries:
            if entry.name.endswith(".ndjson"):
                try:
                    mtime = entry.stat().st_mtime
                except FileNotFoundError:
                    continue  # materialized and deleted since the listing: no longer waiting
                count += 1
                oldest = mtime if oldest is None else min(oldest, mtime)
    return count, 0.0 if oldest is None else max(0.0, now - oldest)


class _empty:
    def __enter__(self) -> list:
        return []

    def __exit__(self, *exc: object) -> None:
        return None


def lag(seconds: int, connections: int, drain_limit_s: float) -> dict:
    """Ingest on gunicorn (gunicorn.conf.py, its two workers) under wrk with `runlake
    materialize` beside it, on a new store: the inbox sampled every second during the load
    and after it, until it is empty."""
    work = Path(tempfile.mkdtemp(prefix="runlake-bench-lag-"))
    store = work / "store"
    store.mkdir()  # `runlake materialize` refuses a local store that does not exist yet
    body = body_template(work / "body.json")
    log = (work / "materialize.log").open("w")
    materializer = subprocess.Popen(
        [str(VENV_BIN / "runlake"), "materialize", "--store", str(store)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    samples: list[tuple[float, int, float]] = []
    stop = threading.Event()
    began = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            count, age = _inbox_now(store / "inbox")
            samples.append((round(time.monotonic() - began, 1), count, round(age, 1)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        port = free_port()
        server = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "-b",
                f"127.0.0.1:{port}",
                "ingest.app:create_app()",
            ],
            cwd=ROOT,
            env={**os.environ, "RUNLAKE_STORE": str(store)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            sampler.start()
            load_from = time.monotonic() - began
            result = run_wrk(wrk_command(f"http://127.0.0.1:{port}/", body, seconds, connections))
            load_to = time.monotonic() - began
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
        deadline = time.monotonic() + drain_limit_s
        while time.monotonic() < deadline:
            if samples and samples[-1][0] > load_to and samples[-1][1] == 0:
                break
            time.sleep(0.5)
        stop.set()
        sampler.join()
    finally:
        materializer.send_signal(signal.SIGTERM)
        try:
            materializer.wait(120)
        except subprocess.TimeoutExpired:
            materializer.kill()
        log.close()
        cycles = (work / "materialize.log").read_text()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    during = [s for s in samples if load_from <= s[0] <= load_to]
    after = [s for s in samples if s[0] > load_to]
    empty_at = next((s[0] for s in after if s[1] == 0), None)
    parsed = [
        (int(m.group(1)), int(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"(\d+) inbox objects, (\d+) rows -> .* in ([\d.]+) s", cycles)
    ]
    rows = sum(p[1] for p in parsed)
    busy = sum(p[2] for p in parsed)
    return {
        "wrk": result,
        "load_s": seconds,
        "connections": connections,
        "worker_class": worker_class("ingest.app:create_app()"),
        "lag_during_max_s": max((s[2] for s in during), default=None),
        "lag_during_median_s": statistics.median([s[2] for s in during]) if during else None,
        "inbox_objects_during_max": max((s[1] for s in during), default=None),
        "inbox_empty_after_load_s": round(empty_at - load_to, 1) if empty_at else None,
        "drain_limit_s": drain_limit_s,
        "materializer_cycles": len(parsed),
        "materializer_rows": rows,
        "materializer_busy_s": round(busy, 1),
        "materializer_rows_per_busy_s": round(rows / busy, 1) if busy else None,
        "largest_cycle": max(parsed, key=lambda p: p[1], default=None),
        "samples": samples,
    }


# --- sizes -------------------------------------------------------------------------------------


def _bytes_under(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def store_shape(store_dir: Path) -> dict:
    """Files and bytes of each part of the store (tables' data files as their current
    versions list them; bytes on disk include files VACUUM keeps for an hour)."""
    from layout.store import open_store
    from layout.tables import INDEX, RUNS, SNAPSHOTS, Tables

    tables = Tables(open_store(str(store_dir)))
    shape: dict[str, Any] = {}
    for name, path in (("runs", RUNS), ("snapshots", SNAPSHOTS), ("index", INDEX)):
        state = tables.state(path)
        files, on_disk = _bytes_under(store_dir / path)
        log_files, log_bytes = _bytes_under(store_dir / path / "_delta_log")
        shape[name] = {
            "version": state.version,
            "files": len(state.files),
            "bytes": sum(f.size for f in state.files),
            "rows": sum(f.rows for f in state.files),
            "partitions": len({(f.kind, f.date) for f in state.files}),
            "files_on_disk": files,
            "bytes_on_disk": on_disk,
            "log_files": log_files,
            "log_bytes": log_bytes,
        }
    objects, size = _bytes_under(store_dir / "inbox")
    shape["inbox"] = {"objects": objects, "bytes": size}
    return shape


# --- the whole benchmark -----------------------------------------------------------------------


def _say(text: str) -> None:
    print(f"[storage] {text}", file=sys.stderr, flush=True)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(args: argparse.Namespace) -> dict:
    began = time.perf_counter()
    out_dir = args.out_dir
    data_dir = args.data_dir or (ROOT / f"bench/data/storage_{args.runs}")
    result: dict[str, Any] = {
        "machine": report.machine(),
        "runs": args.runs,
        "command": "python -m bench.storage " + " ".join(shlex.quote(a) for a in args.argv),
        "load_average": {"start": _load()},
        "repeats": args.repeats,
        "fresh_processes": args.fresh,
        "server": "gunicorn -c gunicorn.conf.py -w 1 'query.http.app:create_app()' "
        "(gthread, 32 threads), clock at the history's now (libfaketime)",
    }
    _say(f"building (or reusing) {args.runs:,} runs in {data_dir}")
    manifest = history.build(args.runs, data_dir, cycle_rows=args.cycle_rows)
    result["history"] = manifest
    result["load_average"]["after_build"] = _load()
    store_dir = data_dir / "store"
    result["shape"] = store_shape(store_dir)
    uid = manifest["sample_uid"]
    by_label = floor_owned_by_label(data_dir / "floor.parquet")
    result["owned_by_label"] = by_label
    qs = questions(uid, history.NOW, by_label)
    result["questions"] = [
        {
            "name": q.name,
            "label": q.label,
            "target_ms": q.target_ms,
            "method": q.method,
            "path": q.path,
            "params": q.params,
            "body": q.body,
            "all_pages": q.all_pages,
        }
        for q in qs
    ]

    _say("floor")
    result["floor"] = floor(data_dir / "floor.parquet", qs, args.repeats)
    result["floor_bytes"] = (data_dir / "floor.parquet").stat().st_size
    result["row_read_floor"] = row_read_floor(store_dir, uid, max(args.repeats, 30))
    _say("runlake warm")
    result["runlake_warm"] = warm(store_dir, history.NOW, qs, args.repeats)
    result["load_average"]["after_warm"] = _load()
    _say("runlake fresh")
    result["runlake_fresh"] = fresh(store_dir, history.NOW, qs, args.fresh)
    if args.postgres:
        _say("PostgreSQL")
        result["postgres"] = postgres_figures(data_dir, uid, history.NOW, args.repeats, args.fresh)
    result["load_average"]["after_queries"] = _load()
    if args.stalled:
        _say(f"stopped materializer: {args.stalled:,} objects more")
        result["stalled"] = stalled(
            store_dir,
            args.runs,
            args.stalled,
            lambda clock: questions(uid, clock, by_label),
            args.repeats,
        )
        result["load_average"]["after_stalled"] = _load()
    if args.lag_seconds:
        _say("materializer behind ingest")
        result["lag"] = lag(args.lag_seconds, 64, args.drain_limit)
        result["load_average"]["after_lag"] = _load()
    result["storage"] = storage_per_run(result)
    result["elapsed_s"] = round(time.perf_counter() - began, 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"storage_{args.runs}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def storage_per_run(result: dict) -> dict:
    runs, shape, manifest = result["runs"], result["shape"], result["history"]
    tables = sum(shape[t]["bytes"] + shape[t]["log_bytes"] for t in ("runs", "snapshots", "index"))
    out = {
        "runs_table_bytes_per_run": shape["runs"]["bytes"] / runs,
        "snapshots_table_bytes_per_run": shape["snapshots"]["bytes"] / runs,
        "tables_bytes_per_run": tables / runs,
        "logs_gzip_bytes_per_run": manifest["log_sample_gzip_bytes"]
        / max(manifest["log_sample_runs"], 1),
        "raw_json_bytes_per_run": manifest["raw_json_bytes"] / runs,
        "floor_bytes_per_run": result["floor_bytes"] / runs,
    }
    out["runlake_bytes_per_run"] = out["tables_bytes_per_run"] + out["logs_gzip_bytes_per_run"]
    if "postgres" in result:
        sizes = result["postgres"]["sizes"]
        out["postgres"] = sizes
        out["postgres_bytes_per_run"] = sizes["total"] / runs
    return out


# Defaults of a real run and of --quick (a smoke size whose figures mean nothing); any flag
# given on the command line wins over both.
FULL = {
    "runs": 1_000_000,
    # Other sessions share the 2 cores: with 5 answers a median moved with two slow ones (a
    # first page of 17-19 ms measured 29.6 and 33.0 with 58 to 95 ms among them).
    "repeats": 15,
    "fresh": 3,
    "stalled": 20_000,
    "lag_seconds": 30,
    "drain_limit": 600.0,
    "cycle_rows": history.CYCLE_ROWS,
}
QUICK = {
    "runs": 5000,
    "repeats": 2,
    "fresh": 1,
    "stalled": 1000,
    "lag_seconds": 3,
    "drain_limit": 120.0,
    "cycle_rows": 2000,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.storage", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, help=f"runs in the history ({FULL['runs']:,})")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the history is built and kept (default bench/data/storage_<runs>)",
    )
    parser.add_argument("--repeats", type=int, help="warm repeats per question (15)")
    parser.add_argument("--fresh", type=int, help="fresh server processes (3)")
    parser.add_argument(
        "--stalled", type=int, help="inbox objects of a stopped materializer (20,000; 0: skip)"
    )
    parser.add_argument(
        "--lag-seconds",
        type=int,
        help="seconds of ingest load beside the materializer (30; 0: skip)",
    )
    parser.add_argument(
        "--drain-limit", type=float, help="seconds to wait for the inbox to empty after it (600)"
    )
    parser.add_argument(
        "--cycle-rows", type=int, help="rows per materializer cycle while building (100,000)"
    )
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke size (5,000 runs, 2 repeats, 1 fresh process, 1,000 stalled objects, 3 s "
        "of load) whose figures mean nothing; writes under bench/out/quick/",
    )
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.out_dir = args.out_dir or (OUT / "quick" if args.quick else OUT)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    for name, timing in result["runlake_warm"]["questions"].items():
        floor_ms = result["floor"][name]["warm_median_s"] * 1000
        print(
            f"{name:24} warm {timing['warm_median_s'] * 1000:9.1f} ms   floor "
            f"{floor_ms:8.1f} ms   fresh "
            f"{result['runlake_fresh']['questions'][name]['median_s'] * 1000:9.1f} ms   "
            f"rows {timing['rows']}"
        )
    print(
        f"peak RSS {result['runlake_warm']['worker_peak_rss_bytes'] / 2**20:.0f} MiB; "
        f"elapsed {result['elapsed_s']} s"
    )


if __name__ == "__main__":
    main()
