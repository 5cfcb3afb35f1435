"""Who may send to ingest: RUNLAKE_INGEST_TOKENS."""

from __future__ import annotations


def parse_tokens(value: str | None) -> tuple[str, ...]:
    """RUNLAKE_INGEST_TOKENS: comma-separated; unset or empty means the endpoint is open."""
    return tuple(t.strip() for t in (value or "").split(",") if t.strip())
