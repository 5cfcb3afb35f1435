"""The watcher's metrics as a scraper reads them, and as the watcher's own code sums them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from webhooks.watcher.metrics import COUNTERS, GAUGES, WatchMetrics


def _samples(metrics: WatchMetrics) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }


def test_metrics_declare_every_name_and_count_per_watcher():
    counted, other = WatchMetrics(), WatchMetrics()
    counted.add("runlake_watch_runs_archived_total", kind="TaskRun")
    counted.add("runlake_watch_snapshots_sent_total", 4)
    families = {f.name for f in text_string_to_metric_families(other.render().decode())}
    assert {f"{name.removesuffix('_total')}" for name in COUNTERS} | set(GAUGES) == families
    samples = _samples(counted)
    assert samples[("runlake_watch_runs_archived_total", (("kind", "TaskRun"),))] == 1
    assert samples[("runlake_watch_snapshots_sent_total", ())] == 4
    assert _samples(other)[("runlake_watch_snapshots_sent_total", ())] == 0
    assert not any(name.endswith("_created") for name, _ in samples)


def test_metrics_value_sums_the_series_that_carry_the_labels():
    metrics = WatchMetrics()
    metrics.add("runlake_watch_events_total", 3, kind="TaskRun", type="ADDED")
    metrics.add("runlake_watch_events_total", 2, kind="TaskRun", type="MODIFIED")
    metrics.add("runlake_watch_events_total", 5, kind="PipelineRun", type="ADDED")
    assert metrics.value("runlake_watch_events_total") == 10
    assert metrics.value("runlake_watch_events_total", kind="TaskRun") == 5
    assert metrics.value("runlake_watch_events_total", type="ADDED") == 8
    assert metrics.value("runlake_watch_events_total", kind="CustomRun") == 0


def test_metrics_queue_depth_is_read_when_scraped():
    metrics, queue = WatchMetrics(), [1, 2]
    metrics.gauge("runlake_watch_queue_depth", lambda: len(queue))
    queue.append(3)
    assert _samples(metrics)[("runlake_watch_queue_depth", ())] == 3
