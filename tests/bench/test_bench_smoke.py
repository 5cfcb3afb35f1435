"""The query benchmark's code paths at a tiny size, so bench/ does not rot between real runs
(those need minutes and PostgreSQL, and are not part of `make test`)."""

from __future__ import annotations

import json

from bench import postgres, query, report

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


def test_report_keeps_the_ingest_table(tmp_path):
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

    assert (
        "| ingest, local store | 1,507 | 42.83ms | 104.37ms | 0.34 | 65.3 | 0 | 80 MiB / 90 MiB |"
    ) in markdown
    assert "| bare flask (ceiling) | 4,405 | 12.89ms | 45.40ms | 1.00 | - | 0 | - |" in markdown
