import json

from query.engine import SqlResult
from runlake.cli.output import format_result

RESULT = SqlResult(
    columns=["uid", "labels", "ok", "n"],
    rows=[["a", {"team": "ünï"}, True, 1.5], ["b", None, False, None]],
    truncated=False,
)


def test_output_json_is_one_object_per_row():
    assert json.loads(format_result(RESULT, "json")) == [
        {"uid": "a", "labels": {"team": "ünï"}, "ok": True, "n": 1.5},
        {"uid": "b", "labels": None, "ok": False, "n": None},
    ]


def test_output_csv_has_a_header_and_text_cells():
    assert format_result(RESULT, "csv") == (
        'uid,labels,ok,n\na,"{""team"": ""ünï""}",true,1.5\nb,,false,\n'
    )


def test_output_table_is_aligned_plain_text_when_not_a_tty():
    text = format_result(RESULT, "table")
    assert "\x1b[" not in text  # no colour codes
    lines = text.splitlines()
    assert "uid" in lines[1] and "labels" in lines[1]
    assert any('{"team": "ünï"}' in line for line in lines)
    assert len({len(line) for line in lines if line.strip()}) == 1  # one width: aligned


def test_output_table_says_when_rows_were_cut():
    cut = SqlResult(columns=["x"], rows=[[1]], truncated=True)
    assert "more exist" in format_result(cut, "table")
