"""Step logs of a finished TaskRun: read from its pod, container by container in step order,
and streamed to the sink's PUT /v1/logs/<namespace>/<uid>/<step> without being held in memory.

A pod that is gone (404), or a container that never ran, makes that log "unavailable": it is
logged and counted once, never retried forever. The sink being down is retried until it is
back, re-reading the pod each time (a half-sent body cannot be resumed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException

from webhooks.watcher.metrics import ActionLog, WatchMetrics
from webhooks.watcher.sink import Backoff, Sink, SinkRejected, SinkRetriable, Stopped, retry

CHUNK = 256 * 1024


@dataclass
class LogOutcome:
    archived: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LogTarget:
    step: str  # the key's last part: the step's name, or a sidecar's container name
    container: str


class _PodGone(Exception):
    pass


class _Unreadable(Exception):
    """The container's log cannot be read (never started, API refuses): no point retrying."""


class _PodError(Exception):
    """A transient error reading the pod (network, 5xx): retried a few times."""


def log_targets(obj: dict, sidecars: bool = False) -> list[LogTarget]:
    """The TaskRun's `step-<name>` containers in `status.steps` order, then its sidecars'."""
    status = obj.get("status") or {}
    targets = [
        LogTarget(s["name"], s.get("container") or f"step-{s['name']}")
        for s in status.get("steps") or []
        if s.get("name")
    ]
    if sidecars:
        targets += [
            LogTarget(c, c)
            for s in status.get("sidecars") or []
            if (c := s.get("container") or (s.get("name") and f"sidecar-{s['name']}"))
        ]
    return targets


def archive_logs(
    core: CoreV1Api,
    sink: Sink,
    obj: dict,
    *,
    stop: threading.Event,
    backoff: Backoff,
    metrics: WatchMetrics,
    log: ActionLog,
    sidecars: bool = False,
    pod_attempts: int = 4,
) -> LogOutcome:
    """PUT every step log of TaskRun `obj`; raises Stopped if `stop` is set meanwhile."""
    meta = obj.get("metadata") or {}
    namespace, uid, name = meta.get("namespace"), meta.get("uid"), meta.get("name")
    pod = (obj.get("status") or {}).get("podName")
    outcome = LogOutcome()
    gone = not pod
    for target in log_targets(obj, sidecars):
        where = {
            "namespace": namespace,
            "name": name,
            "uid": uid,
            "step": target.step,
            "pod": pod,
            "container": target.container,
        }
        if gone:
            _unavailable(
                outcome,
                target,
                metrics,
                log,
                where,
                "pod is gone" if pod else "the TaskRun names no pod",
            )
            continue

        def send(target: LogTarget = target) -> None:
            stream = _open_log(core, pod, namespace, target.container)
            try:
                sink.put_log_once(namespace, uid, target.step, _chunks(stream))
            finally:
                stream.release_conn()

        def on_retry(exc: Exception, delay: float, where: dict = where) -> None:
            what = "pod_log" if isinstance(exc, _PodError) else "log"
            metrics.add("runlake_watch_retries_total", what=what)
            log("log_retry", **where, error=str(exc), delay_s=delay)

        try:
            # Sink outages are retried without limit; pod read errors only `pod_attempts`
            # times, so the outer loop counts those and the inner one never gives up.
            def attempt() -> None:
                retry(send, backoff=backoff, stop=stop, on_retry=on_retry)

            retry(
                attempt,
                backoff=backoff,
                stop=stop,
                on_retry=on_retry,
                retriable=(_PodError,),
                attempts=pod_attempts,
            )
        except Stopped:
            raise
        except _PodGone:
            gone = True
            _unavailable(outcome, target, metrics, log, where, "pod is gone")
            continue
        except (_Unreadable, _PodError, SinkRejected) as exc:
            _unavailable(outcome, target, metrics, log, where, str(exc))
            continue
        outcome.archived.append(target.step)
        metrics.add("runlake_watch_logs_archived_total")
        log("log_archived", **where)
    return outcome


def _unavailable(
    outcome: LogOutcome,
    target: LogTarget,
    metrics: WatchMetrics,
    log: ActionLog,
    where: dict,
    why: str,
) -> None:
    outcome.unavailable.append(target.step)
    metrics.add("runlake_watch_logs_unavailable_total")
    log("log_unavailable", **where, reason=why)


def _open_log(core: CoreV1Api, pod: str, namespace: str, container: str) -> Any:
    try:
        return core.read_namespaced_pod_log(
            pod, namespace, container=container, _preload_content=False
        )
    except ApiException as exc:
        if exc.status == 404:
            raise _PodGone() from exc
        if exc.status == 400:  # "container ... is waiting to start" / not valid for the pod
            raise _Unreadable(f"400: {_reason(exc)}") from exc
        if exc.status in (401, 403):
            raise _Unreadable(f"{exc.status}: not allowed to read pods/log") from exc
        raise _PodError(f"{exc.status}: {_reason(exc)}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise _PodError(f"{type(exc).__name__}: {exc}") from exc


def _chunks(response: Any) -> Iterator[bytes]:
    """The log body in pieces; a pod read failing mid-body surfaces as SinkRetriable (the PUT
    is incomplete either way, and the retry re-reads the pod)."""
    try:
        yield from response.stream(CHUNK, decode_content=True)
    except urllib3.exceptions.HTTPError as exc:
        raise SinkRetriable(f"reading the pod log broke off: {exc}") from exc


def _reason(exc: ApiException) -> str:
    import json

    try:
        return str(json.loads(exc.body).get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)
