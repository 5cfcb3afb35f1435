"""Object keys, and the validation that keeps every key inside the store.

inbox/<writer>-<sortable-id>.ndjson          (layout.inbox)
logs/<namespace>/<run-uid>/<step>.log.gz
tables/..., _runlake/...                     (layout.tables, layout.lease)
_runlake/imports/<source>.json      how far an import from another archive got (resumable)
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_UID = re.compile(r"[a-z0-9-]{1,63}")
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class InvalidKeyPart(ValueError):
    """A name that would not be a safe, valid part of an object key."""


def is_dns_label(value: str) -> bool:
    return bool(_DNS_LABEL.fullmatch(value))


def is_uid(value: str) -> bool:
    return bool(_UID.fullmatch(value))


def log_key(namespace: str, uid: str, step: str) -> str:
    problems = []
    if not is_dns_label(namespace):
        problems.append(f"namespace {namespace!r} is not a DNS-1123 label")
    if not is_uid(uid):
        problems.append(f"uid {uid!r} is not [a-z0-9-]{{1,63}}")
    if not is_dns_label(step):
        problems.append(f"step {step!r} is not a DNS-1123 label")
    if problems:
        raise InvalidKeyPart("; ".join(problems))
    return f"logs/{namespace}/{uid}/{step}.log.gz"


def writer_name() -> str:
    """Which process wrote a file: host and pid, so concurrent writers never collide."""
    host = re.sub(r"[^a-z0-9]+", "-", socket.gethostname().lower()).strip("-")[:40] or "host"
    return f"{host}-{os.getpid()}"


def new_file_id(now_ms: int | None = None) -> str:
    """<writer>-<sortable id>: 10 characters of millisecond time, then 16 random, so names
    sort by creation time and never collide."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    stamp = "".join(_CROCKFORD[(ms >> (5 * i)) & 31] for i in reversed(range(10)))
    rand = "".join(_CROCKFORD[b & 31] for b in secrets.token_bytes(16))
    return f"{writer_name()}-{stamp}{rand}"


def import_checkpoint_key(source: str) -> str:
    """Where `runlake import --from-results` notes how far it got with one database."""
    if not re.fullmatch(r"[a-z0-9-]{1,80}", source):
        raise InvalidKeyPart(f"import source {source!r} is not [a-z0-9-]{{1,80}}")
    return f"_runlake/imports/{source}.json"
