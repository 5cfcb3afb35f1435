"""Page tokens: opaque, bound to their filters, and stable while runs keep arriving."""

from __future__ import annotations

from datetime import timedelta

import pytest

from layout.inbox import write_inbox
from query.engine import Engine
from query.filters import parse_filters
from query.paging import PageKey, PageTokenError, decode_token, encode_token
from query.runs import list_runs
from tests.helpers.rows import T0, row
from tests.helpers.stages import materialize

RAW = (("namespace", "ci"),)


def test_paging_token_round_trip():
    key = PageKey(T0, "abc", T0 - timedelta(days=1), None)
    assert decode_token(encode_token(key, RAW), RAW) == key
    nulls = PageKey(None, "x")
    assert decode_token(encode_token(nulls, RAW), RAW) == nulls


@pytest.mark.parametrize("token", ["", "garbage", "eyJ4IjoxfQ", "e30", "bnVsbA"])
def test_paging_token_malformed_is_refused(token):
    with pytest.raises(PageTokenError, match="not a token"):
        decode_token(token, RAW)


def test_paging_token_of_other_filters_is_refused():
    token = encode_token(PageKey(T0, "abc"), RAW)
    with pytest.raises(PageTokenError, match="other filters"):
        decode_token(token, (("namespace", "prod"),))


def _all_pages(engine, args, page_size, between=None):
    seen, token, pages = [], None, 0
    while True:
        params = {**args, "page_size": str(page_size)}
        if token:
            params["page_token"] = token
        page, token = list_runs(engine, parse_filters(params), None)
        seen += [r["uid"] for r in page]
        pages += 1
        if token is None:
            return seen, pages
        if between:
            between(pages)


def test_paging_10000_runs_each_exactly_once(local_store):
    # Many runs share a created_at, so the uid tiebreak decides page boundaries.
    rows = [
        row(
            f"u{n:05d}",
            created_at=T0 - timedelta(seconds=n // 7),
            namespace="ci" if n % 3 else "other",
        )
        for n in range(10_000)
    ]
    write_inbox(local_store, rows)
    engine = Engine(local_store)
    seen, pages = _all_pages(engine, {}, 1000)
    assert pages == 10 and len(seen) == 10_000 and set(seen) == {r["uid"] for r in rows}
    ci, _ = _all_pages(engine, {"namespace": "ci"}, 777)
    assert sorted(ci) == sorted(r["uid"] for r in rows if r["namespace"] == "ci")
    assert len(ci) == len(set(ci))


def test_paging_stable_while_new_runs_arrive(local_store):
    write_inbox(
        local_store, [row(f"old{n:03d}", created_at=T0 - timedelta(minutes=n)) for n in range(95)]
    )
    write_inbox(local_store, [row("nocreated", created_at=None)])
    engine = Engine(local_store)
    arrived = []

    def more_runs(page: int) -> None:
        # Newer runs, runs at the very moment of a page boundary, later snapshots of runs
        # already shown, and an import of old runs: none may shift the pages.
        fresh = [
            row(f"new{page}-{n}", created_at=T0 + timedelta(minutes=page, seconds=n))
            for n in range(5)
        ]
        fresh.append(
            row(
                f"old{page * 10:03d}",
                status="Succeeded",
                resource_version="9",
                created_at=T0 - timedelta(minutes=page * 10),
            )
        )
        fresh.append(row(f"zzlate{page}", created_at=T0 - timedelta(minutes=10 * page + 5)))
        arrived.extend(r["uid"] for r in fresh)
        write_inbox(local_store, fresh)

    seen, pages = _all_pages(engine, {}, 10, between=more_runs)
    assert pages >= 10
    assert len(seen) == len(set(seen)), "a run was shown twice"
    first_page_time = {f"old{n:03d}" for n in range(95)} | {"nocreated"}
    assert first_page_time <= set(seen), "a run that existed from the start was skipped"
    assert seen[-1] == "nocreated"  # runs without created_at come last
    # New runs created after the first page's key never appear behind it.
    assert not [uid for uid in seen if uid.startswith("new")]


@pytest.mark.parametrize("stored", ["inbox", "tables"])
@pytest.mark.parametrize("received_days_ago", [0, 3, 20, 60])
def test_paging_a_run_without_created_at_comes_last_wherever_it_is_stored(
    local_store, stored, received_days_ago
):
    # Dated runs over 40 days, so a page's newest-days-first reads take several steps; the
    # undated run is stored in the partition of the day it was received, and still sorts
    # after every dated run.
    dated = [row(f"d{n:02d}", created_at=T0 - timedelta(hours=16 * n)) for n in range(60)]
    undated = row("nocreated", created_at=None, received_at=-timedelta(days=received_days_ago))
    write_inbox(local_store, [*dated, undated])
    if stored == "tables":
        materialize(local_store)
    seen, pages = _all_pages(Engine(local_store), {}, 7)
    assert seen == [r["uid"] for r in dated] + ["nocreated"]
    assert pages == 9
