"""The writer's lease: one process at a time commits to a store's tables.

The materializer, compaction and retention all commit to the Delta tables; Delta's own
conditional commit already keeps two committers from taking one version, but a second writer
would only waste work and fail its commits. So a writer first takes the lease object
`_runlake/lease.json` and renews it while it works:

- On S3 the lease is taken by a conditional write: `If-None-Match: *` creates it, and an
  expired lease is taken over with `If-Match: <its ETag>`, so of two processes racing for it
  exactly one succeeds. Renewing is another `If-Match` write; a writer whose renewal fails has
  lost the lease and must stop committing. AWS S3 honours both conditions (since 2024), and so
  does the moto server the tests use.
- On a local store the lease is an exclusive `flock` on `_runlake/lease.lock`: the kernel
  releases it when the process dies, so it never needs to expire. `lease.json` is still
  written, for people and metrics to read who holds it.

A writer that wants the lease while another holds it writes `_runlake/lease-wanted.json`; the
holder gives the lease up at the end of its cycle and stays away while that request is fresh,
so `runlake compact` gets its turn beside a long-running materializer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

from layout.store import LocalStore, S3Store, Store, StoreError

LEASE_KEY = "_runlake/lease.json"
LOCK_KEY = "_runlake/lease.lock"
WANTED_KEY = "_runlake/lease-wanted.json"
DEFAULT_TTL_S = 60.0
# A request to hand the lease over counts this long after it was written.
WANTED_TTL_S = 120.0


class LeaseLost(StoreError):
    """Another writer holds the lease now: stop committing (the work is retried later)."""


@dataclass(frozen=True)
class Holder:
    owner: str
    purpose: str
    expires_at: float

    @property
    def expired(self) -> bool:
        return self.expires_at < time.time()


def new_owner(purpose: str) -> str:
    host = socket.gethostname().split(".")[0][:40] or "host"
    return f"{host}-{os.getpid()}-{purpose}-{secrets.token_hex(4)}"


class Lease:
    """`with Lease(store, "materialize").hold(wait_s=...):` or acquire/renew/release."""

    def __init__(self, store: Store, purpose: str, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.store = store
        self.purpose = purpose
        self.owner = new_owner(purpose)
        self.ttl_s = ttl_s
        self.held = False
        self._etag: str | None = None
        self._lock_file: Any = None
        self._client: Any = None

    # -- public -----------------------------------------------------------------------

    def acquire(self, wait_s: float = 0.0, poll_s: float = 0.5) -> bool:
        """Take the lease, waiting up to `wait_s` (asking the holder to hand it over).
        True when held. Raises StoreError when the store cannot be reached."""
        deadline = time.monotonic() + wait_s
        asked = False
        while True:
            if self._try_acquire():
                if asked:
                    self._withdraw_request()
                return True
            if time.monotonic() >= deadline:
                if asked:
                    self._withdraw_request()
                return False
            if not asked:
                self._request()
                asked = True
            time.sleep(poll_s)

    def renew(self) -> None:
        """Extend the lease; raises LeaseLost when another writer has taken it."""
        if not self.held:
            raise LeaseLost("the lease is not held")
        if isinstance(self.store, S3Store):
            if not self._put(if_match=self._etag):
                self.held = False
                raise LeaseLost(f"{LEASE_KEY} was taken over by another writer")
        else:
            self._write_local_record()

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            if isinstance(self.store, S3Store):
                # Written as expired rather than deleted: the next writer takes it over with
                # If-Match, the same way as an abandoned one.
                self._put(if_match=self._etag, expires_at=0.0)
            else:
                self._write_local_record(expires_at=0.0)
        finally:
            self._etag = None
            if self._lock_file is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
                self._lock_file = None

    @contextlib.contextmanager
    def hold(self, wait_s: float = 0.0):
        if not self.acquire(wait_s):
            holder = self.holder()
            who = f" by {holder.owner} ({holder.purpose})" if holder else ""
            raise StoreError(f"the store's writer lease is held{who}; try again later")
        try:
            yield self
        finally:
            self.release()

    def holder(self) -> Holder | None:
        """Who holds (or last held) the lease, as its object says."""
        record = self._read_json(LEASE_KEY)
        if record is None:
            return None
        try:
            return Holder(
                str(record["owner"]), str(record.get("purpose", "")), float(record["expires_at"])
            )
        except (KeyError, TypeError, ValueError):
            return None

    def wanted_by_other(self) -> bool:
        """Another writer asked for the lease recently: the holder should hand it over."""
        request = self._read_json(WANTED_KEY)
        if not request or request.get("owner") == self.owner:
            return False
        return float(request.get("at", 0)) > time.time() - WANTED_TTL_S

    # -- taking it --------------------------------------------------------------------

    def _try_acquire(self) -> bool:
        if isinstance(self.store, S3Store):
            return self._try_acquire_s3()
        return self._try_acquire_local()

    def _try_acquire_local(self) -> bool:
        assert isinstance(self.store, LocalStore)
        path = self.store.path(LOCK_KEY)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle = open(path, "a+")  # noqa: SIM115 - held open while the lease is held
        except OSError as exc:
            raise StoreError(f"cannot open {LOCK_KEY}: {exc}") from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        self.held = True
        self._write_local_record()
        return True

    def _try_acquire_s3(self) -> bool:
        if self._put(if_none_match=True):
            return True
        current, etag = self._read_with_etag()
        if current is None:  # released and deleted meanwhile: try creating again next time
            return False
        try:
            expired = float(current.get("expires_at", 0)) < time.time()
        except (TypeError, ValueError):
            expired = True
        return expired and self._put(if_match=etag)

    # -- S3 ---------------------------------------------------------------------------

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            assert isinstance(self.store, S3Store)
            self._client = boto3.client(
                "s3", endpoint_url=self.store.endpoint, region_name=self.store.region
            )
        return self._client

    def _s3_key(self, key: str) -> tuple[str, str]:
        assert isinstance(self.store, S3Store)
        prefix = f"{self.store.prefix}/" if self.store.prefix else ""
        return self.store.bucket, prefix + key

    def _record(self, expires_at: float | None = None) -> bytes:
        return json.dumps(
            {
                "owner": self.owner,
                "purpose": self.purpose,
                "expires_at": time.time() + self.ttl_s if expires_at is None else expires_at,
                "renewed_at": time.time(),
            }
        ).encode()

    def _put(
        self,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        expires_at: float | None = None,
    ) -> bool:
        """One conditional write of the lease; False when the condition failed."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = self._s3_key(LEASE_KEY)
        conditions: dict[str, str] = {}
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        if if_match is not None:
            conditions["IfMatch"] = if_match
        try:
            answer = self._s3().put_object(
                Bucket=bucket,
                Key=key,
                Body=self._record(expires_at),
                ContentType="application/json",
                **conditions,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            # NoSuchKey: an If-Match write of a lease someone deleted: not ours any more.
            if code in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
                "412",
                "409",
                "NoSuchKey",
                "404",
            ):
                return False
            raise StoreError(f"cannot write {LEASE_KEY}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"cannot write {LEASE_KEY}: {exc}") from exc
        self._etag = answer["ETag"]
        self.held = expires_at != 0.0
        return True

    def _read_with_etag(self) -> tuple[dict | None, str | None]:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = self._s3_key(LEASE_KEY)
        try:
            answer = self._s3().get_object(Bucket=bucket, Key=key)
            body = answer["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise StoreError(f"cannot read {LEASE_KEY}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"cannot read {LEASE_KEY}: {exc}") from exc
        try:
            return json.loads(body), answer["ETag"]
        except ValueError:
            return {}, answer["ETag"]  # unreadable: treated as expired

    # -- both -------------------------------------------------------------------------

    def _write_local_record(self, expires_at: float | None = None) -> None:
        self.store.write_bytes(LEASE_KEY, self._record(expires_at))

    def _read_json(self, key: str) -> dict | None:
        try:
            value = json.loads(self.store.read_bytes(key))
        except FileNotFoundError:
            return None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _request(self) -> None:
        self.store.write_bytes(
            WANTED_KEY,
            json.dumps({"owner": self.owner, "purpose": self.purpose, "at": time.time()}).encode(),
        )

    def _withdraw_request(self) -> None:
        request = self._read_json(WANTED_KEY)
        if request and request.get("owner") == self.owner:
            self.store.delete(WANTED_KEY)
