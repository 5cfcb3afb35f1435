"""`runlake watch`: list then watch TaskRuns, PipelineRuns and CustomRuns, archive each run
(snapshots, then step logs), mark it archived, and optionally prune it.

Threads, all ended by one stop Event:
- one watch loop per resource and namespace: list (keeping resourceVersion), then watch with
  bookmarks; `410 Gone` re-lists, any other disconnect reconnects with backoff;
- the sender: drains the coalescing queue into batched POST /v1/snapshots;
- the finisher: for each run whose finished snapshot was acknowledged, PUTs its step logs and
  then patches `runlake.dev/archived: "true"` onto it;
- the pruner (with `prune_after`): deletes what `webhooks.watcher.prune` allows.

A run already carrying the mark was archived by an earlier watcher: it is not sent again,
which is what makes a restarted watcher archive only what it missed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import watch as k8s_watch
from kubernetes.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from layout.schema import CUSTOM_RUN, PIPELINE_RUN, TASK_RUN
from webhooks.watcher import podlogs
from webhooks.watcher.metrics import ActionLog, WatchMetrics
from webhooks.watcher.prune import (
    GROUP,
    RunRef,
    delete_run,
    is_archived,
    is_finished,
    mark_archived,
)
from webhooks.watcher.prune import prunable as prune_verdicts
from webhooks.watcher.sink import Backoff, SnapshotQueue, Stopped, retry

# (kind, plural), and the versions tried in order: CustomRun exists only in v1beta1 so far.
RESOURCES: tuple[tuple[str, str], ...] = (
    (TASK_RUN, "taskruns"),
    (PIPELINE_RUN, "pipelineruns"),
    (CUSTOM_RUN, "customruns"),
)
VERSIONS = ("v1", "v1beta1")


@dataclass
class WatchOptions:
    namespaces: Sequence[str] = ()  # empty: every namespace
    selector: str | None = None
    prune_after: timedelta | None = None
    sidecar_logs: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    watch_timeout_s: int = 300  # the server ends each watch after this; we resume at once
    poll_s: float = 0.5  # how long idle threads wait before checking stop again
    prune_interval_s: float = 30.0
    batch_size: int = 100
    finishers: int = 4  # runs whose logs are read and marked in parallel
    queue_limit: int = 10_000
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class _Resource:
    def __init__(self, kind: str, plural: str, version: str) -> None:
        self.kind, self.plural, self.version = kind, plural, version


class Watcher:
    def __init__(
        self,
        api_client: ApiClient,
        sink: Any,
        options: WatchOptions | None = None,
        *,
        metrics: WatchMetrics | None = None,
        log: ActionLog | None = None,
    ) -> None:
        self.options = options or WatchOptions()
        self.sink = sink
        self.metrics = metrics or WatchMetrics()
        self.log = log or ActionLog()
        self.custom = CustomObjectsApi(api_client)
        self.core = CoreV1Api(api_client)
        self.queue = SnapshotQueue(self.options.queue_limit)
        self.metrics.gauge("runlake_watch_queue_depth", lambda: len(self.queue))
        self._finishing: queue.Queue[tuple[_Resource, dict]] = queue.Queue()
        self._lock = threading.Lock()
        self._queued_rv: dict[str, str] = {}  # uid -> newest resourceVersion queued or sent
        self._runs: dict[str, RunRef] = {}  # uid -> what pruning needs
        self._finish_started: set[str] = set()
        self._watches: set[k8s_watch.Watch] = set()
        self._threads: list[threading.Thread] = []
        self.stop_event = threading.Event()
        self.failure: str | None = None  # why a thread died and stopped the watcher

    # ---------------------------------------------------------------------------- lifecycle

    def start(self, stop: threading.Event | None = None) -> None:
        """Discover the served versions and start every thread; returns at once."""
        if stop is not None:
            self.stop_event = stop
        resources = self._discover()
        scopes = list(self.options.namespaces) or [None]
        targets: list[tuple[str, Callable[[], None]]] = [
            (f"watch-{r.plural}-{ns or 'all'}", lambda r=r, ns=ns: self._watch_loop(r, ns))
            for r in resources
            for ns in scopes
        ]
        targets += [("sender", self._send_loop)]
        targets += [(f"finisher-{i}", self._finish_loop) for i in range(self.options.finishers)]
        if self.options.prune_after is not None:
            targets.append(("pruner", self._prune_loop))
        for name, target in targets:
            thread = threading.Thread(target=self._guard(target), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def run(self, stop: threading.Event) -> None:
        """Start, then block until `stop` is set and every thread has ended."""
        self.start(stop)
        stop.wait()
        self.join()

    def join(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        with self._lock:
            watches = list(self._watches)
        for w in watches:
            w.stop()  # shuts the socket a watch thread is blocked on
        for thread in self._threads:
            thread.join(timeout)

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except Stopped:
                pass
            except Exception as exc:
                # A thread that died would leave part of the cluster unwatched: stop the
                # whole watcher instead, so its supervisor restarts it.
                error = f"{type(exc).__name__}: {exc}"
                self.log("watcher_failed", thread=threading.current_thread().name, error=error)
                self.failure = self.failure or error
                self.stop_event.set()

        return run

    def _discover(self) -> list[_Resource]:
        """Each resource at the newest version the cluster serves (v1, else v1beta1)."""
        found: list[_Resource] = []
        served: dict[str, set[str]] = {}
        for version in VERSIONS:
            try:
                listing = retry(
                    lambda v=version: self._api_resources(v),
                    backoff=self.options.backoff,
                    stop=self.stop_event,
                    on_retry=lambda e, d: self.log("discovery_retry", error=str(e), delay_s=d),
                    retriable=(_Transient,),
                )
            except _Transient:
                listing = set()
            served[version] = listing
        for kind, plural in RESOURCES:
            version = next((v for v in VERSIONS if plural in served[v]), None)
            if version is None:
                self.log("resource_missing", kind=kind, group=GROUP)
                continue
            found.append(_Resource(kind, plural, version))
            self.log("resource_found", kind=kind, api_version=f"{GROUP}/{version}")
        return found

    def _api_resources(self, version: str) -> set[str]:
        try:
            listing = self.custom.get_api_resources(GROUP, version)
        except ApiException as exc:
            if exc.status == 404:
                return set()
            raise _Transient(f"{exc.status}: {exc.reason}") from exc
        except Exception as exc:  # network errors of every kind: the API may still be starting
            raise _Transient(str(exc)) from exc
        return {r.name for r in listing.resources or []}

    # ---------------------------------------------------------------------------- watching

    def _watch_loop(self, res: _Resource, namespace: str | None) -> None:
        stop, opts = self.stop_event, self.options
        delays = opts.backoff.delays()
        rv: str | None = None
        where = {"kind": res.kind, "namespace": namespace or "*"}
        while not stop.is_set():
            try:
                if rv is None:
                    listing = self._list(res, namespace)
                    rv = listing["metadata"]["resourceVersion"]
                    self.metrics.add("runlake_watch_relists_total", kind=res.kind)
                    self.log(
                        "listed",
                        **where,
                        count=len(listing.get("items") or []),
                        resource_version=rv,
                    )
                    for item in listing.get("items") or []:
                        item.setdefault("kind", res.kind)
                        item.setdefault("apiVersion", f"{GROUP}/{res.version}")
                        self._observe(res, "LISTED", item)
                w = k8s_watch.Watch()
                with self._lock:
                    self._watches.add(w)
                try:
                    for event in w.stream(
                        self._list_function(namespace),
                        GROUP,
                        res.version,
                        *([namespace] if namespace else []),
                        res.plural,
                        label_selector=opts.selector or None,
                        resource_version=rv,
                        allow_watch_bookmarks=True,
                        timeout_seconds=opts.watch_timeout_s,
                        _request_timeout=(10, opts.watch_timeout_s + 30),
                    ):
                        if stop.is_set():
                            break
                        obj = event["raw_object"]
                        new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                        if event["type"] != "BOOKMARK":
                            self._observe(res, event["type"], obj)
                        rv = new_rv or rv
                        delays = opts.backoff.delays()
                finally:
                    with self._lock:
                        self._watches.discard(w)
            except Stopped:
                return
            except ApiException as exc:
                if stop.is_set():
                    return
                if exc.status == 410:
                    self.log("watch_expired", **where, resource_version=rv)
                    rv = None  # re-list; unchanged resourceVersions are not re-sent
                    continue
                self._reconnect_wait(where, f"{exc.status}: {exc.reason}", delays)
            except Exception as exc:  # every disconnect: reset, refused, broken chunk, ...
                if stop.is_set():
                    return
                self._reconnect_wait(where, f"{type(exc).__name__}: {exc}", delays)

    def _reconnect_wait(self, where: dict, error: str, delays: Any) -> None:
        delay = next(delays)
        self.metrics.add("runlake_watch_reconnects_total", kind=where["kind"])
        self.log("watch_reconnect", **where, error=error, delay_s=delay)
        self.stop_event.wait(delay)

    def _list_function(self, namespace: str | None) -> Callable[..., Any]:
        return (
            self.custom.list_namespaced_custom_object
            if namespace
            else self.custom.list_cluster_custom_object
        )

    def _list(self, res: _Resource, namespace: str | None) -> dict:
        args = [GROUP, res.version, *([namespace] if namespace else []), res.plural]
        return self._list_function(namespace)(
            *args, label_selector=self.options.selector or None, _request_timeout=(10, 120)
        )

    def _observe(self, res: _Resource, event_type: str, obj: dict) -> None:
        meta = obj.get("metadata") or {}
        uid, rv = meta.get("uid"), meta.get("resourceVersion")
        if not uid:
            return
        self.metrics.add("runlake_watch_events_total", kind=res.kind, type=event_type)
        with self._lock:
            if event_type == "DELETED":
                self._runs.pop(uid, None)
            else:
                self._runs[uid] = RunRef.of(obj, res.plural, res.version)
            if is_archived(obj) or self._queued_rv.get(uid) == rv:
                if event_type == "DELETED":
                    self._queued_rv.pop(uid, None)
                return  # archived earlier (by us or a previous watcher), or nothing new
            self._queued_rv[uid] = rv
        self.queue.put(uid, (res, obj), self.stop_event)

    # ---------------------------------------------------------------------------- sending

    def _send_loop(self) -> None:
        stop = self.stop_event
        while not stop.is_set():
            batch = self.queue.take(self.options.batch_size, self.options.poll_s)
            if not batch:
                continue
            self.sink.post_snapshots([obj for _, (_, obj) in batch], stop)
            self.log("snapshots_sent", count=len(batch))
            for uid, (res, obj) in batch:
                if is_finished(obj):
                    with self._lock:
                        if uid in self._finish_started:
                            continue
                        self._finish_started.add(uid)
                    self._finishing.put((res, obj))

    # ---------------------------------------------------------------------------- finishing

    def _finish_loop(self) -> None:
        stop = self.stop_event
        while not stop.is_set():
            try:
                res, obj = self._finishing.get(timeout=self.options.poll_s)
            except queue.Empty:
                continue
            self._finish(res, obj)

    def _finish(self, res: _Resource, obj: dict) -> None:
        meta = obj["metadata"]
        where = {
            "kind": res.kind,
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "uid": meta.get("uid"),
        }
        logs = None
        if res.kind == TASK_RUN:
            logs = podlogs.archive_logs(
                self.core,
                self.sink,
                obj,
                stop=self.stop_event,
                backoff=self.options.backoff,
                metrics=self.metrics,
                log=self.log,
                sidecars=self.options.sidecar_logs,
            )
        run = RunRef.of(obj, res.plural, res.version)
        try:
            retry(
                lambda: self._patch(run),
                backoff=self.options.backoff,
                stop=self.stop_event,
                on_retry=lambda e, d: self._retrying("mark", where, e, d),
                retriable=(_Transient,),
            )
        except _Gone:
            self.log("run_gone", **where, step="mark archived")
            return
        with self._lock:
            if meta["uid"] in self._runs:
                self._runs[meta["uid"]].archived = True
        self.metrics.add("runlake_watch_runs_archived_total", kind=res.kind)
        self.log(
            "run_archived",
            **where,
            resource_version=meta.get("resourceVersion"),
            logs_archived=logs.archived if logs else None,
            logs_unavailable=logs.unavailable if logs else None,
        )

    def _patch(self, run: RunRef) -> None:
        try:
            mark_archived(self.custom, run)
        except ApiException as exc:
            if exc.status == 404:
                raise _Gone() from exc
            raise _Transient(f"{exc.status}: {exc.reason}") from exc
        except Exception as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc

    def _retrying(self, what: str, where: dict, exc: Exception, delay: float) -> None:
        self.metrics.add("runlake_watch_retries_total", what=what)
        self.log(f"{what}_retry", **where, error=str(exc), delay_s=delay)

    # ---------------------------------------------------------------------------- pruning

    def prune_once(self) -> int:
        """Delete every run the prune rule allows now; returns how many were deleted."""
        assert self.options.prune_after is not None
        with self._lock:
            runs = list(self._runs.values())
        deleted = 0
        for run, keep in prune_verdicts(runs, self.options.clock(), self.options.prune_after):
            if keep is not None:
                continue
            where = {"kind": run.kind, "namespace": run.namespace, "name": run.name, "uid": run.uid}
            try:
                delete_run(self.custom, run)
            except ApiException as exc:
                if exc.status in (404, 409):  # gone, or re-created under the same name
                    self.log("prune_skipped", **where, status=exc.status)
                    with self._lock:
                        self._runs.pop(run.uid, None)
                    continue
                self.log("prune_failed", **where, error=f"{exc.status}: {exc.reason}")
                continue
            except Exception as exc:
                self.log("prune_failed", **where, error=f"{type(exc).__name__}: {exc}")
                continue
            with self._lock:
                self._runs.pop(run.uid, None)
                for child in [r for r in self._runs.values() if run.uid in r.owners]:
                    self._runs.pop(child.uid, None)
            deleted += 1
            self.metrics.add("runlake_watch_runs_pruned_total", kind=run.kind)
            self.log("run_pruned", **where)
        return deleted

    def _prune_loop(self) -> None:
        while not self.stop_event.wait(self.options.prune_interval_s):
            self.prune_once()


class _Transient(Exception):
    pass


class _Gone(Exception):
    pass
