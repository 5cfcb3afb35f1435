"""One way to read and write the archive, whether it lives in a local directory or in S3.

Writes are atomic: a local object is written beside its final name, fsynced and renamed;
an S3 object appears whole when its PUT (or multipart upload) completes. A reader never sees
half an object, which is what lets ingest answer 202 only after the write is durable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlparse

import pyarrow.fs as pafs


class StoreError(OSError):
    """The store could not be read or written; the caller should answer 503 and retry later."""


class StoreURLError(ValueError):
    """RUNLAKE_STORE is not a directory, file:// or s3:// URL."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    mtime: float


@dataclass(frozen=True)
class FolderStamp:
    """A folder's state as far as its entries go: `value` changes when one is added or
    removed, provided the change comes `settle_s` or more after the value was first seen
    (a change within the same step of the folder's clock may leave it as it was)."""

    value: tuple
    settle_s: float


TMP_SUFFIX = ".tmp"
SPOOL_MEMORY_BYTES = 1024 * 1024
COPY_CHUNK_BYTES = 1024 * 1024


class Store:
    """Keys are '/'-separated paths relative to the store root: 'records/kind=.../x.parquet'."""

    url: str
    fs: pafs.FileSystem
    root: str

    def path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def uri(self, key: str) -> str:
        """The location DuckDB and other engines use for a key or glob."""
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open_write(key) as out:
            out.write(data)

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        raise NotImplementedError
        yield  # pragma: no cover

    def open_input(self, key: str) -> BinaryIO:
        """The object's bytes as a stream, opened now: FileNotFoundError if it is not
        stored, StoreError if the store cannot be read. The caller closes it."""
        try:
            return self.fs.open_input_stream(self.path(key), compression=None)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreError(f"cannot read {key}: {exc}") from exc

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream:
            try:
                return stream.read()
            except FileNotFoundError:
                raise  # vanished mid-read (compaction, retention): the caller lists again
            except OSError as exc:
                raise StoreError(f"cannot read {key}: {exc}") from exc

    @contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        with self.open_input(key) as stream:
            yield stream

    def list(self, prefix: str, known: Mapping[str, ObjectInfo] | None = None) -> list[ObjectInfo]:
        """Every object under a key prefix (a folder), recursively; [] if there is none.
        `known` may hold what an earlier listing found of objects that are never rewritten
        (the inbox's: written once, then deleted): a store that must ask for each object's
        size and time apart from its name (local) reuses those."""
        # Not allow_not_found: S3 answers a missing bucket as pyarrow's "not found" too, and
        # a bucket deleted under runlake must read as a failing store, not an empty one.
        # A missing folder is FileNotFoundError; a missing bucket any other OSError.
        selector = pafs.FileSelector(self.path(prefix.rstrip("/")), recursive=True)
        try:
            infos = self.fs.get_file_info(selector)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {prefix}: {exc}") from exc
        start = len(self.root) + 1
        return [
            ObjectInfo(
                info.path[start:], info.size or 0, info.mtime.timestamp() if info.mtime else 0.0
            )
            for info in infos
            if info.type == pafs.FileType.File and not info.path.endswith(TMP_SUFFIX)
        ]

    def exists(self, key: str) -> bool:
        try:
            return self.fs.get_file_info(self.path(key)).type == pafs.FileType.File
        except OSError as exc:
            raise StoreError(f"cannot stat {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.fs.delete_file(self.path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot delete {key}: {exc}") from exc

    def delete_many(self, keys: list[str]) -> None:
        """Delete these objects (absent ones are fine). Raises StoreError."""
        for key in keys:
            self.delete(key)

    def check(self) -> None:
        """Raise StoreError unless the store answers a listing."""
        self.list("_runlake/_probe")

    def folder_stamp(self, prefix: str) -> FolderStamp | None:
        """What changes whenever an object is added to or removed from the folder `prefix`
        itself (not its subfolders), or None where the store has no such thing (S3, or no
        folder yet): the caller then lists."""
        return None


