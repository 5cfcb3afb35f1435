import json

import pytest

from tests.helpers.tekton import fixture_files
from webhooks.body import is_json, media_type, parse_json


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("text/json", True),
        ("application/cloudevents+json", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("application/xml", False),
        ("multipart/form-data; boundary=x", False),
        ("application/x-www-form-urlencoded", False),
        ("application/jsonx", False),
        (None, False),
    ],
)
def test_body_is_json(value, expected):
    assert is_json(media_type(value)) is expected


def test_body_media_type_blank_is_absent():
    assert media_type("  ") is None
    assert media_type(None) is None


def test_body_parse_json_problems():
    assert parse_json(b'{"a": 1}') == ({"a": 1}, None)
    assert parse_json(b"\xef\xbb\xbf[]") == ([], None)
    assert parse_json(b"")[1] == "body is empty"
    assert parse_json(b"{nope")[1].startswith("body is not valid JSON")
    assert parse_json(b"\xff\xfe")[1].startswith("body is not valid UTF-8")
    assert parse_json(b'{"a": NaN}')[1].startswith("body is not valid JSON")
    assert parse_json(b"[" * 100_000 + b"]" * 100_000)[1].startswith("body is not valid JSON")


@pytest.mark.parametrize(
    "raw",
    [
        b"[18446744073709551616, -9223372036854775809]",  # orjson would make these floats
        b'{"id": "x", "n": 12345678901234567890123}',
        b"1e400",  # json's inf: normalize then refuses the object
        b'"\\ud800"',  # a lone surrogate: normalize says so, orjson only "invalid"
        b"\xef\xbb\xbf[1]",
    ],
)
def test_body_parse_json_answers_as_json_does_where_orjson_differs(raw):
    value, problem = parse_json(raw)
    assert problem is None
    expected = json.loads(raw.decode("utf-8-sig"))
    assert repr(value) == repr(expected)


def test_body_parse_json_reads_every_fixture_as_json_does():
    for path in fixture_files():
        raw = path.read_bytes()
        assert parse_json(raw) == (json.loads(raw), None), path.name


def test_body_parse_json_still_lists_problems_with_their_place():
    assert parse_json(b'{"a": 1,\n "b": }') == (
        None,
        "body is not valid JSON: Expecting value (line 2 column 7)",
    )
    assert parse_json(b"[Infinity]")[1] == "body is not valid JSON: Infinity is not a JSON value"
