"""PUT /v1/logs/<namespace>/<uid>/<step>: a step log, streamed into the store.

The body is text, optionally `Content-Encoding: gzip`, of any size: RUNLAKE_MAX_BODY_BYTES
does not apply (DESIGN: configuration), and it is read in chunks, never whole. Names are
checked before a byte is read; nothing is stored unless the whole upload arrived and is
valid. A repeat replaces the stored log.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ingest.context import get_store
from layout.keys import InvalidKeyPart, log_key
from layout.logs import InvalidLog, write_log
from layout.store import StoreError
from service.body import SlowSender, body_reader, too_slow
from service.errors import ApiError, StoreUnavailable

blueprint = Blueprint("ingest_logs", __name__)
PUT_ENDPOINT = "ingest_logs.put_log"

ENCODINGS = {"": False, "identity": False, "gzip": True, "x-gzip": True}


@blueprint.put("/v1/logs/<namespace>/<uid>/<step>", endpoint="put_log")
def put_log(namespace: str, uid: str, step: str) -> tuple[Response, int]:
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ENCODINGS:
        raise ApiError(
            415,
            f"Content-Encoding {encoding!r} is not accepted here",
            ["send the log as text, or gzipped with Content-Encoding: gzip"],
        )
    # Werkzeug decodes %2f and friends before routing, so '..' or a slash in a name arrives
    # here (or matches no route); log_key admits only [a-z0-9-].
    try:
        log_key(namespace, uid, step)
    except InvalidKeyPart as exc:
        raise ApiError(400, "invalid log name", str(exc).split("; ")) from exc
    # No max_content_length: logs stream, whatever RUNLAKE_MAX_BODY_BYTES says.
    # An inactivity timeout but no deadline: a large log may rightly take long.
    read = body_reader(request.environ, current_app.config["BODY_IDLE_TIMEOUT_S"])
    try:
        stored = write_log(get_store(), namespace, uid, step, read, gzipped=ENCODINGS[encoding])
    except SlowSender as exc:
        raise too_slow() from exc
    except InvalidLog as exc:
        raise ApiError(400, "invalid log body", [str(exc)]) from exc
    except StoreError as exc:
        raise StoreUnavailable(str(exc)) from exc
    return jsonify(
        {"key": stored.key, "size_bytes": stored.size_bytes, "stored_bytes": stored.stored_bytes}
    ), 201


@blueprint.put("/v1/logs/<path:rest>", endpoint="bad_log_path")
def bad_log_path(rest: str) -> Response:
    # Any other shape (a decoded %2f, an empty or extra segment) is a bad name, not a 404.
    raise ApiError(
        400, "invalid log name", [f"{rest!r}: a log is PUT at /v1/logs/<namespace>/<uid>/<step>"]
    )
