"""Page tokens: one codec (`encode`/`decode`) for every paged answer, and the keyset of
`GET /v1/runs`: newest `created_at` first, `uid` breaking ties.

A token holds the last run shown (its created_at and uid), the absolute since/until of the
first page (so `since=24h` means the same window on every page), and a hash of the filters it
was made for. The next page continues strictly after that key, so runs that arrive between
requests never shift a page: nothing is skipped or shown twice. Runs without a created_at
sort last. The token is opaque to clients (base64url JSON) but carries nothing secret.
"""

from __future__ import annotations

import base64
import binascii
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


def fingerprint(value: Any) -> str:
    """A short digest of what a token is bound to (filters, order, ...)."""
    return hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()[:16]


def filters_hash(raw: Sequence[tuple[str, str]]) -> str:
    return fingerprint(list(raw))


def encode(body: dict[str, Any], bound_to: str) -> str:
    """An opaque page token: `body` (JSON values) and what it was made for, base64url JSON."""
    text = json.dumps({**body, "f": bound_to}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode(token: str, bound_to: str) -> dict[str, Any]:
    """The body of a token made by `encode` for `bound_to`; PageTokenError otherwise."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        made_for = body.pop("f")
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
        raise PageTokenError("page_token: not a token this service gave out") from None
    if made_for != bound_to:
        raise PageTokenError(
            "page_token: it belongs to a query with other filters; "
            "repeat the filters of the first page"
        )
    return body


def encode_token(key: PageKey, raw_filters: Sequence[tuple[str, str]]) -> str:
    return encode(
        {
            "c": _micros(key.created_at),
            "u": key.uid,
            "s": _micros(key.since),
            "e": _micros(key.until),
        },
        filters_hash(raw_filters),
    )


def decode_token(token: str, raw_filters: Sequence[tuple[str, str]]) -> PageKey:
    """Raises PageTokenError for a token this service did not make for these filters."""
    body = decode(token, filters_hash(raw_filters))
    try:
        return PageKey(
            from_micros(body["c"]), _text(body["u"]), from_micros(body["s"]), from_micros(body["e"])
        )
    except (ValueError, TypeError, KeyError, OverflowError):
        raise PageTokenError("page_token: not a token this service gave out") from None


def after_sql(key: PageKey) -> tuple[str, list[Any]]:
    """The condition for rows strictly after `key` in ORDER_SQL order."""
    if key.created_at is None:
        return "(created_at IS NULL AND uid < ?)", [key.uid]
    return (
        "(created_at < ? OR (created_at = ? AND uid < ?) OR created_at IS NULL)",
        [key.created_at, key.created_at, key.uid],
    )


def _micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: Any) -> datetime | None:
    """The moment `value` microseconds after the epoch (UTC); None for None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not microseconds")
    return _EPOCH + timedelta(microseconds=value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value
