"""Group commit: shared files, durability before return, failures reported to every waiter."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from ingest.writer import GroupCommitWriter
from layout.inbox import write_inbox
from layout.store import StoreError


def _row(n: int) -> dict:
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    return {
        "uid": f"uid-{n}",
        "namespace": "ci",
        "kind": "TaskRun",
        "event_id": f"ev-{n}",
        "created_at": moment,
        "received_at": moment,
        "status": "Succeeded",
    }


def test_writer_lone_request_is_written_at_once(local_store):
    writer = GroupCommitWriter(local_store, flush_ms=10_000, flush_rows=100)
    started = time.monotonic()
    [key] = writer.submit([_row(1)])
    assert time.monotonic() - started < 5  # not held back by the 10 s window
    assert local_store.exists(key)
    writer.close()


def test_writer_concurrent_requests_share_files(local_store):
    slow_first = threading.Event()

    def slow_write(store, rows):
        if not slow_first.is_set():
            slow_first.set()
            time.sleep(0.3)  # rows arriving during this flush must share the next file
        return write_inbox(store, rows)

    writer = GroupCommitWriter(local_store, flush_ms=5_000, flush_rows=1000, write=slow_write)
    threads = [threading.Thread(target=writer.submit, args=([_row(n)],)) for n in range(40)]
    for thread in threads:
        thread.start()
        time.sleep(0.002)
    for thread in threads:
        thread.join()
    writer.close()
    assert writer.stats.rows_written == 40
    assert writer.stats.files_written <= 3
    assert len(local_store.list("inbox")) == writer.stats.files_written


def test_writer_batches_never_exceed_flush_rows(local_store):
    writer = GroupCommitWriter(local_store, flush_ms=50, flush_rows=5)
    threads = [threading.Thread(target=writer.submit, args=([_row(n)],)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert writer.stats.rows_written == 30
    assert writer.stats.files_written >= 6


def test_writer_failed_flush_raises_in_every_waiter_and_stores_nothing(local_store):
    def failing_write(store, rows):
        raise StoreError("disk on fire")

    writer = GroupCommitWriter(local_store, write=failing_write)
    with pytest.raises(StoreError, match="disk on fire"):
        writer.submit([_row(1), _row(2)])
    writer.close()
    assert writer.stats.rows_written == 0
    assert local_store.list("inbox") == []


def test_writer_slow_store_starts_a_parallel_flush_after_flush_ms(local_store):
    gate = threading.Event()

    def blocking_first(store, rows):
        if rows[0]["uid"] == "uid-0":
            gate.wait(10)
        return write_inbox(store, rows)

    writer = GroupCommitWriter(local_store, flush_ms=50, flush_rows=100, write=blocking_first)
    first = threading.Thread(target=writer.submit, args=([_row(0)],))
    first.start()
    time.sleep(0.05)
    started = time.monotonic()
    writer.submit([_row(1)])  # must not wait for the stuck flush
    assert time.monotonic() - started < 5
    gate.set()
    first.join()
    writer.close()
    assert writer.stats.rows_written == 2


def _busy(writer: GroupCommitWriter) -> None:
    writer.submit([_row(100)])  # a flush just ran: the next one gathers before it writes


def test_writer_gathering_flush_waits_for_an_announced_request(local_store):
    writer = GroupCommitWriter(local_store, flush_ms=5_000, flush_rows=100)
    _busy(writer)
    decoded = threading.Event()
    done = []

    def announced() -> None:
        with writer.arriving() as submit:
            decoded.wait(10)  # still decoding while the other request is queued
            done.append(submit([_row(1)]))

    thread = threading.Thread(target=announced)
    thread.start()
    time.sleep(0.05)
    other = threading.Thread(target=lambda: done.append(writer.submit([_row(2)])))
    other.start()
    time.sleep(0.2)
    assert done == []  # held for the announced request, far past the 2 ms arrival gap
    decoded.set()
    thread.join()
    other.join()
    writer.close()
    assert done[0] == done[1]  # one object holds both
    assert writer.stats.files_written == 2


def test_writer_withdrawn_announcement_does_not_hold_the_flush(local_store):
    writer = GroupCommitWriter(local_store, flush_ms=5_000, flush_rows=100)
    _busy(writer)
    rejected = threading.Event()

    def announced_then_rejected() -> None:
        with writer.arriving():
            rejected.wait(10)  # a bad request: it leaves without submitting

    thread = threading.Thread(target=announced_then_rejected)
    thread.start()
    time.sleep(0.05)
    threading.Timer(0.1, rejected.set).start()
    started = time.monotonic()
    writer.submit([_row(2)])
    assert time.monotonic() - started < 2.5  # not the 5 s flush_ms
    thread.join()
    writer.close()
    assert writer.stats.rows_written == 2


def test_writer_queued_request_with_none_announced_writes_without_idling(local_store):
    writer = GroupCommitWriter(local_store, flush_ms=5_000, flush_rows=100)
    _busy(writer)
    started = time.monotonic()
    writer.submit([_row(1)])
    assert time.monotonic() - started < 2.5  # a 2 ms gap, not flush_ms or a flush's length
