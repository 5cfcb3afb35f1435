"""The duration grammar's cases (layout.units), shared by the parser's tests and by the test
of every place a duration is written (flags, query parameters, a policy file, the lifecycle
schedule's input), so that a caller that parses on its own fails a test."""

from __future__ import annotations

from datetime import timedelta

# (text, what it means)
DURATIONS = [
    ("0s", timedelta(0)),
    ("90s", timedelta(seconds=90)),
    ("10m", timedelta(minutes=10)),
    ("1.5h", timedelta(minutes=90)),
    ("24h", timedelta(days=1)),
    ("7d", timedelta(days=7)),
    ("2w", timedelta(days=14)),
    ("7", timedelta(days=7)),  # a bare number is days, as in Tekton Results' policies
    ("0.5", timedelta(hours=12)),
    (" 7d ", timedelta(days=7)),
    ("365000d", timedelta(days=365_000)),  # the longest there is
]

# Refused everywhere, each with a ValueError (a 400, exit 2, a failed schedule, ...).
BAD_DURATIONS = [
    "-1d",
    "7x",
    "d",
    "1e3",
    "1 week",
    "7 d",
    ".5h",
    "1.5.h",
    "+3d",
    "7D",
    "365001d",
    "1" + "0" * 400 + "d",
]

# Nothing but whitespace: refused by the parser; an optional setting left blank means unset.
BLANK_DURATIONS = ["", "   "]

# What a YAML policy file or a JSON schedule input may carry instead of text.
NUMBER_DURATIONS = [(30, timedelta(days=30)), (1.5, timedelta(hours=36)), (0, timedelta(0))]
BAD_NUMBER_DURATIONS = [True, False, -3, float("inf"), float("nan"), 365_001, None, [1]]

SIZES = [
    ("128MiB", 128 * 1024**2),
    ("64MB", 64_000_000),
    ("1gib", 1024**3),
    ("1.5KiB", 1536),
    ("128 MiB", 128 * 1024**2),
    (" 2048 ", 2048),
    ("500000", 500_000),
    ("2TB", 2 * 1000**4),
]
BAD_SIZES = ["big", "", "-1MiB", "12 parsecs", "1e3", "1MiBs", "9" * 400]
