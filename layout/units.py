"""The units every flag, query parameter, schedule input and policy file is written in:
durations, sizes and moments. One parser each, so the same text means the same everywhere.

Durations: a non-negative number, decimals allowed, and a unit: `90s`, `10m`, `1.5h`, `7d`,
`2w`; whitespace around it is ignored. A bare number is days (`7`, or a YAML/JSON number),
as Tekton Results reads `maxRetention: 30` and `defaultRetention: 30`, so its policy files
carry over unchanged.

Sizes: bytes, or a number with a decimal (`64MB`) or binary (`128MiB`) unit.

Moments: RFC 3339 (`2026-03-01T12:00:00Z`; a bare date is its UTC midnight; a time without a
zone is refused), or a duration back from now (`24h`, `7d`).

Every parser raises ValueError with one line naming the accepted forms.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

DURATION_FORMS = "90s, 10m, 1.5h, 7d, 2w, or a bare number of days"
SIZE_FORMS = "500000 (bytes), 64MB, 128MiB or 1GiB"
MOMENT_FORMS = "2026-03-01T12:00:00Z, 2026-03-01, or a duration back from now: 24h, 7d, 2w, 7"

# Long enough for any retention, short enough that `now - duration` is still a datetime.
MAX_DURATION = timedelta(days=365_000)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?", re.IGNORECASE)
_BYTES = {
    "": 1,
    "k": 1000,
    "m": 1000**2,
    "g": 1000**3,
    "t": 1000**4,
    "ki": 1024,
    "mi": 1024**2,
    "gi": 1024**3,
    "ti": 1024**4,
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_duration(value: str | int | float) -> timedelta:
    """A duration from text (`1.5h`, `7d`, `7`) or a number of days (a YAML or JSON number).
    Raises ValueError for anything else, including booleans and negative numbers."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"not a duration: {value!r} (write {DURATION_FORMS})")
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if not match:
            raise ValueError(f"not a duration: {value!r} (write {DURATION_FORMS})")
        seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    else:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"not a duration: {value!r} (write {DURATION_FORMS})")
        seconds = float(value) * _SECONDS[""]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {value!r} is too long (at most {MAX_DURATION.days}d)")
    return timedelta(seconds=seconds)


def parse_size(value: str | int) -> int:
    """A number of bytes from `500000`, `64MB`, `128MiB` or `1GiB` (any case, a space before
    the unit allowed). Raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r} (write {SIZE_FORMS})")
    match = _SIZE.fullmatch(str(value).strip())
    if not match:
        raise ValueError(f"not a size: {value!r} (write {SIZE_FORMS})")
    unit = (match.group(2) or "").lower().removesuffix("b")
    size = float(match.group(1)) * _BYTES[unit]
    if not math.isfinite(size):
        raise ValueError(f"size {value!r} is too large")
    return int(size)


def parse_moment(text: str, now: datetime) -> datetime:
    """An aware UTC datetime from RFC 3339 text, a bare date (its UTC midnight) or a duration
    back from `now`. Raises ValueError otherwise."""
    text = text.strip() if isinstance(text, str) else text
    if not isinstance(text, str) or not text:
        raise ValueError(f"not a time: {text!r} (write {MOMENT_FORMS})")
    if _DURATION.fullmatch(text):
        return now - parse_duration(text)
    try:
        if _DATE.fullmatch(text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        if "T" not in text.upper() and " " not in text:
            raise ValueError
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (write {MOMENT_FORMS})") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; end it with Z or +HH:MM")
    return moment.astimezone(UTC)
