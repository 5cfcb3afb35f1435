"""The storage benchmark's code paths at a tiny size (`bench.storage --quick` with fewer runs),
so bench/ does not rot between real runs (those take an hour and PostgreSQL, and are not part
of `make test`). Needs wrk and libfaketime, which `make test` installs."""

from __future__ import annotations

import json
import random
import shutil

import pyarrow.parquet as pq
import pytest

from bench import history, ingest_rate, postgres, report, rowgroups, storage
from runlake.demo import generate

RUNS = 1500
STALLED = 300


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    args = storage.parse_args(
        [
            "--quick",
            "--runs",
            str(RUNS),
            "--stalled",
            str(STALLED),
            "--no-postgres",
            "--data-dir",
            str(root / "data"),
            "--out-dir",
            str(root / "out"),
        ]
    )
    return storage.run(args), root


def test_storage_bench_answers_every_question_as_the_floor_does(quick):
    result, _ = quick
    warm, floor = result["runlake_warm"]["questions"], result["floor"]

    assert list(warm) == [q["name"] for q in result["questions"]] == list(floor)
    assert warm["run_by_uid"]["rows"] == floor["run_by_uid"]["rows"] == 1
    # runlake's SQL fetches one row past the page, which the API keeps for the next token
    assert warm["first_page_namespace"]["rows"] == 50 == floor["first_page_namespace"]["rows"] - 1
    assert warm["results_records_label"]["rows"] == 50
    for name in ("pipeline_7d_all_pages", "summary_pipeline_30d", "p95_per_task_sql"):
        assert warm[name]["rows"] == floor[name]["rows"] > 0, name
    assert result["runlake_warm"]["worker_peak_rss_bytes"] > 0
    fresh = result["runlake_fresh"]["questions"]
    assert all(timing["median_s"] > 0 for timing in fresh.values())


def test_storage_bench_history_arrives_as_tekton_sends_it(quick):
    result, _ = quick
    built = result["history"]

    assert built["floor_rows"] == built["records"] == RUNS
    assert 2.3 < built["snapshots_per_run"] < 3.0
    assert built["duplicate_events"] > 0
    assert built["materializer"]["rows_read"] == built["history_snapshots"]
    assert built["snapshots"] == built["history_snapshots"] + built["live_inbox_objects"]
    assert result["shape"]["inbox"]["objects"] == built["live_inbox_objects"] > 0
    assert result["shape"]["runs"]["rows"] <= RUNS


def test_storage_bench_stalled_inbox_answers_and_says_behind(quick):
    result, root = quick
    stalled, live = result["stalled"], result["history"]["live_inbox_objects"]

    assert stalled["objects_added"] == STALLED
    assert stalled["readyz"]["inbox"]["materializer"] == "behind"
    assert stalled["metrics"]["runlake_inbox_objects"] == STALLED + live
    assert stalled["questions"]["run_by_uid"]["rows"] == 1
    # the stalled objects are removed again: the cached history is as it was built
    assert len(list((root / "data/store/inbox").iterdir())) == live


def test_storage_bench_materializer_drains_after_the_ingest_load(quick):
    lag = quick[0]["lag"]

    assert lag["wrk"]["requests"] > 0 and lag["wrk"]["non_2xx"] == 0
    # wrk counts the answers it read; a request cut off at the end may still have been stored
    assert lag["materializer_rows"] >= lag["wrk"]["requests"]
    assert lag["inbox_empty_after_load_s"] is not None


def test_storage_bench_reuses_its_history_and_reports(quick):
    result, root = quick

    again = history.build(RUNS, root / "data", cycle_rows=storage.QUICK["cycle_rows"])
    assert again["reused"] and again["snapshots"] == result["history"]["snapshots"]
    written = json.loads((root / f"out/storage_{RUNS}.json").read_text())
    markdown = report.render(root / "out")
    assert written["runs"] == RUNS
    assert f"## Storage engine (layout 2), {RUNS:,} runs" in markdown
    assert "| one run by uid | 10 ms |" in markdown
    bound = written["row_read_floor"]
    assert bound["warm_median_s"] > 0 and bound["file_row_groups"] >= 1
    assert "reading the run's row from the one runs file that holds it" in markdown
    assert "### Stopped materializer: 300 more single-event objects" in markdown
    assert "## Storage per run" in markdown


