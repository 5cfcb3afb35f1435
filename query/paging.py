"""Keyset page tokens for `GET /v1/runs`: newest `created_at` first, `uid` breaking ties.

A token holds the last run shown (its created_at and uid), the absolute since/until of the
first page (so `since=24h` means the same window on every page), and a hash of the filters it
was made for. The next page continues strictly after that key, so runs that arrive between
requests never shift a page: nothing is skipped or shown twice. Runs without a created_at
sort last. The token is opaque to clients (base64url JSON) but carries nothing secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ORDER_SQL = "created_at DESC NULLS LAST, uid DESC"


class PageTokenError(ValueError):
    """A page_token that is malformed or belongs to other filters."""


@dataclass(frozen=True)
class PageKey:
    created_at: datetime | None
    uid: str
    since: datetime | None = None
    until: datetime | None = None


def filters_hash(raw: Sequence[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(list(raw)).encode()).hexdigest()[:16]


def encode_token(key: PageKey, raw_filters: Sequence[tuple[str, str]]) -> str:
    body = {"c": _micros(key.created_at), "u": key.uid, "s": _micros(key.since),
            "e": _micros(key.until), "f": filters_hash(raw_filters)}
    text = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_token(token: str, raw_filters: Sequence[tuple[str, str]]) -> PageKey:
    """Raises PageTokenError for a token this service did not make for these filters."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key = PageKey(_moment(body["c"]), _text(body["u"]), _moment(body["s"]),
                      _moment(body["e"]))
        made_for = body["f"]
    except (ValueError, TypeError, KeyError, OverflowError):
        raise PageTokenError("page_token: not a token this service gave out") from None
    if made_for != filters_hash(raw_filters):
        raise PageTokenError("page_token: it belongs to a query with other filters; "
                             "repeat the filters of the first page")
    return key


def after_sql(key: PageKey) -> tuple[str, list[Any]]:
    """The condition for rows strictly after `key` in ORDER_SQL order."""
    if key.created_at is None:
        return "(created_at IS NULL AND uid < ?)", [key.uid]
    return ("(created_at < ? OR (created_at = ? AND uid < ?) OR created_at IS NULL)",
            [key.created_at, key.created_at, key.uid])


def _micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not microseconds")
    return _EPOCH + timedelta(microseconds=value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value
