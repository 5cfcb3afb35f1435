import pytest

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