def test_insights_bench_on_the_storage_history_sees_its_month(quick, tmp_path):
    from bench import insights

    _, root = quick
    history = tmp_path / "history"
    shutil.copytree(root / "data", history)  # `runlake serve` materializes its inbox
    result = insights.run_on_history(history, 1, tmp_path / "out")

    timings = result["timings"]
    assert result["runs"] == RUNS
    # The server's clock is at the history's end, so `since=30d` is the history's month
    # (at today's date it would hold none of it, or a few days).
    assert timings["queue per day"]["rows"] >= 25
    assert timings["runs first page"]["rows"] == 50
    assert timings["critical-path per task"]["rows"] > 0
    markdown = report.render(tmp_path / "out")
    assert f"## Insights through the API, {RUNS:,} runs" in markdown
    assert "--history bench/data/storage_" in markdown


def test_rowgroups_bench_answers_alike_at_every_row_group_size(quick, tmp_path):
    _, root = quick
    data = tmp_path / "data"
    shutil.copytree(root / "data", data)
    out = tmp_path / "out"
    rowgroups.main(
        [
            "--data-dir",
            str(data),
            "--sizes",
            "8,4096",
            "--repeats",
            "1",
            "--rounds",
            "1",
            "--out-dir",
            str(out),
        ]
    )

    result = json.loads((out / f"rowgroups_{RUNS}.json").read_text())
    small, large = result["by_size"]["8"], result["by_size"]["4096"]
    assert {name: r["rows"] for name, r in small.items()} == {
        name: r["rows"] for name, r in large.items()
    }
    assert small["run_by_uid"]["rows"] == 1
    assert small["first_page_namespace"]["rows"] == 51  # the page and one row past it
    assert small["p95_per_task_sql"]["rows"] > 0
    files = [pq.ParquetFile(f).metadata for f in (data / "rowgroups/8").glob("*/*/part.parquet")]
    groups = [m.row_group(i).num_rows for m in files for i in range(m.num_row_groups)]
    assert max(groups) == 8 and sum(groups) == sum(m.num_rows for m in files)
    markdown = report.render(out)
    assert f"## Row-group size of the `runs` table, {RUNS:,} runs" in markdown
    assert "| 8-row groups | 4096-row groups |" in markdown


def test_history_run_events_are_tekton_snapshots_of_one_run():
    final = next(
        obj
        for obj in generate(20, seed=history.SEED, now=history.NOW, days=history.DAYS)
        if obj["status"].get("completionTime") and obj["kind"] == "TaskRun"
    )
    rng = random.Random(1)
    events = []
    while not any(e.ce_type.endswith(".running.v1") for e in events):
        events = history.run_events(final, rng, history.NOW.timestamp(), iter(range(100)))
    rows = {e.ce_type.rsplit(".", 2)[-2]: history.event_row(e) for e in events}

    assert {rows[s]["uid"] for s in rows} == {final["metadata"]["uid"]}
    assert rows["started"]["status"] == rows["running"]["status"] == "Running"
    assert rows["successful"]["status"] == "Succeeded"
    assert [
        int(rows[s]["resource_version"]) for s in ("started", "running", "successful")
    ] == sorted(int(rows[s]["resource_version"]) for s in rows)
    assert len({e.ce_id for e in events}) == len(rows)  # a twin repeats its event's ce-id
    assert [e.latest for e in events if e.ce_type.endswith(".successful.v1")][0]


def test_postgres_questions_are_results_jsonb_sql():
    sql = postgres.queries("ci", "uid-1", "go-service-ci", history.NOW)
    names = [q.name for q in storage.questions("uid-1", history.NOW)]

    assert list(sql) == names
    assert "(data->'metadata'->>'uid') = %s" in sql["run_by_uid"][0]
    assert "LIMIT 1001" in sql["pipeline_7d"][0]
    assert sql["first_page_namespace"][1] == ("ci",)


