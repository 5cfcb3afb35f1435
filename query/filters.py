"""The filters of `GET /v1/runs`, `GET /v1/summary` and `runlake runs|summary`: parsed from
request parameters into a parameterized SQL WHERE clause and the date partitions it needs.

Pure logic: no I/O. Every problem is collected, so one 400 lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from layout.schema import KINDS, STATUSES
from layout.units import parse_moment
from query.scope import Readable
from query.views import Partitions

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Parameters every filtered endpoint takes; `token` is authentication, not a filter.
FILTER_PARAMS = (
    "cluster",
    "namespace",
    "kind",
    "status",
    "pipeline",
    "task",
    "pipeline_run",
    "label",
    "since",
    "until",
    "q",
)
PAGE_PARAMS = ("page_size", "page_token")
_IGNORED = ("token",)
_REPEATABLE = ("cluster", "namespace", "kind", "status", "label")

_KIND_NAMES = {k.lower(): k for k in KINDS} | {v: k for k, v in KINDS.items()}
_STATUS_NAMES = {s.lower(): s for s in STATUSES}


class FilterError(ValueError):
    """Bad filter parameters; `.errors` lists each problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Filters:
    clusters: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    pipeline: str | None = None
    task: str | None = None
    pipeline_run: str | None = None
    labels: list[tuple[str, str | None]] = field(default_factory=list)  # (key, value or any)
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: str | None = None
    # The filter parameters as given, for binding a page token to its query.
    raw: tuple[tuple[str, str], ...] = ()

    def where(self, readable: Readable | None = None) -> tuple[str, list[Any]]:
        """A WHERE condition over the `runs` columns (never empty: `true` for no filter)
        and its parameters. `readable` (the reader's) confines every answer."""
        terms: list[str] = []
        params: list[Any] = []
        if readable is not None:
            terms.append(readable.sql())
        for column, values in (
            ("cluster", self.clusters),
            ("namespace", self.namespaces),
            ("kind", self.kinds),
            ("status", self.statuses),
        ):
            if values:
                terms.append(f"list_contains(?::VARCHAR[], {column})")
                params.append(values)
        if self.since is not None:
            terms.append("created_at >= ?")
            params.append(self.since)
        if self.until is not None:
            terms.append("created_at < ?")
            params.append(self.until)
        if self.q:
            terms.append("contains(lower(name), ?)")
            params.append(self.q.lower())
        for column in ("pipeline", "task", "pipeline_run"):
            value = getattr(self, column)
            if value is not None:
                terms.append(f"{column} = ?")
                params.append(value)
        for key, value in self.labels:
            if value is None:
                terms.append("map_contains(labels, ?)")
                params.append(key)
            else:
                terms.append("labels[?] = ?")
                params += [key, value]
        return " AND ".join(terms) or "true", params

    def partitions(self) -> Partitions | None:
        """The (kind, date) partitions that can hold a matching run, or None for all of them
        (no kind and no time bound). Dates are the UTC dates of created_at, as the layout's."""
        if not self.kinds and self.since is None and self.until is None:
            return None
        kinds = tuple(self.kinds or KINDS)
        first = self.since.astimezone(UTC).date() if self.since else None
        # `until` is exclusive: a bound at midnight needs nothing of that day.
        last = (
            (self.until - timedelta(microseconds=1)).astimezone(UTC).date() if self.until else None
        )
        return Partitions(kinds, first, last)


def parse_filters(
    args: Iterable[tuple[str, str]] | Mapping[str, Any],
    *,
    now: datetime | None = None,
    paged: bool = True,
    extra: Iterable[str] = (),
) -> Filters:
    """Filters from parameters: (name, value) pairs, or a mapping of name to a value or a list
    of values. Raises FilterError listing every problem. `since` and `until` are moments
    (layout.units): RFC 3339, or a duration counting back from `now`."""
    pairs = _pairs(args)
    now = now or datetime.now(UTC)
    known = set(FILTER_PARAMS) | set(_IGNORED) | set(extra) | (set(PAGE_PARAMS) if paged else set())
    problems: list[str] = []
    seen: dict[str, list[str]] = {}
    for name, value in pairs:
        if not value.strip() and name in known:
            continue  # an empty form field means no filter, as an empty setting means unset
        if name not in known:
            problems.append(f"{name}: not a parameter; use {', '.join(_listed(paged, extra))}")
            continue
        seen.setdefault(name, []).append(value)
    for name, values in seen.items():
        if len(values) > 1 and name not in _REPEATABLE:
            problems.append(f"{name}: given {len(values)} times; give it once")

    filters = Filters()
    filters.clusters.extend(seen.get("cluster", []))
    filters.namespaces.extend(seen.get("namespace", []))
    for value in seen.get("kind", []):
        kind = _KIND_NAMES.get(value.lower())
        if kind is None:
            problems.append(f"kind: {value!r} is not one of {', '.join(KINDS)}")
        else:
            filters.kinds.append(kind)
    for value in seen.get("status", []):
        status = _STATUS_NAMES.get(value.lower())
        if status is None:
            problems.append(f"status: {value!r} is not one of {', '.join(STATUSES)}")
        else:
            filters.statuses.append(status)
    for name in ("pipeline", "task", "pipeline_run", "q"):
        if name in seen:
            setattr(filters, name, seen[name][0])
    for value in seen.get("label", []):
        key, sep, label_value = value.partition("=")
        if not key:
            problems.append(f"label: {value!r} is not key=value (or key, for any value)")
        else:
            filters.labels.append((key, label_value if sep else None))
    for name in ("since", "until"):
        if name in seen:
            try:
                setattr(filters, name, parse_moment(seen[name][0], now))
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    if filters.since and filters.until and filters.since >= filters.until:
        problems.append("since: must be earlier than until")
    if paged:
        if "page_size" in seen:
            text = seen["page_size"][0]
            if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
                problems.append(f"page_size: {text!r} is not an integer from 1 to {MAX_PAGE_SIZE}")
            else:
                filters.page_size = int(text)
        if "page_token" in seen:
            filters.page_token = seen["page_token"][0] or None
    if problems:
        raise FilterError(problems)
    filters.raw = tuple(
        sorted(
            (name, value)
            for name, values in seen.items()
            if name in FILTER_PARAMS
            for value in values
        )
    )
    return filters


def _pairs(args: Iterable[tuple[str, str]] | Mapping[str, Any]) -> list[tuple[str, str]]:
    if isinstance(args, Mapping):
        pairs = []
        for name, value in args.items():
            for one in value if isinstance(value, (list, tuple)) else [value]:
                if one is not None:
                    pairs.append((name, str(one)))
        return pairs
    return [(name, value) for name, value in args]


def _listed(paged: bool, extra: Iterable[str]) -> list[str]:
    return [*extra, *FILTER_PARAMS, *(PAGE_PARAMS if paged else ())]
