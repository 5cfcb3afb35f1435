"""The watcher's HTTP client to ingest, and the bounded queue in front of it.

Nothing is dropped while the sink is down: the queue coalesces snapshots by run uid (a newer
resourceVersion replaces an unsent older one, so the final snapshot always survives) and,
once it holds `limit` runs, `put` blocks, which stalls the watch streams (back-pressure)
instead of losing a run.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import urllib3

from webhooks.watcher.metrics import ActionLog, WatchMetrics

T = TypeVar("T")

# Ingest answers these when it is busy or its store is down (and Tekton retries the same set);
# 401/403/404 mean a misconfigured sink, which an operator fixes without losing runs.
RETRIABLE_STATUSES = frozenset({401, 403, 404, 408, 425, 429, 500, 502, 503, 504})


class Stopped(Exception):
    """The watcher is stopping; the unfinished work is left for the next start."""


class SinkRetriable(Exception):
    """The sink did not take the request, but will later (network error, 429, 5xx)."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class SinkRejected(Exception):
    """The sink refused the request for good (400, 413, 415)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status


@dataclass(frozen=True)
class Backoff:
    """Exponential delays: initial, initial*factor, ... capped at maximum."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


def retry(
    attempt: Callable[[], T],
    *,
    backoff: Backoff,
    stop: threading.Event,
    on_retry: Callable[[Exception, float], None],
    retriable: tuple[type[Exception], ...] = (SinkRetriable,),
    attempts: int | None = None,
) -> T:
    """`attempt()` until it returns, waiting between tries; raises Stopped when `stop` is set,
    the last error after `attempts` tries, and any non-retriable error at once."""
    delays = backoff.delays()
    tries = 0
    while True:
        if stop.is_set():
            raise Stopped()
        try:
            return attempt()
        except retriable as exc:
            tries += 1
            if attempts is not None and tries >= attempts:
                raise
            delay = next(delays)
            hinted = getattr(exc, "retry_after", None)
            if hinted:
                delay = min(max(delay, hinted), backoff.maximum)
            on_retry(exc, delay)
            if stop.wait(delay):
                raise Stopped() from exc


class SnapshotQueue:
    """Snapshots waiting for the sink, at most one per run uid (the newest)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._limit = limit
        self._cond = threading.Condition()

    def put(self, uid: str, item: Any, stop: threading.Event) -> None:
        with self._cond:
            while uid not in self._items and len(self._items) >= self._limit:
                if stop.is_set():
                    raise Stopped()
                self._cond.wait(0.2)
            self._items[uid] = item  # a newer version replaces the waiting one in place
            self._cond.notify_all()

    def take(self, most: int, timeout: float) -> list[tuple[str, Any]]:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            batch = []
            while self._items and len(batch) < most:
                batch.append(self._items.popitem(last=False))
            self._cond.notify_all()
            return batch

    def __len__(self) -> int:
        return len(self._items)


class Sink:
    """POST /v1/snapshots and PUT /v1/logs/... on the ingest service at `url`. With
    `cluster`, snapshots say which cluster they come from (`?cluster=`); ingest refuses
    them (403, retried until an operator fixes it) when the token belongs to another."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        cluster: str | None = None,
        timeout: float = 30.0,
        backoff: Backoff = Backoff(),
        metrics: WatchMetrics | None = None,
        log: ActionLog | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.backoff = backoff
        self.metrics = metrics or WatchMetrics()
        self.log = log or ActionLog()
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._snapshots_path = "/v1/snapshots" + (
            "?" + urlencode({"cluster": cluster}) if cluster else ""
        )
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 10.0), read=timeout), retries=False
        )

    def post_snapshots_once(self, objects: list[dict]) -> dict:
        body = json.dumps({"items": objects}, separators=(",", ":")).encode()
        return self._request(
            "POST", self._snapshots_path, body, {"Content-Type": "application/json"}
        )

    def put_log_once(
        self, namespace: str, uid: str, step: str, body: bytes | Iterable[bytes]
    ) -> None:
        path = "/v1/logs/" + "/".join(quote(p, safe="") for p in (namespace, uid, step))
        self._request("PUT", path, body, {"Content-Type": "text/plain; charset=utf-8"})

    def post_snapshots(self, objects: list[dict], stop: threading.Event) -> None:
        """Deliver `objects`, retrying until the sink takes them; a batch the sink refuses is
        split so one bad object costs only itself (each refusal logged and counted)."""
        try:
            retry(
                lambda: self.post_snapshots_once(objects),
                backoff=self.backoff,
                stop=stop,
                on_retry=lambda exc, delay: self._retrying("snapshots", exc, delay, len(objects)),
            )
        except SinkRejected as exc:
            if len(objects) > 1:
                middle = len(objects) // 2
                self.post_snapshots(objects[:middle], stop)
                self.post_snapshots(objects[middle:], stop)
                return
            meta = objects[0].get("metadata", {})
            self.metrics.add("runlake_watch_snapshots_rejected_total")
            self.log(
                "snapshot_rejected",
                uid=meta.get("uid"),
                name=meta.get("name"),
                namespace=meta.get("namespace"),
                error=str(exc),
            )
            return
        self.metrics.add("runlake_watch_snapshots_sent_total", len(objects))

    def _retrying(self, what: str, exc: Exception, delay: float, count: int = 1) -> None:
        self.metrics.add("runlake_watch_retries_total", what=what)
        self.log("sink_retry", what=what, count=count, error=str(exc), delay_s=delay)

    def _request(self, method: str, path: str, body: Any, headers: dict[str, str]) -> dict:
        try:
            response = self._http.request(
                method,
                self.url + path,
                body=body,
                headers={**self._headers, **headers},
                chunked=not isinstance(body, bytes | str),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise SinkRetriable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status
        if 200 <= status < 300:
            try:
                return response.json() if response.data else {}
            except ValueError:
                return {}
        detail = _error_line(response.data)
        if status in RETRIABLE_STATUSES:
            raise SinkRetriable(f"{status}: {detail}", _retry_after(response.headers))
        raise SinkRejected(status, detail)


def _error_line(data: bytes) -> str:
    try:
        return str(json.loads(data).get("error") or "")[:300]
    except (ValueError, AttributeError):
        return data[:300].decode("utf-8", "replace")


def _retry_after(headers: Any) -> float | None:
    try:
        return float(headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None
