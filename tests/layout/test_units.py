"""The one grammar of durations, sizes and moments (layout.units); every caller's tests run
the same cases from tests/helpers/units.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from layout.units import MAX_DURATION, parse_duration, parse_moment, parse_size
from tests.helpers.units import (
    BAD_DURATIONS,
    BAD_NUMBER_DURATIONS,
    BAD_SIZES,
    BLANK_DURATIONS,
    DURATIONS,
    NUMBER_DURATIONS,
    SIZES,
)

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_units_duration_reads_the_grammar(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", BAD_DURATIONS + BLANK_DURATIONS)
def test_units_duration_refuses_the_rest_in_one_line_naming_the_forms(text):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert "\n" not in message
    assert "at most 365000d" in message or "90s, 10m, 1.5h, 7d, 2w" in message


@pytest.mark.parametrize(("value", "expected"), NUMBER_DURATIONS)
def test_units_duration_a_number_is_days(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", BAD_NUMBER_DURATIONS)
def test_units_duration_refuses_booleans_negative_and_endless_numbers(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_units_duration_yaml_scalars_mean_what_the_same_text_means():
    # A policy file's values arrive as YAML scalars: numbers are days, `yes` is no duration.
    doc = yaml.safe_load("a: 30\nb: 1.5\nc: 30d\nd: yes\ne: ' 7d '\n")
    assert parse_duration(doc["a"]) == parse_duration("30") == timedelta(days=30)
    assert parse_duration(doc["b"]) == parse_duration("1.5") == timedelta(hours=36)
    assert parse_duration(doc["c"]) == timedelta(days=30)
    assert parse_duration(doc["e"]) == timedelta(days=7)
    with pytest.raises(ValueError):
        parse_duration(doc["d"])


def test_units_longest_duration_still_counts_back_from_now():
    assert parse_moment(f"{MAX_DURATION.days}d", NOW) == NOW - MAX_DURATION


@pytest.mark.parametrize(("text", "expected"), SIZES)
def test_units_size_reads_decimal_and_binary_units(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", BAD_SIZES)
def test_units_size_refuses_the_rest_in_one_line(text):
    with pytest.raises(ValueError) as caught:
        parse_size(text)
    assert "\n" not in str(caught.value)


def test_units_size_takes_a_json_number_as_bytes():
    assert parse_size(4096) == 4096
    with pytest.raises(ValueError):
        parse_size(True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01t12:00:00z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01T14:00:00+02:00", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01T12:00:00.250Z", datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        (" 2026-03-01 ", datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_units_moment_accepts_rfc3339_and_dates(text, expected):
    assert parse_moment(text, NOW) == expected


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_units_moment_counts_a_duration_back_from_now(text, expected):
    assert parse_moment(text, NOW) == NOW - expected


@pytest.mark.parametrize(
    "text", ["yesterday", "2026-03-01T12:00:00", "2026-02-30", "2026-03-01T25:00:00Z"]
)
def test_units_moment_refuses_the_rest_in_one_line(text):
    with pytest.raises(ValueError) as caught:
        parse_moment(text, NOW)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", BAD_DURATIONS + BLANK_DURATIONS)
def test_units_moment_refuses_what_no_duration_is(text):
    with pytest.raises(ValueError):
        parse_moment(text, NOW)


def test_units_moment_without_a_zone_says_so():
    with pytest.raises(ValueError, match="no time zone"):
        parse_moment("2026-03-01T12:00:00", NOW)
