"""Step logs in the store: `logs/<namespace>/<uid>/<step>.log.gz`, one gzip object per step.

Writing streams: the text passes through in chunks and is compressed on the way, so a log of
any size needs constant memory. An upload sent gzipped is decompressed and compressed again
rather than stored as sent, because that validates it, counts its text, and leaves every
object one gzip member whose trailer (ISIZE) gives the text's size to a 4-byte ranged read.

No object is ever half written: store.open_write is atomic on both stores (on S3 it spools
and uploads only once the log is whole and valid, multipart when large).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from layout.keys import log_key
from layout.store import LocalStore, ObjectInfo, Store, StoreError

LOGS_PREFIX = "logs/"
LOG_SUFFIX = ".log.gz"
CHUNK_BYTES = 64 * 1024
_GZIP_WBITS = 31  # zlib's gzip container
_ISIZE_WRAP = 1 << 32


class InvalidLog(ValueError):
    """The upload is not what it claims to be (e.g. Content-Encoding gzip, but not gzip)."""


@dataclass(frozen=True)
class StoredLog:
    namespace: str
    uid: str
    step: str
    key: str
    size_bytes: int  # of the text, uncompressed
    stored_bytes: int  # of the gzip object


def write_log(
    store: Store,
    namespace: str,
    uid: str,
    step: str,
    read: Callable[[int], bytes],
    gzipped: bool = False,
) -> StoredLog:
    """Store a step log, replacing any earlier one. `read(n)` returns up to n bytes of the
    upload, b"" at its end. Raises InvalidKeyPart (bad names, before anything is read),
    InvalidLog (nothing stored) and StoreError."""
    key = log_key(namespace, uid, step)
    with store.open_write(key) as out:
        size, stored = _compress(read, out, gzipped)
    return StoredLog(namespace, uid, step, key, size, stored)


def _compress(read: Callable[[int], bytes], out: BinaryIO, gzipped: bool) -> tuple[int, int]:
    """Copy the upload's text to `out` as one gzip member; (text bytes, gzip bytes)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP_WBITS)
    size = stored = 0
    for text in _texts(read, gzipped):
        size += len(text)
        packed = compressor.compress(text)
        stored += len(packed)
        out.write(packed)
    packed = compressor.flush()
    out.write(packed)
    return size, stored + len(packed)


def _texts(read: Callable[[int], bytes], gzipped: bool) -> Iterator[bytes]:
    chunks = iter(lambda: read(CHUNK_BYTES), b"")
    if not gzipped:
        yield from chunks
        return
    try:
        yield from _inflate(chunks)
    except zlib.error as exc:
        raise InvalidLog(f"the body is not valid gzip: {exc}") from exc


def _inflate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Text of a gzip stream, in chunks of at most CHUNK_BYTES. Several members in a row are
    one stream (`cat a.gz b.gz`); capping each call keeps a small, highly compressed upload
    small in memory too. Raises InvalidLog if the stream ends inside a member."""
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    for chunk in chunks:
        data = chunk
        while data:
            if decompressor.eof:
                decompressor = zlib.decompressobj(_GZIP_WBITS)
            text = decompressor.decompress(data, CHUNK_BYTES)
            if text:
                yield text
            data = decompressor.unconsumed_tail or (
                decompressor.unused_data if decompressor.eof else b""
            )
    if not decompressor.eof:
        raise InvalidLog("the gzip data ends inside a member (truncated)")


def read_log(store: Store, key: str) -> Iterator[bytes]:
    """The text of a stored log, in chunks. Opens the object at once, so FileNotFoundError
    (not stored) and StoreError come from this call; later chunks may raise StoreError."""
    return _read_stream(store.open_input(key), key)


def _read_stream(stream: BinaryIO, key: str) -> Iterator[bytes]:
    with stream:
        try:
            yield from _inflate(iter(lambda: _read(stream, key), b""))
        except zlib.error as exc:
            raise StoreError(f"{key} is not valid gzip: {exc}") from exc


def _read(stream: BinaryIO, key: str) -> bytes:
    try:
        return stream.read(CHUNK_BYTES)
    except OSError as exc:
        raise StoreError(f"cannot read {key}: {exc}") from exc


def parse_log_key(key: str) -> tuple[str, str, str] | None:
    """(namespace, uid, step) of a log key, or None for anything else under logs/."""
    if not key.startswith(LOGS_PREFIX) or not key.endswith(LOG_SUFFIX):
        return None
    parts = key[len(LOGS_PREFIX) : -len(LOG_SUFFIX)].split("/")
    if len(parts) != 3:
        return None
    try:
        if log_key(*parts) != key:
            return None
    except ValueError:
        return None
    return parts[0], parts[1], parts[2]


SizeCache = dict[tuple[str, int, float], int]


def list_logs(
    store: Store,
    namespace: str | None = None,
    uid: str | None = None,
    cache: SizeCache | None = None,
) -> list[StoredLog]:
    """Every stored log (of one namespace, or one run), with its text's size. The size comes
    from the gzip trailer (one small ranged read per log, remembered in `cache` by key, size
    and mtime, so a long-lived caller reads each object once). ISIZE counts modulo 4 GiB:
    a log that large is reported as the smallest size its compressed size allows."""
    prefix = LOGS_PREFIX
    if namespace is not None:
        prefix += f"{namespace}/"
        if uid is not None:
            prefix += f"{uid}/"
    infos = [
        (info, parsed)
        for info in store.list(prefix)
        if (parsed := parse_log_key(info.key)) is not None
    ]
    cache = cache if cache is not None else {}
    missing = [info for info, _ in infos if (info.key, info.size, info.mtime) not in cache]
    if missing:
        workers = 1 if isinstance(store, LocalStore) or len(missing) < 4 else 16
        with ThreadPoolExecutor(workers) as pool:
            for info, size in zip(
                missing, pool.map(lambda i: _text_size(store, i), missing), strict=True
            ):
                cache[(info.key, info.size, info.mtime)] = size
    return [
        StoredLog(ns, run, step, info.key, cache[(info.key, info.size, info.mtime)], info.size)
        for info, (ns, run, step) in sorted(infos, key=lambda pair: pair[0].key)
    ]


def _text_size(store: Store, info: ObjectInfo) -> int:
    if info.size < 18:  # smaller than any gzip member: not ours
        return 0
    try:
        with store.fs.open_input_file(store.path(info.key)) as file:
            trailer = file.read_at(4, info.size - 4)
    except FileNotFoundError:
        return 0  # replaced or deleted since the listing; the next listing sees it
    except OSError as exc:
        raise StoreError(f"cannot read {info.key}: {exc}") from exc
    size = int.from_bytes(trailer, "little")
    # Deflate expands incompressible text by under 0.01 % (plus 18 bytes of gzip framing);
    # an object clearly larger than its ISIZE says the text wrapped past 4 GiB.
    while size + size // 1000 + 64 < info.size:
        size += _ISIZE_WRAP
    return size
