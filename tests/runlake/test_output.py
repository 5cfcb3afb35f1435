import json

from query.engine import SqlResult
from runlake.cli.output import SQL_CELL_CAP, cells_cut, format_result, table

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


def test_output_table_is_aligned_plain_columns():
    lines = format_result(RESULT, "table").splitlines()
    assert "\x1b[" not in "".join(lines)  # no colour codes
    assert lines[0].split() == ["uid", "labels", "ok", "n"]
    assert lines[1] == 'a     {"team": "ünï"}   true    1.5'
    assert lines[2] == "b                       false"  # NULLs empty, no trailing blanks


def test_output_table_prints_markup_and_brackets_verbatim():
    text = table(("message",), [["[bold]x[/bold] [/workspace/source] [/] [place-tools]"]])
    assert text.splitlines()[1] == "[bold]x[/bold] [/workspace/source] [/] [place-tools]"


def test_output_table_gives_a_cell_of_several_lines_as_many_lines():
    text = table(None, [("Labels:", "a=1\nb=2"), ("UID:", "u")])
    assert text == "Labels:   a=1\n          b=2\nUID:      u\n"


def test_output_table_aligns_wide_characters_by_terminal_cells():
    lines = table(("name", "x"), [["日本", "1"], ["ab", "2"]]).splitlines()
    assert lines[1] == "日本   1" and lines[2] == "ab     2"


def test_output_sql_table_caps_long_cells_and_counts_them_but_json_does_not():
    big = "y" * 9000
    result = SqlResult(columns=["object"], rows=[[big], ["short"]], truncated=False)
    lines = format_result(result, "table").splitlines()
    assert max(len(line) for line in lines) == SQL_CELL_CAP
    assert lines[1].endswith("…") and lines[2] == "short"
    assert cells_cut(result) == 1
    assert json.loads(format_result(result, "json"))[0]["object"] == big


def test_output_sql_table_rounds_floats_for_people_and_csv_keeps_them_exact():
    result = SqlResult(columns=["rate"], rows=[[0.8823529411764706], [7.0]], truncated=False)
    assert format_result(result, "table").splitlines()[1:] == ["0.882", "7"]
    assert format_result(result, "csv") == "rate\n0.8823529411764706\n7.0\n"
