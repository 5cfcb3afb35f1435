"""GET /v1/external-logs/<namespace>/<podName>/<container>: a step's log for the Tekton
Dashboard's `--external-logs=https://<runlake>/v1/external-logs`, which the Dashboard asks
for once the pod is gone (tektoncd/dashboard pkg/endpoints/externallogs.go, src/api).

The pod is the TaskRun whose status.podName it is; the container `step-<name>` is that
step. The answer is the step's text, byte for byte, as text/plain (the Dashboard reads any
other type as JSON), or 404. The Dashboard adds `?startTime=&completionTime=` (the
TaskRun's), which narrow the partitions read.

Tokens as elsewhere (Bearer, `?token=`), and a Basic password too: the Dashboard's backend
forwards no header, so its flag carries the token as `https://runlake:<token>@<host>/...`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, request

from layout.keys import is_dns_label
from layout.schema import KINDS, TASK_RUN
from layout.store import StoreError
from query.engine import SqlError
from query.http.access import readable
from query.http.context import get_engine, query_failed
from query.logs import LogNotFound, open_logs, run_log_parts
from query.scope import Readable
from query.views import Partitions
from service.errors import ApiError

blueprint = Blueprint("external_logs", __name__)

_POD = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_TASKRUN_OF_POD = (
    "SELECT uid, json_extract_string(\"object\", '$.status.steps[*].name') AS steps, "
    "json_extract_string(\"object\", '$.status.steps[*].container') AS containers "
    "FROM taskruns WHERE namespace = ? AND {confine} "
    "AND json_extract_string(\"object\", '$.status.podName') = ? "
    "ORDER BY created_at DESC NULLS LAST LIMIT 1"
)


def _not_found(detail: str) -> ApiError:
    return ApiError(404, "no such log", [detail])


@blueprint.get("/v1/external-logs/<namespace>/<pod>/<container>")
def external_log(namespace: str, pod: str, container: str) -> Response:
    allowed = readable(basic=True)
    if not is_dns_label(namespace) or not _POD.fullmatch(pod) or len(container) > 63:
        raise _not_found(f"no pod {namespace}/{pod}")
    if allowed is not None and not allowed.permits_namespace(namespace):
        raise _not_found(f"no pod {namespace}/{pod}")  # as an unknown one: nothing leaks
    engine = get_engine()
    try:
        uid, step = _step_of(namespace, pod, container, allowed)
        parts = run_log_parts(engine, uid, allowed) or []
        chunks = open_logs(engine.store, parts, step)
    except LogNotFound as exc:
        raise _not_found(str(exc)) from exc
    except (StoreError, SqlError) as exc:
        raise query_failed(exc) from exc
    response = Response(chunks, content_type="text/plain; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _step_of(namespace: str, pod: str, container: str, allowed: Readable | None) -> tuple[str, str]:
    """(TaskRun uid, step) of a pod's container, among the runs the reader may read. The
    TaskRun is looked for first in the partitions its start time allows (a TaskRun is
    created before it starts), then anywhere. (Pod names are unique in a cluster; the
    Dashboard names none, so of several clusters' the newest TaskRun answers.)"""
    engine = get_engine()
    sql = _TASKRUN_OF_POD.format(confine="true" if allowed is None else allowed.sql())
    started = _moment(request.args.get("startTime"))
    tries: list[Partitions | None] = [None]
    if started is not None:
        day = started.astimezone(UTC).date()
        tries.insert(0, Partitions((KINDS[TASK_RUN],), day - timedelta(days=1), day))
    for partitions in tries:
        rows = engine.query(sql, [namespace, pod], partitions=partitions)
        if rows:
            run = rows[0]
            steps = dict(zip(run["containers"] or [], run["steps"] or [], strict=False))
            if container in steps:
                return run["uid"], steps[container]
            if container.startswith("step-"):  # a step the status does not list yet
                return run["uid"], container.removeprefix("step-")
            raise LogNotFound(f"container {container!r} is not a step")
    raise LogNotFound(f"no TaskRun ran pod {namespace}/{pod}")


def _moment(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
