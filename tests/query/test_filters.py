"""Parsing the run filters: every problem reported, durations and RFC 3339, the partitions a
query needs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from layout.schema import KINDS, PIPELINE_RUN, TASK_RUN
from query.filters import FilterError, parse_filters
from query.scope import ANY, Readable
from tests.helpers.units import BAD_DURATIONS, DURATIONS

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_filters_since_and_until_take_the_one_duration_grammar(text, expected):
    filters = parse_filters({"since": text, "until": "2026-03-10T12:30:00.001Z"}, now=NOW)
    assert filters.since == NOW - expected


@pytest.mark.parametrize("text", BAD_DURATIONS)
def test_filters_since_and_until_refuse_what_the_grammar_refuses(text):
    for name in ("since", "until"):
        with pytest.raises(FilterError) as caught:
            parse_filters({name: text}, now=NOW)
        assert [e.split(":")[0] for e in caught.value.errors] == [name]


@pytest.mark.parametrize("text", ["2026-03-01T12:00:00", "yesterday"])
def test_filters_since_refuses_a_time_without_zone_or_a_word(text):
    with pytest.raises(FilterError):
        parse_filters({"since": text}, now=NOW)


def test_filters_every_problem_listed_at_once():
    with pytest.raises(FilterError) as caught:
        parse_filters(
            [
                ("kind", "Deployment"),
                ("status", "ok"),
                ("since", "soon"),
                ("page_size", "1001"),
                ("label", "=x"),
                ("pipeline", "a"),
                ("pipeline", "b"),
                ("colour", "red"),
            ],
            now=NOW,
        )
    names = sorted(e.split(":")[0] for e in caught.value.errors)
    assert names == ["colour", "kind", "label", "page_size", "pipeline", "since", "status"]


def test_filters_since_after_until_is_a_problem():
    with pytest.raises(FilterError) as caught:
        parse_filters({"since": "1h", "until": "2h"}, now=NOW)
    assert caught.value.errors == ["since: must be earlier than until"]


def test_filters_values_normalized_and_repeatable():
    f = parse_filters(
        [
            ("kind", "taskrun"),
            ("kind", "PipelineRun"),
            ("status", "failed"),
            ("namespace", "a"),
            ("namespace", "b"),
            ("label", "team=web"),
            ("label", "tekton.dev/pipeline"),
            ("q", "Build"),
            ("token", "x"),
        ],
        now=NOW,
    )
    assert f.kinds == ["TaskRun", "PipelineRun"] and f.statuses == ["Failed"]
    assert f.namespaces == ["a", "b"]
    assert f.labels == [("team", "web"), ("tekton.dev/pipeline", None)]
    assert f.page_size == 50 and f.page_token is None
    where, params = f.where(Readable(frozenset({(ANY, "a")})))
    # Request input only ever reaches SQL as parameters; what the reader may read (from the
    # configuration or the API server) is a quoted literal.
    assert "web" not in where and "Build" not in where and "build" in params
    assert "list_contains(['a']::VARCHAR[], namespace)" in where
    assert params[0] == ["a", "b"]


def test_filters_page_params_only_where_paged():
    with pytest.raises(FilterError):
        parse_filters({"page_size": "5"}, paged=False)
    assert parse_filters({"page_size": "1000"}).page_size == 1000


def test_filters_partitions_from_kind_and_time():
    assert parse_filters({}, now=NOW).partitions() is None
    one_day = parse_filters(
        {"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z"}, now=NOW
    ).partitions()
    assert one_day.kinds == tuple(KINDS)
    assert one_day.first == one_day.last == date(2026, 3, 1)  # `until` is exclusive
    assert one_day.holds(TASK_RUN, "2026-03-01")
    assert not one_day.holds(TASK_RUN, "2026-03-02")
    kind_only = parse_filters({"kind": "PipelineRun"}, now=NOW).partitions()
    assert kind_only.kinds == (PIPELINE_RUN,)
    assert kind_only.holds(PIPELINE_RUN, "1999-01-01")
    assert not kind_only.holds(TASK_RUN, "2026-03-01")
    long = parse_filters({"since": "365d", "kind": "TaskRun"}, now=NOW).partitions()
    assert long.first == date(2025, 3, 10) and long.last is None
