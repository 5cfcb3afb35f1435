"""Reading request bodies without letting a slow sender hold a worker thread.

gunicorn's gthread worker keeps its heartbeat while a thread waits on a socket, so its
`timeout` never frees a thread stuck on a sender that stalls mid-body; a few such senders
would take every thread. Here the socket gets an inactivity timeout while the body is read,
and event bodies (small, sent at once) also a deadline for the whole body. Headers that never
finish are beyond a WSGI app's reach: put a buffering proxy (API Gateway, an ingress) in front.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import request
from werkzeug.wsgi import get_input_stream

from service.errors import ApiError

BODY_IDLE_TIMEOUT_S = 30.0
EVENT_BODY_DEADLINE_S = 60.0


class SlowSender(Exception):
    """Not an OSError on purpose: a stalled sender is not a store failure (503)."""


def too_slow() -> ApiError:
    return ApiError(
        408,
        "the request body did not arrive in time",
        [
            f"no byte for {BODY_IDLE_TIMEOUT_S:.0f} s, or the whole body took longer "
            f"than {EVENT_BODY_DEADLINE_S:.0f} s"
        ],
        {"Connection": "close"},
    )


def body_reader(
    environ: Mapping[str, Any], idle_timeout_s: float, deadline_s: float | None = None
) -> Callable[[int], bytes]:
    """read(n) over the request body; raises SlowSender when the sender stalls for
    idle_timeout_s, or (with deadline_s) when the whole body takes longer than that."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        sock.settimeout(idle_timeout_s)
    stream = get_input_stream(environ, safe_fallback=False, max_content_length=None)
    ends = time.monotonic() + deadline_s if deadline_s is not None else None

    def read(size: int) -> bytes:
        if ends is not None and time.monotonic() > ends:
            raise SlowSender("the body's deadline passed")
        try:
            return stream.read(size)
        except TimeoutError as exc:
            raise SlowSender("the sender stalled") from exc

    return read


def read_limited_body(
    limit: int,
    idle_timeout_s: float = BODY_IDLE_TIMEOUT_S,
    deadline_s: float | None = EVENT_BODY_DEADLINE_S,
) -> bytes:
    """The request body, or 413 once it passes `limit` bytes. Werkzeug's own limit silently
    truncates a chunked body (no Content-Length), so the reading is done here."""
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    read = body_reader(request.environ, idle_timeout_s, deadline_s)
    # A declared length is read in one call (the usual event: a few KB, already arrived);
    # a chunked body in pieces, each at most what still fits under the limit.
    chunk = min(length, limit) if length else 64 * 1024
    chunks, size = [], 0
    try:
        while data := read(min(chunk, limit + 1 - size)):
            chunks.append(data)
            size += len(data)
            if size > limit:
                raise _too_large(limit)
    except SlowSender as exc:
        raise too_slow() from exc
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, f"the body is larger than {limit} bytes", [f"RUNLAKE_MAX_BODY_BYTES is {limit}"]
    )
