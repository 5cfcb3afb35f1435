"""Step logs in the store: written streaming, read back byte for byte, listed with sizes."""

from __future__ import annotations

import gzip
import io

import pytest

from layout.keys import InvalidKeyPart
from layout.logs import InvalidLog, list_logs, read_log, write_log
from layout.store import LocalStore

TEXT = "héllo \x1b[31mred\x1b[0m 日本語\nno newline at the end".encode()


def _text(store, key: str) -> bytes:
    return b"".join(read_log(store, key))


@pytest.mark.parametrize("body", [TEXT, b"", b"x" * 300_000], ids=["unicode", "empty", "300k"])
def test_logs_round_trip_byte_for_byte(store, body):
    stored = write_log(store, "ci", "uid-1", "build", io.BytesIO(body).read)
    assert stored.key == "logs/ci/uid-1/build.log.gz" and stored.size_bytes == len(body)
    assert _text(store, stored.key) == body
    assert gzip.decompress(store.read_bytes(stored.key)) == body  # any gzip tool reads it


def test_logs_gzip_upload_is_stored_as_its_text(local_store):
    two_members = gzip.compress(b"first\n") + gzip.compress(TEXT)
    stored = write_log(local_store, "ci", "u", "s", io.BytesIO(two_members).read, gzipped=True)
    assert _text(local_store, stored.key) == b"first\n" + TEXT
    assert stored.size_bytes == len(b"first\n" + TEXT)


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(TEXT * 100)[:-12], b""],
    ids=["garbage", "truncated", "empty"],
)
def test_logs_invalid_gzip_stores_nothing_and_keeps_the_old_log(store, body):
    write_log(store, "ci", "u", "s", io.BytesIO(b"old\n").read)
    with pytest.raises(InvalidLog):
        write_log(store, "ci", "u", "s", io.BytesIO(body).read, gzipped=True)
    assert _text(store, "logs/ci/u/s.log.gz") == b"old\n"
    assert [info.key for info in store.list("logs/")] == ["logs/ci/u/s.log.gz"]


def test_logs_upload_failing_midway_leaves_no_object_on_s3(s3_store):
    chunks = iter([b"a" * 70_000, b"b" * 70_000])

    def read(_n: int) -> bytes:
        chunk = next(chunks, None)
        if chunk is None:
            raise ConnectionResetError("client went away")
        return chunk

    with pytest.raises(ConnectionResetError):
        write_log(s3_store, "ci", "u", "s", read)
    assert s3_store.list("logs/") == []


def test_logs_bad_names_are_refused_before_reading(local_store):
    def read(_n: int) -> bytes:
        raise AssertionError("the body must not be read")

    for namespace, uid, step in [
        ("..", "u", "s"),
        ("ci", "a/b", "s"),
        ("Ci", "u", "s"),
        ("ci", "u", "ｓtep"),
        ("ci", "u", "-s"),
        ("ci", "u" * 64, "s"),
    ]:
        with pytest.raises(InvalidKeyPart):
            write_log(local_store, namespace, uid, step, read)
    assert local_store.list("") == []


def test_logs_repeat_replaces(store):
    write_log(store, "ci", "u", "s", io.BytesIO(b"first try, much longer\n").read)
    write_log(store, "ci", "u", "s", io.BytesIO(b"second\n").read)
    assert _text(store, "logs/ci/u/s.log.gz") == b"second\n"
    assert [(log.step, log.size_bytes) for log in list_logs(store)] == [("s", 7)]


def test_logs_listing_gives_text_sizes_by_run_and_namespace(store):
    write_log(store, "ci", "u1", "build", io.BytesIO(TEXT).read)
    write_log(store, "ci", "u1", "test", io.BytesIO(b"").read)
    write_log(store, "other", "u2", "build", io.BytesIO(b"x" * 1000).read)
    store.write_bytes("logs/ci/u1/stray.txt", b"not a log")
    everything = list_logs(store)
    assert [(log.namespace, log.uid, log.step, log.size_bytes) for log in everything] == [
        ("ci", "u1", "build", len(TEXT)),
        ("ci", "u1", "test", 0),
        ("other", "u2", "build", 1000),
    ]
    assert [log.step for log in list_logs(store, "ci", "u1")] == ["build", "test"]
    assert [log.uid for log in list_logs(store, "other")] == ["u2"]


def test_logs_listing_remembers_sizes_it_has_read(local_store: LocalStore):
    write_log(local_store, "ci", "u", "s", io.BytesIO(b"12345").read)
    cache: dict = {}
    assert list_logs(local_store, cache=cache)[0].size_bytes == 5
    assert list(cache.values()) == [5]
    write_log(local_store, "ci", "u", "s", io.BytesIO(b"1234567890").read)  # new size, new entry
    assert list_logs(local_store, cache=cache)[0].size_bytes == 10
