"""Group commit: requests hand their rows to one writer per process and wait; the writer puts
the rows of many requests into one inbox object (layout.inbox), and each request returns only
once its rows are durable.

There is no flusher thread: a request that finds the writer idle writes, taking with it every
row queued so far. Rows that arrive while a flush runs queue up; when the flush ends, the
request that queued first is woken to write them all as the next file.

An idle writer (no flush in the last RUNLAKE_FLUSH_MS) writes a lone event at once. A busy one
first lets the file fill: while a request it was told of (`arriving`) is still decoding, and
until none has come for the arrival gap. Files are what cost (a temp file, two fsyncs and a
rename each, or a PUT), so under load this keeps files per event low, at the price of a few ms
of latency; and it never waits on a count it cannot know (connections that may or may not
send), so a worker whose every request is already queued writes at once instead of idling.

No row waits longer than RUNLAKE_FLUSH_MS for that: past it, the wait ends, and a row stuck
behind a slow flush starts a further, parallel one. A file never takes more than
RUNLAKE_FLUSH_ROWS rows (a single larger request goes alone).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from layout.inbox import write_inbox
from layout.store import Store

Row = Mapping[str, Any]
# One GIL switch interval (5 ms by default): a request thread that is ready to announce
# itself may wait that long for the GIL under load, so a shorter gap would end a flush's
# wait before the requests behind it could say they are coming (2 ms made files per event
# swing with the machine's load).
THREAD_ARRIVAL_GAP_S = sys.getswitchinterval()
# Greenlets do not wait for the GIL behind each other (only the thread pool's store write can
# hold it), so under gevent the gap only has to cover the event loop's turn to the next ready
# socket: 2 ms measured fewer idle ms per file than 5 ms at about the same files per event
# (bench/RESULTS.md; 1 ms was measured only in rounds with unevenly loaded workers).
GREENLET_ARRIVAL_GAP_S = 0.002


@dataclass(eq=False)
class _Pending:
    rows: Sequence[Row]
    since: float
    wake: threading.Event = field(default_factory=threading.Event)
    taken: bool = False  # in a batch that some request is writing
    keys: list[str] | None = None
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.keys is not None or self.error is not None


@dataclass
class WriterStats:
    rows_written: int = 0
    files_written: int = 0
    flushes: int = 0
    failed_flushes: int = 0
    flush_seconds: float = 0.0


class GroupCommitWriter:
    def __init__(
        self,
        store: Store,
        flush_ms: int = 200,
        flush_rows: int = 5000,
        write: Callable[[Store, Sequence[Row]], str | None] = write_inbox,
        arrival_gap_s: float = THREAD_ARRIVAL_GAP_S,
    ) -> None:
        self.store = store
        self.flush_s = flush_ms / 1000
        self.flush_rows = flush_rows
        self._write = write
        self.arrival_gap_s = arrival_gap_s
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: deque[_Pending] = deque()
        self._queued_rows = 0
        self._active = 0
        self._arriving = 0
        self._last_arrival = 0.0
        self._last_flush_end = float("-inf")
        self.stats = WriterStats()

    def submit(self, rows: Sequence[Row]) -> list[str]:
        """Block until `rows` are durable in the store; return the keys of the objects holding
        them. Raises the store's error (StoreError) if their flush failed: nothing of them is
        then reported as written, and the caller should have the sender retry."""
        return self._submit(rows, announced=None)

    @contextmanager
    def arriving(self) -> Iterator[Callable[[Sequence[Row]], list[str]]]:
        """Tell the writer of a request that is decoding rows it will submit, for as long as
        the block runs; yields that request's `submit`. A flush gathering a file waits for
        such requests instead of guessing; leaving the block without submitting (a rejected
        request) withdraws it."""
        announced = [True]
        with self._lock:
            self._arriving += 1
        try:
            yield lambda rows: self._submit(rows, announced)
        finally:
            with self._lock:
                if announced[0]:
                    self._withdraw(announced)

    def _withdraw(self, announced: list[bool]) -> None:
        announced[0] = False
        self._arriving -= 1
        self._changed.notify_all()

    def _submit(self, rows: Sequence[Row], announced: list[bool] | None) -> list[str]:
        if not rows:
            return []
        mine = _Pending(rows, time.monotonic())
        with self._lock:
            if announced and announced[0]:
                self._withdraw(announced)  # in the same hold as the append: never missed
            self._queue.append(mine)
            self._queued_rows += len(rows)
            self._last_arrival = mine.since
            self._changed.notify_all()
            lead = self._active == 0
        deadline = mine.since + self.flush_s
        while True:
            if lead:
                self._lead()
            if mine.done:
                break
            timeout = None if mine.taken else max(0.0, deadline - time.monotonic())
            woken = mine.wake.wait(timeout)
            mine.wake.clear()
            if mine.done:
                break
            # Woken to write the next file, or waited flush_ms behind a slow flush: write,
            # unless another request has meanwhile taken these rows into its file.
            lead = not mine.taken and (woken or time.monotonic() >= deadline)
        if mine.error is not None:
            raise mine.error
        return mine.keys or []

    def close(self) -> None:
        """Wait until every queued row has been written (or has failed)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._queue and self._active == 0)

    def _lead(self) -> None:
        with self._lock:
            if not self._queue:
                return
            self._active += 1  # from here on, new requests queue behind this one
            if self._queue[0].since - self._last_flush_end < self.flush_s:
                self._gather(deadline=self._queue[0].since + self.flush_s)
            batch = self._take_batch()
        try:
            self._flush(batch)
        finally:
            with self._lock:
                self._active -= 1
                self._last_flush_end = time.monotonic()
                if self._queue:
                    self._queue[0].wake.set()  # the oldest waiter writes the next file
                self._changed.notify_all()

    def _gather(self, deadline: float) -> None:
        """Wait (lock held) while announced requests are still decoding, or rows came less
        than the arrival gap ago, until the file is full or the oldest row has waited
        flush_ms."""
        while self._queued_rows < self.flush_rows:
            now = time.monotonic()
            quiet_at = self._last_arrival + self.arrival_gap_s
            if now >= deadline or (self._arriving == 0 and now >= quiet_at):
                return
            self._changed.wait((deadline if self._arriving else quiet_at) - now)

    def _take_batch(self) -> list[_Pending]:
        batch, rows = [], 0
        while self._queue and (not batch or rows + len(self._queue[0].rows) <= self.flush_rows):
            item = self._queue.popleft()
            item.taken = True
            batch.append(item)
            rows += len(item.rows)
        self._queued_rows -= rows
        return batch

    def _flush(self, batch: list[_Pending]) -> None:
        rows = [row for item in batch for row in item.rows]
        started = time.monotonic()
        try:
            key = self._write(self.store, rows)
            keys = [key] if key else []
        except BaseException as exc:  # every waiter must hear of it, whatever it is
            with self._lock:
                self.stats.failed_flushes += 1
            for item in batch:
                item.error = exc
                item.wake.set()
            return
        with self._lock:
            self.stats.flushes += 1
            self.stats.rows_written += len(rows)
            self.stats.files_written += len(keys)
            self.stats.flush_seconds += time.monotonic() - started
        for item in batch:
            item.keys = keys
            item.wake.set()