def test_report_keeps_the_ingest_table_of_an_older_result(tmp_path):
    (tmp_path / "ingest_rate.json").write_text(
        json.dumps(
            {
                "connections": 64,
                "seconds": 10,
                "results": [
                    {
                        "name": "bare flask (ceiling)",
                        "events_per_s": 4405.1,
                        "requests": 44445,
                        "p50": "12.89ms",
                        "p99": "45.40ms",
                        "non_2xx": 0,
                    },
                    {
                        "name": "ingest, local store",
                        "events_per_s": 1506.6,
                        "requests": 15120,
                        "p50": "42.83ms",
                        "p99": "104.37ms",
                        "non_2xx": 0,
                        "files_per_1000_events": 65.3,
                        "ratio_to_bare": 0.342,
                        "worker_peak_rss_bytes": [80 << 20, 90 << 20],
                    },
                ],
            }
        )
    )

    markdown = report.render(tmp_path)

    assert "| ingest, local store | 1,507 | 0.34 | 65.3 | - | - | - | 0 | 80 MiB / 90 MiB |" in (
        markdown
    )


def _run(name: str, round_number: int, rate: float, ratio: float, **extra) -> dict:
    return {
        "round": round_number,
        "name": name,
        "command": f"gunicorn {name}",
        "wrk_command": "wrk -t2 -c64",
        "events_per_s": rate,
        "requests": int(rate * 10),
        "p50": "10ms",
        "p99": "50ms",
        "non_2xx": 0,
        "ratio_to_bare": ratio,
        "load_before": 3.0,
        "load_after": 3.5,
        "worker_user_ms_per_event": 0.4,
        "worker_system_ms_per_event": 0.1,
        "wrk_cpu_ms_per_event": 0.05,
        "worker_peak_rss_bytes": [30 << 20, 31 << 20],
        **extra,
    }


def test_report_ingest_rounds_commands_and_where_the_time_goes(tmp_path):
    runs = [
        _run(ingest_rate.CEILING, 1, 4000.0, 1.0),
        _run("ingest, local store (gevent)", 1, 2400.0, 0.6, files_per_1000_events=40.0),
        _run(ingest_rate.CEILING, 2, 3000.0, 1.0),
        _run(
            "ingest, local store (gevent)",
            2,
            1650.0,
            0.55,
            files_per_1000_events=50.0,
            worker_cpu_shares=[0.62, 0.38],
        ),
    ]
    profile = {
        "name": "ingest, local store (gevent)",
        "events_per_s": 2000.0,
        "load_before": 2.5,
        "worker_user_ms_per_event": 0.6,
        "worker_system_ms_per_event": 0.1,
        "user_ms_per_event": {"Flask and werkzeug": 0.2, "gunicorn": 0.4},
    }
    (tmp_path / "ingest_rate.json").write_text(
        json.dumps(
            {
                "command": "python -m bench.ingest_rate --rounds 2",
                "connections": 64,
                "seconds": 10,
                "rounds": 2,
                "body_bytes": 2035,
                "runs": runs,
                "summary": ingest_rate.summarize(runs),
                "profiles": [profile],
                "profile_rate_hz": 100,
            }
        )
    )

    markdown = report.render(tmp_path)

    assert (
        "| ingest, local store (gevent) | 2,025 | 0.57 | 45.0 | 0.500 (0.400 + 0.100)" in markdown
    )
    assert (
        "| 2 | 3.0 → 3.5 | ingest, local store (gevent) | 1,650 | 10ms | 50ms | 0.55 | 50.0 "
        "| 0.62 / 0.38 |" in markdown
    )
    assert "- ingest, local store (gevent): `gunicorn ingest, local store (gevent)`" in markdown
    assert "| Flask and werkzeug | 0.200 |" in markdown
    assert "| kernel (system time) | 0.100 |" in markdown


def test_ingest_rate_profile_parts_by_innermost_known_frame(tmp_path):
    raw = tmp_path / "profile.0"
    raw.write_text(
        "run (gunicorn/workers/ggevent.py:1);wsgi_app (flask/app.py:2);events (ingest/events.py:3);"
        "normalize (webhooks/normalize.py:4);dumps (json/encoder.py:5) 3\n"
        "run (gunicorn/workers/ggevent.py:1);wsgi_app (flask/app.py:2) 1\n"
        "_bootstrap (threading.py:1);_worker (concurrent/futures/thread.py:2) 4\n"
    )

    shares = ingest_rate.categorize([raw])

    assert shares == {
        "decode and normalize (webhooks/, CloudEvents SDK)": 0.375,
        ingest_rate.GUNICORN_CATEGORY: 0.5,
        "Flask and werkzeug": 0.125,
    }
