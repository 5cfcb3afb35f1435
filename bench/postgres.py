"""Tekton Results' storage design on a PostgreSQL the benchmark starts itself.

Schema: Results' gorm models (tektoncd/results pkg/api/server/db/model.go): `results` and
`records` with a jsonb `data` column, and only the primary-key and unique indexes gorm
creates. Queries: what Results' lister, CEL-to-SQL (pkg/api/server/cel2sql) and summary
aggregator (pkg/api/server/v1alpha2/lister/aggregator.go) produce: jsonb paths such as
`data->'metadata'->>'namespace'`, casts to TIMESTAMP WITH TIME ZONE, `ORDER BY created_time`.

PostgreSQL comes from Debian (`apt-get install postgresql`); the server runs as a non-root
user on loopback, in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

RESULTS_SCHEMA = """
CREATE TABLE results (
    parent varchar(64) NOT NULL,
    id varchar(64) NOT NULL,
    name varchar(64),
    annotations jsonb,
    created_time timestamptz DEFAULT current_timestamp,
    updated_time timestamptz DEFAULT current_timestamp,
    recordsummary_record varchar(256),
    recordsummary_type varchar(768),
    recordsummary_start_time timestamptz,
    recordsummary_end_time timestamptz,
    recordsummary_status integer,
    recordsummary_annotations jsonb,
    etag varchar(128),
    PRIMARY KEY (parent, id)
);
CREATE UNIQUE INDEX results_by_name ON results (parent, name);
CREATE TABLE records (
    parent varchar(64) NOT NULL,
    result_id varchar(64) NOT NULL,
    result_name varchar(64),
    id varchar(64) NOT NULL,
    name varchar(64),
    type varchar(768),
    data jsonb,
    created_time timestamptz DEFAULT current_timestamp,
    updated_time timestamptz DEFAULT current_timestamp,
    etag varchar(128),
    PRIMARY KEY (parent, result_id, id),
    FOREIGN KEY (parent, result_id) REFERENCES results (parent, id)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE UNIQUE INDEX records_by_name ON records (parent, result_name, name);
"""

_CREATED = "(data->'metadata'->>'creationTimestamp')::TIMESTAMP WITH TIME ZONE"
_DURATION = (
    "(data->'status'->>'completionTime')::TIMESTAMP WITH TIME ZONE - "
    "(data->'status'->>'startTime')::TIMESTAMP WITH TIME ZONE"
)
_REASON = "(data->'status'->'conditions'->0->>'reason')"


def queries(
    namespace: str, uid: str, pipeline: str, now: datetime, page: int = 1000
) -> dict[str, tuple]:
    """Each benchmark question (bench.storage) as Results would run it: (sql, params)."""
    week_ago = (now - timedelta(days=7)).isoformat()
    month_ago = (now - timedelta(days=30)).isoformat()
    pipeline_week = (
        "SELECT * FROM records WHERE ((type = 'tekton.dev/v1.PipelineRun') AND "
        "((data->'metadata'->'labels'->>'tekton.dev/pipeline') = %s) AND "
        f"({_CREATED} > %s::TIMESTAMP WITH TIME ZONE)) "
        "ORDER BY created_time DESC, id DESC"
    )
    return {
        # GET parents/<ns>/results/-/records?page_size=50&order_by=create_time desc
        "first_page_namespace": (
            "SELECT * FROM records WHERE parent = %s ORDER BY created_time DESC, id DESC LIMIT 51",
            (namespace,),
        ),
        # GET parents/-/results/-/records?filter=data.metadata.uid == "<uid>"
        "run_by_uid": (
            "SELECT * FROM records WHERE ((data->'metadata'->>'uid') = %s) "
            "ORDER BY id ASC LIMIT 51",
            (uid,),
        ),
        # filter=data_type == PIPELINE_RUN && data.metadata.labels['tekton.dev/pipeline'] == p
        #        && data.metadata.creationTimestamp > timestamp(now - 7d), one page / all
        "pipeline_7d": (f"{pipeline_week} LIMIT {page + 1}", (pipeline, week_ago)),
        "pipeline_7d_all_pages": (pipeline_week, (pipeline, week_ago)),
        # records/summary?group_by=pipeline over 30 days, grouped by the pipeline alone as
        # runlake's /v1/summary is (Results' groups by namespace/pipeline), with the
        # percentiles runlake gives (Results' aggregator has none: percentile_cont)
        "summary_pipeline_30d": (
            "SELECT data->'metadata'->'labels'->>'tekton.dev/pipeline' AS group_value, "
            f"COUNT(*) AS total, COUNT(CASE WHEN {_REASON} = 'Succeeded' THEN 1 END) "
            f"AS succeeded, COUNT(CASE WHEN {_REASON} = 'Failed' THEN 1 END) AS failed, "
            f"AVG(EXTRACT(EPOCH FROM {_DURATION})) AS avg_duration, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM {_DURATION})) "
            "AS p50, "
            f"percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM {_DURATION})) "
            "AS p95 FROM records WHERE ((type = 'tekton.dev/v1.PipelineRun') AND "
            f"({_CREATED} > %s::TIMESTAMP WITH TIME ZONE)) GROUP BY 1 ORDER BY 2 DESC",
            (month_ago,),
        ),
        # Results has no percentile summary; the same jsonb expressions, in percentile_cont
        "p95_per_task_sql": (
            "SELECT data->'metadata'->'labels'->>'tekton.dev/task' AS task, "
            f"percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM {_DURATION})) "
            "AS p95_seconds FROM records WHERE (type = 'tekton.dev/v1.TaskRun') "
            "GROUP BY 1 ORDER BY 1",
            (),
        ),
        # GET parents/-/results/-/records?filter=data.metadata.labels["tekton.dev/pipeline"]
        #     == "<p>"&page_size=50 (cel2sql's jsonb path; Results pages in id order)
        "results_records_label": (
            "SELECT * FROM records WHERE "
            "((data->'metadata'->'labels'->>'tekton.dev/pipeline') = %s) "
            "ORDER BY id ASC LIMIT 51",
            (pipeline,),
        ),
    }


def _bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: apt-get install -y postgresql")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """A server started by `running()`: `dsn`, `connect()`."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True)


@contextmanager
def running(shared_buffers: str = "1GB") -> Iterator[Postgres]:
    """initdb into a temp dir, start on a free loopback port, stop and remove at the end.
    As root, the server runs as Debian's `postgres` user (PostgreSQL refuses root)."""
    root = Path(tempfile.mkdtemp(prefix="runlake-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    server = Postgres(root, port)
    subprocess.run(
        [
            *as_user,
            _bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
        f"-c shared_buffers={shared_buffers} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_wal_size=4GB"
    )
    subprocess.run(
        [
            *as_user,
            _bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-o",
            options,
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield server
    finally:
        subprocess.run(
            [*as_user, _bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def load(server: Postgres, results_tsv: Path, records_tsv: Path) -> float:
    """Create Results' schema, COPY both tables in, VACUUM ANALYZE. Returns seconds."""
    started = time.perf_counter()
    with server.connect() as con:
        con.execute(RESULTS_SCHEMA)
        for table, path in (("results", results_tsv), ("records", records_tsv)):
            columns = (
                "parent, id, name, created_time, updated_time"
                if table == "results"
                else "parent, result_id, result_name, id, name, type, data, "
                "created_time, updated_time, etag"
            )
            with (
                con.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                path.open("rb") as source,
            ):
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
        con.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def sizes(server: Postgres) -> dict[str, int]:
    """Bytes on disk of `records`: heap, TOAST, indexes, and all of them."""
    with server.connect() as con:
        row = con.execute(
            "SELECT pg_relation_size('records'), "
            "coalesce(pg_total_relation_size(reltoastrelid), 0), "
            "pg_indexes_size('records'), pg_total_relation_size('records'), "
            "pg_total_relation_size('results') "
            "FROM pg_class WHERE relname = 'records'"
        ).fetchone()
    return dict(zip(("heap", "toast", "indexes", "total", "results_table_total"), row, strict=True))


def time_queries(
    server: Postgres, questions: dict[str, tuple], warm_repeats: int, cold_repeats: int
) -> dict[str, dict]:
    """Warm: one connection, each query repeated (the first run discarded). Cold: a new
    connection, so a new backend process, for each run; timing includes connecting."""
    out: dict[str, dict] = {}
    with server.connect() as con:
        for name, (sql, params) in questions.items():
            rows = len(con.execute(sql, params).fetchall())
            warm = []
            for _ in range(warm_repeats):
                started = time.perf_counter()
                con.execute(sql, params).fetchall()
                warm.append(time.perf_counter() - started)
            out[name] = {"rows": rows, "warm_s": warm}
    for name, (sql, params) in questions.items():
        cold = []
        for _ in range(cold_repeats):
            started = time.perf_counter()
            with server.connect() as con:
                con.execute(sql, params).fetchall()
            cold.append(time.perf_counter() - started)
        out[name]["cold_s"] = cold
    for timing in out.values():
        timing["warm_median_s"] = statistics.median(timing["warm_s"])
        timing["cold_median_s"] = statistics.median(timing["cold_s"])
    return out
