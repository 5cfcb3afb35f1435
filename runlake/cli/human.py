"""Values as a person reads them in a table: `3m 05s`, `88.2 %`, `2026-11-25 21:10:03 UTC`,
`5d`. JSON and CSV never go through here: they stay exact.

The web page writes the same values the same way (query/http/static/format.js).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from layout.schema import FINISHED_STATUSES, RUNNING

# A run not heard of for longer than Tekton's default timeout (1h) may have ended long ago
# without its last event reaching the archive: it is shown by when it was last seen, never as
# running for ever longer.
STALE_AFTER = timedelta(hours=1)


def duration(seconds: float | None) -> str:
    """0.4 -> "400 ms", 7 -> "7.0s", 42 -> "42s", 185 -> "3m 05s", 3725 -> "1h 02m",
    180000 -> "2d 02h"; None -> ""."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{round(seconds)}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600:02d}h"


def parse_moment(value: str | None) -> datetime | None:
    """An RFC 3339 value as the read core answers it (`...Z`), or None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def moment(value: str | None) -> str:
    """As `2026-11-25 21:10:03 UTC`: one zone for a team spread over several, whole seconds."""
    parsed = parse_moment(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if parsed else ""


def age(value: str | None, now: datetime) -> str:
    """How long ago, as kubectl's AGE column writes it: 45s, 5m, 3h, 12d, 2y."""
    parsed = parse_moment(value)
    if parsed is None:
        return ""
    seconds = max(0, int((now - parsed).total_seconds()))
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit == "y" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def percent(fraction: float | None) -> str:
    return "" if fraction is None else f"{fraction * 100:.1f} %"


def status(run: dict[str, Any]) -> str:
    """`Failed`, or `Failed(TaskRunTimeout)` when the reason says more, as tkn shows it."""
    value, reason = run.get("status") or "", run.get("reason") or ""
    return f"{value}({reason})" if reason and reason != value else value


def progress(run: dict[str, Any], now: datetime) -> str:
    """A finished run's duration; a running one's time so far; nothing for one not running
    yet. A run not heard of for STALE_AFTER shows when it was last seen (its latest
    snapshot's receipt) instead: it may have ended long ago."""
    if run.get("status") in FINISHED_STATUSES or run.get("duration_seconds") is not None:
        return duration(run.get("duration_seconds"))
    last_seen = parse_moment(run.get("received_at"))
    if last_seen is not None and now - last_seen > STALE_AFTER:
        return f"last seen {age(run['received_at'], now)} ago"
    started = parse_moment(run.get("started_at"))
    if run.get("status") != RUNNING or started is None:
        return ""
    return f"running {duration((now - started).total_seconds())}"


def number(value: Any) -> str:
    """An SQL value in a table cell: floats to three decimals, the rest as text."""
    if isinstance(value, float) and math.isfinite(value):
        text = f"{value:.3f}".rstrip("0").rstrip(".")
        return text if text not in ("0", "-0") or value == 0 else f"{value:.3g}"
    return str(value)
