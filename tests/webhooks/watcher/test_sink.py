"""The watcher's sink client and queue, against a recording sink over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.helpers.sinkapp import RecordingSink
from tests.helpers.watchkit import FAST, demo_runs
from webhooks.watcher.metrics import ActionLog, WatchMetrics
from webhooks.watcher.sink import Sink, SnapshotQueue, Stopped


@pytest.fixture
def recording() -> Iterator[RecordingSink]:
    server = RecordingSink().start()
    yield server
    server.stop()


def _sink(url: str, metrics: WatchMetrics | None = None) -> Sink:
    import io

    return Sink(
        url, "tok", backoff=FAST, metrics=metrics or WatchMetrics(), log=ActionLog(io.StringIO())
    )


def test_sink_retries_503_until_accepted(recording):
    recording.fail_with = 503
    metrics = WatchMetrics()
    runs = demo_runs(4)
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (
            _sink(recording.url, metrics).post_snapshots(runs, threading.Event()),
            done.set(),
        )
    )
    thread.start()
    while metrics.value("runlake_watch_retries_total") < 3:
        threading.Event().wait(0.01)
    recording.fail_with = None
    thread.join(10)
    assert done.is_set()
    assert [o["metadata"]["uid"] for o in recording.snapshots] == [
        r["metadata"]["uid"] for r in runs
    ]
    assert metrics.value("runlake_watch_snapshots_sent_total") == 4


def test_sink_rejected_batch_drops_only_the_bad_item(recording):
    runs = demo_runs(6)
    bad = runs[2]["metadata"]["uid"]
    recording.reject_uids = {bad}
    metrics = WatchMetrics()
    _sink(recording.url, metrics).post_snapshots(runs, threading.Event())
    assert {o["metadata"]["uid"] for o in recording.snapshots} == {
        r["metadata"]["uid"] for r in runs
    } - {bad}
    assert metrics.value("runlake_watch_snapshots_rejected_total") == 1


def test_sink_unreachable_gives_up_only_when_stopped():
    stop = threading.Event()
    sink = _sink("http://127.0.0.1:9")  # nothing listens on the discard port
    stop_later = threading.Timer(0.3, stop.set)
    stop_later.start()
    with pytest.raises(Stopped):
        sink.post_snapshots(demo_runs(1), stop)


def test_sink_put_log_streams_body_with_token(recording):
    _sink(recording.url).put_log_once("ci", "abc-123", "build", iter([b"line 1\n", b"line 2\n"]))
    assert recording.logs == [("ci", "abc-123", "build", b"line 1\nline 2\n")]
    assert recording.tokens == ["Bearer tok"]


def test_snapshot_queue_coalesces_by_uid_keeping_the_newest():
    queue, stop = SnapshotQueue(limit=10), threading.Event()
    queue.put("a", 1, stop)
    queue.put("b", 1, stop)
    queue.put("a", 2, stop)
    assert queue.take(10, 0) == [("a", 2), ("b", 1)]


def test_snapshot_queue_full_blocks_instead_of_dropping():
    queue, stop = SnapshotQueue(limit=2), threading.Event()
    queue.put("a", 1, stop)
    queue.put("b", 1, stop)
    queue.put("a", 3, stop)  # an update of a waiting run always fits
    third = threading.Thread(target=queue.put, args=("c", 1, stop))
    third.start()
    third.join(0.3)
    assert third.is_alive()  # back-pressure: waits for room
    assert queue.take(1, 0) == [("a", 3)]
    third.join(5)
    assert queue.take(10, 0) == [("b", 1), ("c", 1)]
