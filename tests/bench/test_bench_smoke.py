"""The query benchmark's code paths at a tiny size, so bench/ does not rot between real runs
(those need minutes and PostgreSQL, and are not part of `make test`)."""

from __future__ import annotations

import json

from bench import ingest_rate, postgres, query, report

RUNS = 300


def test_query_bench_answers_every_question_and_reports(tmp_path):
    out = tmp_path / "out"
    result = query.run(RUNS, None, with_postgres=False, warm_repeats=1, cold_repeats=1, out_dir=out)

    timings = result["runlake"]["timings"]
    assert set(timings) == set(query.questions("x"))
    assert timings["run_by_uid"]["rows"] == 1
    assert 0 < timings["first_page_namespace"]["rows"] <= 51
    assert timings["p95_duration_per_task"]["rows"] > 0
    assert result["runlake"]["peak_rss_bytes"] > 0
    assert result["storage"]["runlake_records_bytes_per_run"] > 0
    assert json.loads((out / f"query_{RUNS}.json").read_text())["runs"] == RUNS

    markdown = report.render(out)
    assert f"## Query latency, {RUNS} runs" in markdown
    assert "one run by uid" in markdown
    assert "## Storage per run" in markdown


def test_query_bench_dataset_feeds_postgres_copy(tmp_path):
    manifest = query.build_dataset(RUNS, tmp_path, postgres_files=True)

    records = (tmp_path / "records.tsv").read_text().splitlines()
    assert len(records) == RUNS
    assert all(len(line.split("\t")) == 10 for line in records)
    results = (tmp_path / "results.tsv").read_text().splitlines()
    assert len(results) == manifest["results"] < RUNS  # TaskRuns share their PipelineRun's
    assert query.build_dataset(RUNS, tmp_path) == manifest  # reused, not rebuilt


def test_postgres_questions_are_results_jsonb_sql():
    sql = postgres.queries("ci", "uid-1", "go-service-ci", query.NOW)

    assert set(sql) == set(query.questions("x"))
    assert "(data->'metadata'->>'uid') = %s" in sql["run_by_uid"][0]
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
        _run("ingest, local store (gevent)", 2, 1650.0, 0.55, files_per_1000_events=50.0),
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
        "| 2 | 3.0 → 3.5 | ingest, local store (gevent) | 1,650 | 10ms | 50ms | 0.55 | 50.0 |"
        in (markdown)
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
