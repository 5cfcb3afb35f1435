"""bench/insights.py at a tiny size, so it does not rot between real runs."""

from __future__ import annotations

import json

from bench import insights, report


def test_insights_bench_times_every_request_and_reports(tmp_path):
    result = insights.run(300, 1, tmp_path)

    timings = result["timings"]
    assert {name for name, _ in insights.REQUESTS} <= set(timings)
    assert timings["runs first page"]["rows"] == 50
    assert all(t["warm_median_s"] > 0 for t in timings.values())
    assert timings["critical-path per task"]["rows"] > 0
    assert json.loads((tmp_path / "insights_300.json").read_text())["runs"] == 300

    markdown = report.render(tmp_path)
    assert "## Insights through the API, 300 runs" in markdown
    assert "| runs first page | `/v1/runs` | 50 |" in markdown
