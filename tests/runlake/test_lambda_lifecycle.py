"""The lifecycle schedule's input (terraform/ writes it) in the units every flag takes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runlake.lambda_lifecycle import schedule_options
from tests.helpers.units import (
    BAD_DURATIONS,
    BAD_NUMBER_DURATIONS,
    BAD_SIZES,
    DURATIONS,
    NUMBER_DURATIONS,
    SIZES,
)

KEYS = ["older_than"]


@pytest.mark.parametrize(("value", "expected"), DURATIONS + NUMBER_DURATIONS)
def test_lambda_lifecycle_durations_are_the_one_grammar(value, expected):
    options, policy = schedule_options(dict.fromkeys(KEYS, value))
    assert options == dict.fromkeys(KEYS, expected) and policy is None


@pytest.mark.parametrize(
    "value", [v for v in BAD_DURATIONS + BAD_NUMBER_DURATIONS if v is not None]
)
@pytest.mark.parametrize("key", KEYS)
def test_lambda_lifecycle_refuses_what_the_grammar_refuses(key, value):
    with pytest.raises(ValueError):
        schedule_options({key: value})


@pytest.mark.parametrize(("text", "expected"), SIZES)
def test_lambda_lifecycle_target_size_reads_sizes(text, expected):
    assert schedule_options({"target_size": text})[0]["target_size"] == expected


@pytest.mark.parametrize("text", [t for t in BAD_SIZES if t])
def test_lambda_lifecycle_target_size_refuses_the_rest(text):
    with pytest.raises(ValueError):
        schedule_options({"target_size": text})


@pytest.mark.parametrize("unset", [None, ""])
def test_lambda_lifecycle_unset_keys_take_the_defaults(unset):
    event = dict.fromkeys(["older_than", "target_size", "retention_policy"], unset)
    assert schedule_options(event) == ({"older_than": timedelta(hours=1)}, None)
    assert schedule_options({}) == ({"older_than": timedelta(hours=1)}, None)


def test_lambda_lifecycle_reads_the_policy_in_the_same_units():
    _, policy = schedule_options({"retention_policy": "defaultRetention: 1.5h\n"})
    assert policy.default == timedelta(minutes=90)
