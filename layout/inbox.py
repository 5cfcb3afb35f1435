"""The inbox: what ingest and import accepted that the materializer has not yet moved into the
tables (DESIGN: object layout).

    inbox/<writer>-<sortable-id>.ndjson

One object per accepted batch (group commit puts many requests' rows in one), one snapshot row
per line as JSON: the columns of SNAPSHOT_SCHEMA, timestamps in RFC 3339 UTC, the maps as JSON
objects. JSON rather than Parquet because ingest writes one such object per flush and Parquet
costs milliseconds of CPU per file whatever its size; a line costs microseconds (orjson). The
materializer, which writes each row once, and readers, which merge the few seconds still here,
read it with DuckDB's JSON reader into the same types. Objects are never modified: written
whole (the store's writes are atomic and durable), then deleted once the tables hold them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from layout.keys import new_file_id
from layout.schema import SNAPSHOT_SCHEMA, duckdb_type
from layout.store import FolderStamp, LocalStore, ObjectInfo, Store

INBOX_PREFIX = "inbox/"
INBOX_SUFFIX = ".ndjson"
# OPT_SORT_KEYS stores labels and annotations with their keys sorted (the JSON reader keeps
# an object's order in the map), as every answer shows them: readers render a page of maps
# as they are stored, and sorting them at read time was a quarter of a 1,000-run page.
_JSON_OPTIONS = (
    orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE | orjson.OPT_SORT_KEYS
)

Row = Mapping[str, Any]

# The JSON reader's column types: exactly SNAPSHOT_SCHEMA's, so nothing is inferred.
INBOX_COLUMNS: dict[str, str] = {f.name: duckdb_type(f.type) for f in SNAPSHOT_SCHEMA}


def inbox_key(file_id: str | None = None) -> str:
    return f"{INBOX_PREFIX}{file_id or new_file_id()}{INBOX_SUFFIX}"


def encode_rows(rows: Iterable[Row]) -> bytes:
    """The inbox object's bytes for these rows (labels and annotations as JSON objects, their
    keys sorted)."""
    return b"".join(orjson.dumps(dict(row), option=_JSON_OPTIONS) for row in rows)


def write_inbox(store: Store, rows: Iterable[Row]) -> str | None:
    """Store rows as one new inbox object, durable when this returns. Returns its key (None
    for no rows). Raises StoreError."""
    data = encode_rows(rows)
    if not data:
        return None
    key = inbox_key()
    store.write_bytes(key, data)
    return key


def is_inbox_key(key: str) -> bool:
    return (
        key.startswith(INBOX_PREFIX)
        and key.endswith(INBOX_SUFFIX)
        and "/" not in key[len(INBOX_PREFIX) :]
    )


def list_inbox(store: Store, known: Mapping[str, ObjectInfo] | None = None) -> list[ObjectInfo]:
    """The inbox's objects, oldest first (their names sort by creation time). `known`: what
    an earlier listing found, reused for the objects still there (an inbox object is never
    rewritten), so a reader that lists before every query stats only the new ones."""
    return sorted(
        (info for info in store.list(INBOX_PREFIX, known) if is_inbox_key(info.key)),
        key=lambda info: info.key,
    )


class InboxLister:
    """The inbox's objects for a reader that looks before every query (the query engine).
    Where the store can tell that the inbox folder has not changed (a local directory's
    mtime), a listing is reused until it changes: each look then costs one stat instead of
    reading thousands of names. Elsewhere (S3) it lists each time. Only a listing begun the
    stamp's settling time after the stamp was first seen is reused: any change after it
    began moves the stamp on. Not thread-safe: one caller at a time (the engine looks
    under its lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stamp: FolderStamp | None = None
        self._stamp_seen = 0.0  # time.monotonic() when the stamp was first seen
        self._settled: list[ObjectInfo] | None = None  # listed once the stamp had settled
        # The last answer was the settled listing the one before it gave too.
        self.unchanged = False

    def list(self, known: Mapping[str, ObjectInfo] | None = None) -> list[ObjectInfo]:
        """As list_inbox (oldest first; `known` reused)."""
        stamp = self.store.folder_stamp(INBOX_PREFIX)
        now = time.monotonic()
        if stamp is None:
            self._stamp, self._settled, self.unchanged = None, None, False
            return list_inbox(self.store, known)
        if stamp != self._stamp:
            self._stamp, self._stamp_seen, self._settled = stamp, now, None
        elif self._settled is not None:
            self.unchanged = True
            return list(self._settled)
        self.unchanged = False
        listing = list_inbox(self.store, known)
        if now - self._stamp_seen >= stamp.settle_s:
            self._settled = listing
        return list(listing)


# The materializer runs every few seconds; an inbox object older than this means it is not
# running (or cannot keep up): readers still answer, merging the inbox, but slower and slower.
BEHIND_AFTER_S = 300.0


@dataclass(frozen=True)
class InboxStats:
    """What the materializer owes: the inbox's objects, their bytes, the oldest one's age."""

    objects: int
    bytes: int
    oldest_age_s: float

    @property
    def behind(self) -> bool:
        return self.oldest_age_s > BEHIND_AFTER_S

    def describe(self) -> dict[str, Any]:
        """As /readyz answers it."""
        answer: dict[str, Any] = {
            "objects": self.objects,
            "bytes": self.bytes,
            "oldest_age_seconds": round(self.oldest_age_s, 1),
            "materializer": "behind" if self.behind else "ok",
        }
        if self.behind:
            answer["problem"] = (
                f"{self.objects} inbox objects wait, the oldest for "
                f"{self.oldest_age_s:.0f} s: is a materializer running (`runlake serve`, "
                "`runlake materialize`, or the scheduled function)? Queries still answer, "
                "more slowly as the inbox grows."
            )
        return answer


def inbox_stats(infos: Iterable[ObjectInfo], now: float | None = None) -> InboxStats:
    infos = list(infos)
    now = time.time() if now is None else now
    oldest = min((info.mtime for info in infos), default=now)
    return InboxStats(len(infos), sum(info.size for info in infos), max(0.0, now - oldest))


# Objects fetched at once from S3 when spooling (local reads are sequential).
FETCH_THREADS = 16


@contextlib.contextmanager
def spooled(
    store: Store, infos: Iterable[ObjectInfo], vanished: list[str] | None = None
) -> Iterator[str]:
    """The rows of these inbox objects as one local NDJSON file, each line carrying the key
    of its object as `_file`: DuckDB parses one file at once instead of opening thousands
    (a quiet hour at Tekton's pace is 5,000 single-event objects). An object deleted
    meanwhile (the materializer committed it) is left out, and its key added to `vanished`;
    the file may be empty."""
    infos = list(infos)
    with tempfile.NamedTemporaryFile("wb", suffix=INBOX_SUFFIX, delete=False) as spool:
        path = spool.name
        for info, data in _fetched(store, infos):
            if data is None:
                if vanished is not None:
                    vanished.append(info.key)
                continue
            tag = b'{"_file":' + orjson.dumps(info.key) + b","
            for line in data.splitlines():
                if line.startswith(b"{") and len(line) > 2:
                    spool.write(tag + line[1:] + b"\n")
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)


def _fetched(store: Store, infos: list[ObjectInfo]) -> Iterator[tuple[ObjectInfo, bytes | None]]:
    """Each object and its bytes, None where it is gone."""

    def fetch(info: ObjectInfo) -> bytes | None:
        try:
            return store.read_bytes(info.key)
        except FileNotFoundError:
            return None

    if isinstance(store, LocalStore) or len(infos) < 4:
        pairs = ((info, fetch(info)) for info in infos)
    else:
        with ThreadPoolExecutor(FETCH_THREADS) as pool:
            pairs = list(zip(infos, pool.map(fetch, infos), strict=True))
    yield from pairs


def read_json_sql(files_parameter: str = "?") -> str:
    """A DuckDB SELECT of every row of the NDJSON files in `files_parameter` (a spool from
    `spooled`, or inbox objects themselves), with SNAPSHOT_SCHEMA's columns and types and
    `_file`, the object each row came from."""
    columns = (
        "{"
        + ", ".join(
            f"'{name}': '{kind}'" for name, kind in {**INBOX_COLUMNS, "_file": "VARCHAR"}.items()
        )
        + "}"
    )
    return (
        f"SELECT * FROM read_json({files_parameter}, columns = {columns}, "
        "format = 'newline_delimited')"
    )