class LocalStore(Store):
    def __init__(self, directory: str, url: str | None = None) -> None:
        self.root = os.path.abspath(directory).rstrip("/") or "/"
        self.url = url or self.root
        self.fs = pafs.LocalFileSystem()

    def uri(self, key: str) -> str:
        return self.path(key)

    def folder_stamp(self, prefix: str) -> FolderStamp | None:
        """The directory's inode and modification time, which creating, renaming or
        deleting an entry in it moves to the current time, in the filesystem's steps: the
        kernel's tick (a few ms) where times have nanoseconds (ext4, xfs, tmpfs), else up
        to 2 s (FAT; ext3 and some network filesystems keep whole seconds)."""
        try:
            stat = os.stat(self.path(prefix.rstrip("/")))
        except OSError:
            return None
        fine = stat.st_mtime_ns % 1_000_000_000 != 0
        return FolderStamp((stat.st_ino, stat.st_mtime_ns), 0.05 if fine else 2.0)

    def list(self, prefix: str, known: Mapping[str, ObjectInfo] | None = None) -> list[ObjectInfo]:
        """As Store.list, with os.scandir: every query lists the inbox, and pyarrow's
        FileInfo objects (a datetime per mtime) made 4,039 inbox objects a 35 ms listing.
        Stat-ing each was most of the rest (25 ms); with the objects `known`, it is the
        names alone (~3 ms)."""
        known = known or {}
        start = len(self.root) + 1
        found: list[ObjectInfo] = []
        folders = [self.path(prefix.rstrip("/"))]
        try:
            while folders:
                try:
                    entries = os.scandir(folders.pop())
                except (FileNotFoundError, NotADirectoryError):
                    continue
                with entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(entry.path)
                        elif entry.is_file() and not entry.name.endswith(TMP_SUFFIX):
                            key = entry.path[start:]
                            info = known.get(key)
                            if info is None:
                                try:
                                    stat = entry.stat()
                                except FileNotFoundError:
                                    continue  # removed since it was listed (materialized)
                                info = ObjectInfo(key, stat.st_size, stat.st_mtime)
                            found.append(info)
        except OSError as exc:
            raise StoreError(f"cannot list {prefix}: {exc}") from exc
        return found

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        final = self.path(key)
        tmp = f"{final}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}"
        try:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            out = open(tmp, "wb")  # noqa: SIM115 - closed below, after fsync
        except OSError as exc:
            raise StoreError(f"cannot write {key}: {exc}") from exc
        try:
            yield out
            out.flush()
            os.fsync(out.fileno())
            out.close()
            os.replace(tmp, final)
            _fsync_dir(os.path.dirname(final))
        except BaseException as exc:
            out.close()
            _remove_quietly(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, StoreError):
                raise StoreError(f"cannot write {key}: {exc}") from exc
            raise

    def check(self) -> None:
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise StoreError(f"{self.root} is not a directory")
        parent = self.root if os.path.isdir(self.root) else os.path.dirname(self.root)
        if not os.access(parent, os.W_OK):
            raise StoreError(f"{parent} is not writable")


class S3Store(Store):
    def __init__(
        self, bucket: str, prefix: str, endpoint: str | None = None, region: str | None = None
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint
        self.region = (
            region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.root = f"{bucket}/{self.prefix}".rstrip("/")
        options: dict = {
            "region": self.region,
            "connect_timeout": 3,
            "request_timeout": 30,
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
        }
        if endpoint:
            parsed = urlparse(endpoint)
            options["endpoint_override"] = parsed.netloc or parsed.path
            options["scheme"] = parsed.scheme or "https"
            options["force_virtual_addressing"] = False
        self.fs = pafs.S3FileSystem(**options)

    def uri(self, key: str) -> str:
        return f"s3://{self.path(key)}"

    # DeleteObjects takes up to this many keys per request.
    DELETE_BATCH = 1000

    def delete_many(self, keys: list[str]) -> None:
        """One DeleteObjects request per thousand keys, instead of pyarrow's HEAD, DELETE and
        directory-marker PUT for each. Raises StoreError."""
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region)
        prefix = f"{self.prefix}/" if self.prefix else ""
        for start in range(0, len(keys), self.DELETE_BATCH):
            batch = [{"Key": prefix + key} for key in keys[start : start + self.DELETE_BATCH]]
            try:
                answer = client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except (BotoCoreError, ClientError) as exc:
                raise StoreError(f"cannot delete {len(batch)} objects: {exc}") from exc
            failed = [e for e in answer.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if failed:
                raise StoreError(
                    f"cannot delete {failed[0].get('Key')}: {failed[0].get('Message')}"
                )

    def write_bytes(self, key: str, data: bytes) -> None:
        try:
            with self.fs.open_output_stream(self.path(key), compression=None) as out:
                out.write(data)
        except OSError as exc:
            raise StoreError(f"cannot write {key}: {exc}") from exc

    @contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        """A stream of unknown length is spooled (to memory, then to a temporary file) and
        uploaded only once the caller's block succeeds: pyarrow's S3 stream cannot be
        aborted, and dropping it half-written would complete the upload with a partial
        object."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            yield spool
            spool.seek(0)
            try:
                with self.fs.open_output_stream(self.path(key), compression=None) as out:
                    # More than the part size becomes a multipart upload; the object exists
                    # only once the stream closes.
                    shutil.copyfileobj(spool, out, COPY_CHUNK_BYTES)
            except OSError as exc:
                raise StoreError(f"cannot write {key}: {exc}") from exc

    def check(self) -> None:
        try:
            info = self.fs.get_file_info(self.bucket)
        except OSError as exc:
            raise StoreError(f"cannot reach bucket {self.bucket}: {exc}") from exc
        if info.type != pafs.FileType.Directory:
            raise StoreError(f"bucket {self.bucket} does not exist")


def open_store(url: str, s3_endpoint: str | None = None) -> Store:
    """A Store for RUNLAKE_STORE's value: a directory, file:///abs/path or s3://bucket/prefix."""
    if not url:
        raise StoreURLError("the store URL is empty")
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StoreURLError(f"{url!r} names no bucket (expected s3://bucket/prefix)")
        return S3Store(parsed.netloc, parsed.path, endpoint=s3_endpoint)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise StoreURLError(f"{url!r}: file URLs take an absolute path (file:///path)")
        return LocalStore(parsed.path, url=url)
    if parsed.scheme and len(parsed.scheme) > 1:  # one letter would be a Windows drive
        raise StoreURLError(
            f"{url!r}: unsupported scheme {parsed.scheme!r} (use a directory, file:// or s3://)"
        )
    return LocalStore(url)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    with suppress(OSError):
        os.remove(path)
