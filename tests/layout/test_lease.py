"""The writer's lease: one holder per store, taken over only once it expired (S3) or its
holder died (local), handed over when asked."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from layout.lease import Lease, LeaseLost


def test_lease_one_holder_at_a_time(store):
    first, second = Lease(store, "materialize"), Lease(store, "compact")
    assert first.acquire()
    assert not second.acquire()
    assert second.holder().owner == first.owner
    first.release()
    assert second.acquire()
    assert not first.acquire()
    second.release()


def test_lease_expired_one_is_taken_over_and_its_holder_learns_it(s3_store):
    stale = Lease(s3_store, "materialize", ttl_s=1.0)
    assert stale.acquire()
    fresh = Lease(s3_store, "materialize")
    assert not fresh.acquire()
    time.sleep(1.1)  # the holder stalled past its lease (a shorter TTL is a race under load)
    assert fresh.acquire()
    with pytest.raises(LeaseLost):
        stale.renew()  # its next commit would be refused: it must stop
    fresh.renew()
    fresh.release()


def test_lease_local_holder_that_dies_frees_it(local_store):
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from layout.store import LocalStore; from layout.lease import Lease;"
        "lease = Lease(LocalStore(sys.argv[2]), 'materialize'); assert lease.acquire();"
        "print('held', flush=True); time.sleep(60)"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = subprocess.Popen(
        [sys.executable, "-c", code, root, local_store.root], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        assert not Lease(local_store, "compact").acquire()
        child.kill()  # SIGKILL: no release, the kernel drops the lock
        child.wait(10)
        assert Lease(local_store, "compact").acquire(wait_s=5)
    finally:
        child.kill()


def test_lease_request_makes_the_holder_hand_over(store):
    holder, asker = Lease(store, "materialize"), Lease(store, "compact")
    assert holder.acquire()
    assert not holder.wanted_by_other()
    asker._request()  # what acquire(wait_s=...) writes while it waits
    assert holder.wanted_by_other()
    holder.release()
    assert asker.acquire()
    assert not asker.wanted_by_other()  # its own request does not count against it
    asker.release()
