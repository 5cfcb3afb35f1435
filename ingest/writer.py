"""Group commit: requests hand their rows to one writer per process and wait; the writer puts
the rows of many requests into one Parquet file per partition, and each request returns only
once its rows are durable.

An idle writer flushes at once, so a lone event is not delayed. Rows that arrive while a flush
is running share the next file, so under load batches grow by themselves. A row that has waited
RUNLAKE_FLUSH_MS (a slow store) starts a further, parallel flush instead of waiting longer, and
a batch never takes more than RUNLAKE_FLUSH_ROWS rows (a single larger request goes alone).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from layout.records import write_records
from layout.store import Store

Row = Mapping[str, Any]
MAX_PARALLEL_FLUSHES = 4


@dataclass
class _Pending:
    rows: Sequence[Row]
    since: float
    done: Future = field(default_factory=Future)


@dataclass
class WriterStats:
    rows_written: int = 0
    files_written: int = 0
    flushes: int = 0
    failed_flushes: int = 0
    flush_seconds: float = 0.0


class GroupCommitWriter:
    def __init__(self, store: Store, flush_ms: int = 200, flush_rows: int = 5000,
                 write: Callable[[Store, Sequence[Row]], list[str]] = write_records) -> None:
        self.store = store
        self.flush_s = flush_ms / 1000
        self.flush_rows = flush_rows
        self._write = write
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._queued_rows = 0
        self._active = 0
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.stats = WriterStats()

    def submit(self, rows: Sequence[Row], timeout: float | None = None) -> list[str]:
        """Block until `rows` are durable in the store; return the keys of the files holding
        them. Raises the store's error (StoreError) if their flush failed: nothing of them is
        then reported as written, and the caller should have the sender retry."""
        if not rows:
            return []
        pending = _Pending(rows, time.monotonic())
        with self._cond:
            if self._closed:
                raise RuntimeError("writer is closed")
            self._start_threads()
            self._queue.append(pending)
            self._queued_rows += len(rows)
            self._cond.notify_all()
        return pending.done.result(timeout)

    def close(self) -> None:
        """Flush what is queued, then stop the flusher threads."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    def _start_threads(self) -> None:
        # Threads start on first use, never at import or app creation, so a forking server
        # (gunicorn) gives each worker its own.
        if self._threads:
            return
        for n in range(MAX_PARALLEL_FLUSHES):
            thread = threading.Thread(target=self._run, name=f"runlake-flush-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _ready(self, now: float) -> bool:
        if not self._queue:
            return False
        return (self._active == 0 or self._closed or self._queued_rows >= self.flush_rows
                or now - self._queue[0].since >= self.flush_s)

    def _take_batch(self) -> list[_Pending]:
        batch, rows = [], 0
        while self._queue and (not batch or rows + len(self._queue[0].rows) <= self.flush_rows):
            item = self._queue.pop(0)
            batch.append(item)
            rows += len(item.rows)
        self._queued_rows -= rows
        return batch

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ready(time.monotonic()):
                    if self._closed and not self._queue:
                        return
                    wait = None
                    if self._queue:
                        wait = max(0.0, self._queue[0].since + self.flush_s - time.monotonic())
                    self._cond.wait(wait)
                batch = self._take_batch()
                self._active += 1
            try:
                self._flush(batch)
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

    def _flush(self, batch: list[_Pending]) -> None:
        rows = [row for item in batch for row in item.rows]
        started = time.monotonic()
        try:
            keys = self._write(self.store, rows)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            with self._cond:
                self.stats.failed_flushes += 1
            for item in batch:
                item.done.set_exception(exc)
            return
        with self._cond:
            self.stats.flushes += 1
            self.stats.rows_written += len(rows)
            self.stats.files_written += len(keys)
            self.stats.flush_seconds += time.monotonic() - started
        for item in batch:
            item.done.set_result(keys)
